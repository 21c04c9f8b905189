/**
 * The Prometheus metrics of one proxy (its own prom-client Registry, so several proxies in one
 * process never share counters). Names and labels follow LiteLLM's prometheus callback where it
 * has the same metric, so existing dashboards keep working; the rest are `switchyard_*`.
 *
 * Hot path: a request touches only pre-bound children (`counter.labels(...)` is called once per
 * deployment, when the router is built), so counting is an `inc()` with no label hashing.
 * Everything that can be read from state (in flight, cooldown, rpm/tpm used, Redis) is a gauge
 * computed at scrape time from the router's snapshot, costing requests nothing.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Counter as CounterT, type Histogram as HistogramT } from 'prom-client';
import type { DeploymentConfig } from '../config/types.js';
import type { Outcome } from '../router/types.js';

/** LiteLLM's LATENCY_BUCKETS (seconds). */
const LATENCY_BUCKETS = [
  0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9.5, 10,
  15, 20, 25, 30, 60, 120, 180, 240, 300,
];

/** LiteLLM's per-deployment labels (`_logged_llm_labels`) plus the group. */
const DEPLOYMENT_LABELS = ['model_group', 'litellm_model_name', 'model_id', 'api_base', 'api_provider'] as const;
/** LiteLLM's request-level metrics label the model as `model`. */
const MODEL_LABELS = ['model', 'model_group', 'model_id', 'api_base', 'api_provider'] as const;

type Labels = Record<string, string>;
// Counters are named with `_total`, the sample name Python's prometheus_client (LiteLLM's) exposes,
// so PromQL written for LiteLLM (`rate(litellm_deployment_success_responses_total[5m])`) works as is.
type CounterChild = ReturnType<CounterT<string>['labels']>;
type HistogramChild = ReturnType<HistogramT<string>['labels']>;

/** What the scrape-time gauges read of one deployment (a router snapshot has these fields). */
export interface DeploymentReading {
  readonly id: string;
  readonly localInFlight: number;
  readonly cooldownUntil: number;
  readonly halfOpen: boolean;
  readonly windowRequests: number;
  readonly windowTokens: number;
}

/** What the scrape reads: the current router's state, and the Redis sync's. */
export interface MetricsSource {
  readonly now: number;
  readonly groups: Readonly<Record<string, { readonly inFlight: number; readonly waiting: number; readonly deployments: readonly DeploymentReading[] }>>;
  /** null when the config names no Redis. */
  readonly redis: { readonly status: 'connected' | 'degraded'; readonly namespace: string } | null;
}

/** `api_base` as a label: no user-info, no query (a key may hide in either). */
export function apiBaseLabel(apiBase: string | null): string {
  if (apiBase === null) return '';
  const noQuery = apiBase.split('?')[0]!;
  return noQuery.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

function deploymentLabels(cfg: DeploymentConfig): Labels {
  return { model_group: cfg.group, litellm_model_name: cfg.model, model_id: cfg.id, api_base: apiBaseLabel(cfg.apiBase), api_provider: cfg.provider };
}

function modelLabels(cfg: DeploymentConfig): Labels {
  return { model: cfg.model, model_group: cfg.group, model_id: cfg.id, api_base: apiBaseLabel(cfg.apiBase), api_provider: cfg.provider };
}

/**
 * One deployment's pre-bound children: what an attempt's end does to the metrics. Built once
 * per deployment (and again on a config reload, for the same label values: prom-client hands
 * back the same children, so counts carry on).
 */
export class DeploymentMetrics {
  readonly #success: CounterChild;
  readonly #failure: CounterChild;
  readonly #total: CounterChild;
  readonly #byOutcome: Readonly<Record<string, CounterChild>>;
  readonly #latency: HistogramChild;
  readonly #perToken: HistogramChild;
  readonly #ttft: HistogramChild;
  readonly #input: CounterChild;
  readonly #output: CounterChild;
  readonly #cooled: (status: string) => void;

  constructor(m: ProxyMetrics, cfg: DeploymentConfig) {
    const dl = deploymentLabels(cfg);
    const ml = modelLabels(cfg);
    this.#success = m.success.labels(dl);
    this.#failure = m.failure.labels(dl);
    this.#total = m.total.labels(dl);
    const by = (outcome: string, status_class: string): CounterChild => m.requests.labels({ ...dl, outcome, status_class });
    this.#byOutcome = {
      ok: by('success', '2xx'),
      '4xx': by('upstream_error', '4xx'),
      '5xx': by('upstream_error', '5xx'),
      timeout: by('timeout', 'none'),
      'connect-error': by('connect_failure', 'none'),
      'client-aborted': by('client_abort', 'none'),
      'worker-failed': by('worker_failed', 'none'),
    };
    this.#latency = m.apiLatency.labels(ml);
    this.#perToken = m.perToken.labels(dl);
    this.#ttft = m.ttft.labels(ml);
    this.#input = m.inputTokens.labels(ml);
    this.#output = m.outputTokens.labels(ml);
    this.#cooled = (status) => m.cooledDown.labels({ ...dl, exception_status: status }).inc();
    // Shown as 0 from the start: a counter that appears only on its first event cannot be rate()d.
    for (const c of [this.#success, this.#failure, this.#total, ...Object.values(this.#byOutcome), this.#input, this.#output]) c.inc(0);
  }

  /** One attempt ended (GroupActor.settle: exactly once per lease). */
  settle(o: Outcome): void {
    switch (o.kind) {
      case 'ok': {
        this.#success.inc();
        this.#total.inc();
        this.#byOutcome.ok!.inc();
        const s = o.latencyMs / 1000;
        this.#latency.observe(s);
        if (o.ttftMs !== undefined) this.#ttft.observe(o.ttftMs / 1000);
        if (o.usage !== null) {
          this.#input.inc(o.usage.promptTokens);
          this.#output.inc(o.usage.completionTokens);
          if (o.usage.completionTokens > 0) this.#perToken.observe(s / o.usage.completionTokens);
        }
        return;
      }
      case 'client-aborted':
        // The client left: neither a success nor the deployment's failure.
        this.#byOutcome['client-aborted']!.inc();
        return;
      case 'upstream-error':
        this.#byOutcome[o.status >= 500 ? '5xx' : '4xx']!.inc();
        break;
      default:
        this.#byOutcome[o.kind]!.inc();
    }
    this.#failure.inc();
    this.#total.inc();
  }

  /** A cooldown started (rare: a label lookup here is fine). `status` is the failure's HTTP status, '' when none. */
  cooledDown(status: number | null): void {
    this.#cooled(status === null ? '' : String(status));
  }
}

/** Per group, pre-bound: retries, queue waits, whole-request latency. */
export class GroupMetrics {
  readonly #retries: CounterChild;
  readonly #queueWait: HistogramChild;
  readonly #requestLatency: HistogramChild;

  constructor(m: ProxyMetrics, group: string) {
    this.#retries = m.retries.labels({ model_group: group });
    this.#queueWait = m.queueWait.labels({ model_group: group });
    this.#requestLatency = m.requestLatency.labels({ model: group, model_group: group });
  }

  retried(): void {
    this.#retries.inc();
  }

  /** A request waited `ms` for a max_parallel_requests slot. */
  waited(ms: number): void {
    this.#queueWait.observe(ms / 1000);
  }

  /** A request that started on this group ended (retries and fallbacks included). */
  requestDone(ms: number): void {
    this.#requestLatency.observe(ms / 1000);
  }
}

export class ProxyMetrics {
  readonly registry = new Registry();
  #source: (() => MetricsSource) | null = null;
  /** Deployment id → its limits and labels, as the current config has them (for scrape-time gauges). */
  readonly #known = new Map<string, { readonly labels: Labels; readonly rpm: number | null; readonly tpm: number | null }>();
  readonly #groups = new Map<string, GroupMetrics>();

  readonly success: Counter<string>;
  readonly failure: Counter<string>;
  readonly total: Counter<string>;
  readonly requests: Counter<string>;
  readonly apiLatency: Histogram<string>;
  readonly perToken: Histogram<string>;
  readonly ttft: Histogram<string>;
  readonly requestLatency: Histogram<string>;
  readonly inputTokens: Counter<string>;
  readonly outputTokens: Counter<string>;
  readonly cooledDown: Counter<string>;
  readonly retries: Counter<string>;
  readonly successfulFallbacks: Counter<string>;
  readonly failedFallbacks: Counter<string>;
  readonly queueWait: Histogram<string>;
  readonly redisRound: Histogram<string>;
  readonly redisRounds: Counter<string>;

  constructor() {
    const registers = [this.registry];
    const dl = [...DEPLOYMENT_LABELS];
    const ml = [...MODEL_LABELS];
    this.success = new Counter({ name: 'litellm_deployment_success_responses_total', help: 'LLM Deployment Analytics - Total number of successful LLM API calls', labelNames: dl, registers });
    this.failure = new Counter({ name: 'litellm_deployment_failure_responses_total', help: 'LLM Deployment Analytics - Total number of failed LLM API calls (upstream error, timeout, connect failure, worker failed)', labelNames: dl, registers });
    this.total = new Counter({ name: 'litellm_deployment_total_requests_total', help: 'LLM Deployment Analytics - Total number of LLM API calls - success + failure', labelNames: dl, registers });
    this.requests = new Counter({ name: 'switchyard_deployment_requests_total', help: 'Attempts on a deployment by outcome (success, upstream_error, timeout, connect_failure, client_abort, worker_failed) and upstream status class', labelNames: [...dl, 'outcome', 'status_class'], registers });
    this.apiLatency = new Histogram({ name: 'litellm_llm_api_latency_metric', help: 'Total latency (seconds) of a successful LLM API call (a stream: to its last chunk)', labelNames: ml, buckets: LATENCY_BUCKETS, registers });
    this.perToken = new Histogram({ name: 'litellm_deployment_latency_per_output_token', help: 'LLM Deployment Analytics - Latency per output token (seconds)', labelNames: dl, buckets: LATENCY_BUCKETS, registers });
    this.ttft = new Histogram({ name: 'litellm_llm_api_time_to_first_token_metric', help: 'Time to first token (seconds) of a successful stream', labelNames: ml, buckets: LATENCY_BUCKETS, registers });
    this.requestLatency = new Histogram({ name: 'litellm_request_total_latency_metric', help: 'Total latency (seconds) of a request through the proxy, retries and fallbacks included (labelled with the group it asked for)', labelNames: ['model', 'model_group'], buckets: LATENCY_BUCKETS, registers });
    this.inputTokens = new Counter({ name: 'litellm_input_tokens_metric_total', help: 'Prompt tokens of successful calls', labelNames: ml, registers });
    this.outputTokens = new Counter({ name: 'litellm_output_tokens_metric_total', help: 'Completion tokens of successful calls', labelNames: ml, registers });
    this.cooledDown = new Counter({ name: 'litellm_deployment_cooled_down_total', help: 'LLM Deployment Analytics - Number of times a deployment has been cooled down by this instance', labelNames: [...dl, 'exception_status'], registers });
    this.retries = new Counter({ name: 'switchyard_retries_total', help: 'Retries within a model group (attempts after the first)', labelNames: ['model_group'], registers });
    this.successfulFallbacks = new Counter({ name: 'litellm_deployment_successful_fallbacks_total', help: 'LLM Deployment Analytics - Number of successful fallback requests from primary model -> fallback model', labelNames: ['primary_model', 'fallback_model'], registers });
    this.failedFallbacks = new Counter({ name: 'litellm_deployment_failed_fallbacks_total', help: 'LLM Deployment Analytics - Number of failed fallback requests from primary model -> fallback model', labelNames: ['primary_model', 'fallback_model'], registers });
    this.queueWait = new Histogram({ name: 'switchyard_parallel_queue_wait_seconds', help: 'How long requests waited for a max_parallel_requests slot', labelNames: ['model_group'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10], registers });
    this.redisRound = new Histogram({ name: 'switchyard_redis_sync_round_seconds', help: 'Duration of a Redis sync round', labelNames: ['result'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5], registers });
    this.redisRounds = new Counter({ name: 'switchyard_redis_sync_rounds_total', help: 'Redis sync rounds by result (ok, failed)', labelNames: ['result'], registers });

    // Scrape-time gauges: read from the router's snapshot when Prometheus asks, never per request.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'litellm_deployment_state', help: 'LLM Deployment Analytics - The state of the deployment: 0 = healthy, 1 = partial outage (half-open: one probe request decides), 2 = complete outage (cooling down)',
      labelNames: dl, registers,
      collect() {
        this.reset();
        self.#each((s, known) => this.set(known.labels, s.cooldownUntil > self.#now ? 2 : s.halfOpen ? 1 : 0));
      },
    });
    new Gauge({
      name: 'switchyard_deployment_in_flight', help: 'Requests in flight from this instance to the deployment', labelNames: dl, registers,
      collect() {
        this.reset();
        self.#each((s, known) => this.set(known.labels, s.localInFlight));
      },
    });
    new Gauge({
      name: 'switchyard_deployment_cooldown_seconds', help: 'Seconds left of the deployment\'s cooldown (0 = not cooling)', labelNames: dl, registers,
      collect() {
        this.reset();
        self.#each((s, known) => this.set(known.labels, Math.max(0, s.cooldownUntil - self.#now) / 1000));
      },
    });
    const usage = (name: string, help: string, pick: (s: DeploymentReading, k: { rpm: number | null; tpm: number | null }) => number | null): void => {
      new Gauge({
        name, help, labelNames: dl, registers,
        collect() {
          this.reset();
          self.#each((s, known) => {
            const v = pick(s, known);
            if (v !== null) this.set(known.labels, v);
          });
        },
      });
    };
    usage('litellm_remaining_requests', 'Requests left in the deployment\'s rpm for the current 60 s window (deployments with an rpm)', (s, k) => (k.rpm === null ? null : Math.max(0, k.rpm - s.windowRequests)));
    usage('litellm_remaining_tokens', 'Tokens left in the deployment\'s tpm for the current 60 s window (deployments with a tpm)', (s, k) => (k.tpm === null ? null : Math.max(0, k.tpm - s.windowTokens)));
    usage('switchyard_deployment_rpm_used', 'Requests in the deployment\'s current 60 s window (cluster-wide with Redis)', (s) => s.windowRequests);
    usage('switchyard_deployment_tpm_used', 'Tokens in the deployment\'s current 60 s window (cluster-wide with Redis)', (s) => s.windowTokens);
    usage('switchyard_deployment_rpm_limit', 'The deployment\'s rpm (deployments with one)', (_s, k) => k.rpm);
    usage('switchyard_deployment_tpm_limit', 'The deployment\'s tpm (deployments with one)', (_s, k) => k.tpm);
    new Gauge({
      name: 'litellm_in_flight_requests', help: 'Requests in flight from this instance, every group', registers,
      collect() {
        const src = self.#read();
        let n = 0;
        if (src !== null) for (const g of Object.values(src.groups)) n += g.inFlight;
        this.set(n);
      },
    });
    new Gauge({
      name: 'switchyard_parallel_queue_length', help: 'Requests waiting now for a max_parallel_requests slot', labelNames: ['model_group'], registers,
      collect() {
        this.reset();
        const src = self.#read();
        if (src !== null) for (const [name, g] of Object.entries(src.groups)) this.set({ model_group: name }, g.waiting);
      },
    });
    new Gauge({
      name: 'switchyard_redis_connected', help: 'Redis sync state: 1 connected, 0 degraded (limits and cooldowns per instance); absent without Redis', labelNames: ['namespace'], registers,
      collect() {
        this.reset();
        const src = self.#read();
        if (src !== null && src.redis !== null) this.set({ namespace: src.redis.namespace }, src.redis.status === 'connected' ? 1 : 0);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** The snapshot read once per scrape (every gauge's collect shares it). */
  #cached: MetricsSource | null = null;
  #cachedAt = -1;
  #now = 0;

  #read(): MetricsSource | null {
    if (this.#source === null) return null;
    if (this.#cachedAt !== this.#scrape) {
      this.#cached = this.#source();
      this.#cachedAt = this.#scrape;
      this.#now = this.#cached.now;
    }
    return this.#cached;
  }

  #scrape = 0;

  #each(fn: (s: DeploymentReading, known: { labels: Labels; rpm: number | null; tpm: number | null }) => void): void {
    const src = this.#read();
    if (src === null) return;
    for (const g of Object.values(src.groups)) {
      for (const d of g.deployments) {
        const known = this.#known.get(d.id);
        if (known !== undefined) fn(d, known);
      }
    }
  }

  /** Where scrape-time gauges read from (index.ts: the current router and the sync). */
  setSource(fn: () => MetricsSource): void {
    this.#source = fn;
  }

  /** The pre-bound children for a deployment (the router calls this once per deployment it builds). */
  deployment(cfg: DeploymentConfig): DeploymentMetrics {
    this.#known.set(cfg.id, { labels: deploymentLabels(cfg), rpm: cfg.rpm, tpm: cfg.tpm });
    return new DeploymentMetrics(this, cfg);
  }

  group(name: string): GroupMetrics {
    let g = this.#groups.get(name);
    if (g === undefined) {
      g = new GroupMetrics(this, name);
      this.#groups.set(name, g);
    }
    return g;
  }

  /** A fallback ran from `primary` to `fallback` (rare: labels looked up here). */
  fallback(primary: string, fallback: string, ok: boolean): void {
    (ok ? this.successfulFallbacks : this.failedFallbacks).labels({ primary_model: primary, fallback_model: fallback }).inc();
  }

  /** A Redis sync round ended. */
  redisRoundDone(ms: number, ok: boolean): void {
    const result = ok ? 'ok' : 'failed';
    this.redisRound.labels({ result }).observe(ms / 1000);
    this.redisRounds.labels({ result }).inc();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text for `GET /metrics`. */
  async text(): Promise<string> {
    this.#scrape++;
    try {
      return await this.registry.metrics();
    } finally {
      this.#cached = null;
    }
  }
}
