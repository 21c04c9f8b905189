/**
 * The Prometheus metrics of one proxy (its own prom-client Registry, so several proxies in one
 * process never share counters). Names and labels follow LiteLLM's prometheus callback where it
 * has the same metric, so existing dashboards keep working; the rest are `switchyard_*`.
 *
 * Hot path: a request touches only plain numbers on its deployment's DeploymentMetrics (built
 * once per deployment with its labels): `count++`, a bucket search, no label hashing (prom-
 * client's own `labels(...).inc()` re-hashes the labels on every call, so counters and
 * histograms are not prom-client objects: they are exported at scrape time from these numbers).
 * Everything that can be read from state (in flight, cooldown, rpm/tpm used, Redis) is a gauge
 * computed at scrape time from the router's snapshot, costing requests nothing.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { DeploymentConfig } from '../config/types.js';
import type { Outcome } from '../router/types.js';
import { Hist, histSamples, LATENCY_BUCKETS, QUEUE_BUCKETS, REDIS_BUCKETS, type Labels, type Sample } from './histogram.js';

export { Hist } from './histogram.js';

// Counters are named with `_total`, the sample name Python's prometheus_client (LiteLLM's) exposes,
// so PromQL written for LiteLLM (`rate(litellm_deployment_success_responses_total[5m])`) works as is.

/** Outcome slots of a deployment's counters: [outcome label, status_class label]. */
const SLOTS = [
  ['success', '2xx'], ['upstream_error', '4xx'], ['upstream_error', '5xx'], ['timeout', 'none'],
  ['connect_failure', 'none'], ['client_abort', 'none'], ['worker_failed', 'none'],
] as const;
const OK = 0, E4XX = 1, E5XX = 2, TIMEOUT = 3, CONNECT = 4, ABORT = 5, WORKER = 6;

/** LiteLLM's per-deployment labels (`_logged_llm_labels`) plus the group. */
function deploymentLabels(cfg: DeploymentConfig): Labels {
  return { model_group: cfg.group, litellm_model_name: cfg.model, model_id: cfg.id, api_base: apiBaseLabel(cfg.apiBase), api_provider: cfg.provider };
}

/** LiteLLM's request-level metrics label the model as `model`. */
function modelLabels(cfg: DeploymentConfig): Labels {
  return { model: cfg.model, model_group: cfg.group, model_id: cfg.id, api_base: apiBaseLabel(cfg.apiBase), api_provider: cfg.provider };
}

/**
 * One deployment's counts: what an attempt's end does to the metrics. One per deployment id
 * for the proxy's life: a config reload that keeps the id keeps the object, so counts carry on.
 */
export class DeploymentMetrics {
  labels: Labels;
  modelLabels: Labels;
  rpm: number | null;
  tpm: number | null;
  readonly byOutcome = new Float64Array(SLOTS.length);
  inputTokens = 0;
  outputTokens = 0;
  readonly latency = new Hist(LATENCY_BUCKETS);
  readonly perToken = new Hist(LATENCY_BUCKETS);
  readonly ttft = new Hist(LATENCY_BUCKETS);
  /** Cooldowns started, by the failure's status ('' when none). Rare: a Map is fine. */
  readonly cooled = new Map<string, number>();

  constructor(cfg: DeploymentConfig) {
    this.labels = deploymentLabels(cfg);
    this.modelLabels = modelLabels(cfg);
    this.rpm = cfg.rpm;
    this.tpm = cfg.tpm;
  }

  /** The config changed (a reload kept the id): new labels and limits from now on. */
  update(cfg: DeploymentConfig): void {
    this.labels = deploymentLabels(cfg);
    this.modelLabels = modelLabels(cfg);
    this.rpm = cfg.rpm;
    this.tpm = cfg.tpm;
  }

  /** One attempt ended (GroupActor.settle: exactly once per lease). */
  settle(o: Outcome): void {
    const c = this.byOutcome;
    switch (o.kind) {
      case 'ok': {
        c[OK]!++;
        const s = o.latencyMs / 1000;
        this.latency.observe(s);
        if (o.ttftMs !== undefined) this.ttft.observe(o.ttftMs / 1000);
        const u = o.usage;
        if (u !== null) {
          this.inputTokens += u.promptTokens;
          this.outputTokens += u.completionTokens;
          if (u.completionTokens > 0) this.perToken.observe(s / u.completionTokens);
        }
        return;
      }
      case 'upstream-error':
        c[o.status >= 500 ? E5XX : E4XX]!++;
        return;
      case 'timeout':
        c[TIMEOUT]!++;
        return;
      case 'connect-error':
        c[CONNECT]!++;
        return;
      case 'client-aborted':
        c[ABORT]!++;
        return;
      case 'worker-failed':
        c[WORKER]!++;
    }
  }

  get successes(): number {
    return this.byOutcome[OK]!;
  }

  /** LiteLLM's failures: everything but a success and a client that left. */
  get failures(): number {
    const c = this.byOutcome;
    return c[E4XX]! + c[E5XX]! + c[TIMEOUT]! + c[CONNECT]! + c[WORKER]!;
  }

  /** A cooldown started. `status` is the failure's HTTP status, null when none. */
  cooledDown(status: number | null): void {
    const k = status === null ? '' : String(status);
    this.cooled.set(k, (this.cooled.get(k) ?? 0) + 1);
  }
}

/** Per group: retries, queue waits, whole-request latency. */
export class GroupMetrics {
  readonly name: string;
  retries = 0;
  readonly queueWait = new Hist(QUEUE_BUCKETS);
  readonly requestLatency = new Hist(LATENCY_BUCKETS);

  constructor(name: string) {
    this.name = name;
  }

  retried(): void {
    this.retries++;
  }

  /** A request waited `ms` for a max_parallel_requests slot. */
  waited(ms: number): void {
    this.queueWait.observe(ms / 1000);
  }

  /** A request that started on this group ended (retries and fallbacks included). */
  requestDone(ms: number): void {
    this.requestLatency.observe(ms / 1000);
  }
}

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

export class ProxyMetrics {
  readonly registry = new Registry();
  #source: (() => MetricsSource) | null = null;
  /** Deployment id → its counts, for the proxy's life (a reload keeps counts of kept ids). */
  readonly #deployments = new Map<string, DeploymentMetrics>();
  readonly #groups = new Map<string, GroupMetrics>();
  readonly #fallbacks = new Map<string, { readonly labels: Labels; ok: number; failed: number }>();
  readonly #redis = { ok: new Hist(REDIS_BUCKETS), failed: new Hist(REDIS_BUCKETS) };

  constructor() {
    const registers = [this.registry];
    const perDeployment = (name: string, help: string, value: (d: DeploymentMetrics) => number): void =>
      this.#family(name, help, 'counter', (out) => {
        for (const d of this.#current()) out.push({ labels: d.labels, value: value(d) });
      });
    perDeployment('litellm_deployment_success_responses_total', 'LLM Deployment Analytics - Total number of successful LLM API calls', (d) => d.successes);
    perDeployment('litellm_deployment_failure_responses_total', 'LLM Deployment Analytics - Total number of failed LLM API calls (upstream error, timeout, connect failure, worker failed)', (d) => d.failures);
    perDeployment('litellm_deployment_total_requests_total', 'LLM Deployment Analytics - Total number of LLM API calls - success + failure', (d) => d.successes + d.failures);
    this.#family('switchyard_deployment_requests_total', 'Attempts on a deployment by outcome (success, upstream_error, timeout, connect_failure, client_abort, worker_failed) and upstream status class', 'counter', (out) => {
      for (const d of this.#current()) {
        for (let i = 0; i < SLOTS.length; i++) out.push({ labels: { ...d.labels, outcome: SLOTS[i]![0], status_class: SLOTS[i]![1] }, value: d.byOutcome[i]! });
      }
    });
    this.#family('litellm_input_tokens_metric_total', 'Prompt tokens of successful calls', 'counter', (out) => {
      for (const d of this.#current()) out.push({ labels: d.modelLabels, value: d.inputTokens });
    });
    this.#family('litellm_output_tokens_metric_total', 'Completion tokens of successful calls', 'counter', (out) => {
      for (const d of this.#current()) out.push({ labels: d.modelLabels, value: d.outputTokens });
    });
    this.#family('litellm_deployment_cooled_down_total', 'LLM Deployment Analytics - Number of times a deployment has been cooled down by this instance', 'counter', (out) => {
      for (const d of this.#current()) for (const [status, n] of d.cooled) out.push({ labels: { ...d.labels, exception_status: status }, value: n });
    });
    const hist = (name: string, help: string, pick: (d: DeploymentMetrics) => Hist, model: boolean): void =>
      this.#family(name, help, 'histogram', (out) => {
        for (const d of this.#current()) histSamples(name, model ? d.modelLabels : d.labels, pick(d), out);
      });
    hist('litellm_llm_api_latency_metric', 'Total latency (seconds) of a successful LLM API call (a stream: to its last chunk)', (d) => d.latency, true);
    hist('litellm_llm_api_time_to_first_token_metric', 'Time to first token (seconds) of a successful stream', (d) => d.ttft, true);
    hist('litellm_deployment_latency_per_output_token', 'LLM Deployment Analytics - Latency per output token (seconds)', (d) => d.perToken, false);
    this.#family('litellm_request_total_latency_metric', 'Total latency (seconds) of a request through the proxy, retries and fallbacks included, on the group it asked for (a stream: until it started)', 'histogram', (out) => {
      for (const g of this.#groups.values()) histSamples('litellm_request_total_latency_metric', { model: g.name, model_group: g.name }, g.requestLatency, out);
    });
    this.#family('switchyard_parallel_queue_wait_seconds', 'How long requests waited for a max_parallel_requests slot', 'histogram', (out) => {
      for (const g of this.#groups.values()) histSamples('switchyard_parallel_queue_wait_seconds', { model_group: g.name }, g.queueWait, out);
    });
    this.#family('switchyard_retries_total', 'Retries within a model group (attempts after the first)', 'counter', (out) => {
      for (const g of this.#groups.values()) out.push({ labels: { model_group: g.name }, value: g.retries });
    });
    this.#family('litellm_deployment_successful_fallbacks_total', 'LLM Deployment Analytics - Number of successful fallback requests from primary model -> fallback model', 'counter', (out) => {
      for (const f of this.#fallbacks.values()) if (f.ok > 0) out.push({ labels: f.labels, value: f.ok });
    });
    this.#family('litellm_deployment_failed_fallbacks_total', 'LLM Deployment Analytics - Number of failed fallback requests from primary model -> fallback model', 'counter', (out) => {
      for (const f of this.#fallbacks.values()) if (f.failed > 0) out.push({ labels: f.labels, value: f.failed });
    });
    this.#family('switchyard_redis_sync_round_seconds', 'Duration of a Redis sync round, by result (ok, failed)', 'histogram', (out) => {
      if (this.#read()?.redis == null) return;
      histSamples('switchyard_redis_sync_round_seconds', { result: 'ok' }, this.#redis.ok, out);
      histSamples('switchyard_redis_sync_round_seconds', { result: 'failed' }, this.#redis.failed, out);
    });
    this.#family('switchyard_redis_sync_rounds_total', 'Redis sync rounds by result (ok, failed)', 'counter', (out) => {
      if (this.#read()?.redis == null) return;
      out.push({ labels: { result: 'ok' }, value: this.#redis.ok.count }, { labels: { result: 'failed' }, value: this.#redis.failed.count });
    });

    // Scrape-time gauges: read from the router's snapshot when Prometheus asks, never per request.
    const self = this;
    const dl = ['model_group', 'litellm_model_name', 'model_id', 'api_base', 'api_provider'];
    const gauge = (name: string, help: string, pick: (s: DeploymentReading, d: DeploymentMetrics, now: number) => number | null): void => {
      new Gauge({
        name, help, labelNames: dl, registers,
        collect() {
          this.reset();
          self.#each((s, d, now) => {
            const v = pick(s, d, now);
            if (v !== null) this.set(d.labels, v);
          });
        },
      });
    };
    gauge('litellm_deployment_state', 'LLM Deployment Analytics - The state of the deployment: 0 = healthy, 1 = partial outage (half-open: one probe request decides), 2 = complete outage (cooling down)', (s, _d, now) => (s.cooldownUntil > now ? 2 : s.halfOpen ? 1 : 0));
    gauge('switchyard_deployment_in_flight', 'Requests in flight from this instance to the deployment', (s) => s.localInFlight);
    gauge('switchyard_deployment_cooldown_seconds', 'Seconds left of the deployment\'s cooldown (0 = not cooling)', (s, _d, now) => Math.max(0, s.cooldownUntil - now) / 1000);
    gauge('litellm_remaining_requests', 'Requests left in the deployment\'s rpm for the current 60 s window (deployments with an rpm)', (s, d) => (d.rpm === null ? null : Math.max(0, d.rpm - s.windowRequests)));
    gauge('litellm_remaining_tokens', 'Tokens left in the deployment\'s tpm for the current 60 s window (deployments with a tpm)', (s, d) => (d.tpm === null ? null : Math.max(0, d.tpm - s.windowTokens)));
    gauge('switchyard_deployment_rpm_used', 'Requests in the deployment\'s current 60 s window (cluster-wide with Redis)', (s) => s.windowRequests);
    gauge('switchyard_deployment_tpm_used', 'Tokens in the deployment\'s current 60 s window (cluster-wide with Redis)', (s) => s.windowTokens);
    gauge('switchyard_deployment_rpm_limit', 'The deployment\'s rpm (deployments with one)', (_s, d) => d.rpm);
    gauge('switchyard_deployment_tpm_limit', 'The deployment\'s tpm (deployments with one)', (_s, d) => d.tpm);
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

  /** A metric family exported from plain numbers at scrape time (prom-client's metric interface). */
  #family(name: string, help: string, type: 'counter' | 'histogram', fill: (out: Sample[]) => void): void {
    this.registry.registerMetric({
      name,
      get: async () => {
        const values: Sample[] = [];
        fill(values);
        return { name, help, type, values, aggregator: 'sum' };
      },
    } as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The snapshot read once per scrape (every gauge's collect shares it). */
  #cached: MetricsSource | null = null;
  #scrape = 0;
  #cachedAt = -1;

  #read(): MetricsSource | null {
    if (this.#source === null) return null;
    if (this.#cachedAt !== this.#scrape || this.#cached === null) {
      this.#cached = this.#source();
      this.#cachedAt = this.#scrape;
    }
    return this.#cached;
  }

  /** The deployments of the current config (a reload may have dropped some). */
  *#current(): Iterable<DeploymentMetrics> {
    const src = this.#read();
    if (src === null) return;
    // Entries sharing an id (identical params) are one deployment with one series.
    const seen = new Set<string>();
    for (const g of Object.values(src.groups)) {
      for (const s of g.deployments) {
        const d = this.#deployments.get(s.id);
        if (d !== undefined && !seen.has(s.id)) {
          seen.add(s.id);
          yield d;
        }
      }
    }
  }

  #each(fn: (s: DeploymentReading, d: DeploymentMetrics, now: number) => void): void {
    const src = this.#read();
    if (src === null) return;
    const seen = new Set<string>();
    for (const g of Object.values(src.groups)) {
      for (const s of g.deployments) {
        const d = this.#deployments.get(s.id);
        if (d !== undefined && !seen.has(s.id)) {
          seen.add(s.id);
          fn(s, d, src.now);
        }
      }
    }
  }

  /** Where scrape-time values are read from (index.ts: the current router and the sync). */
  setSource(fn: () => MetricsSource): void {
    this.#source = fn;
  }

  /** A deployment's counts (the router calls this once per deployment it builds; the same id gets the same object). */
  deployment(cfg: DeploymentConfig): DeploymentMetrics {
    let d = this.#deployments.get(cfg.id);
    if (d === undefined) {
      d = new DeploymentMetrics(cfg);
      this.#deployments.set(cfg.id, d);
    } else d.update(cfg);
    return d;
  }

  group(name: string): GroupMetrics {
    let g = this.#groups.get(name);
    if (g === undefined) {
      g = new GroupMetrics(name);
      this.#groups.set(name, g);
    }
    return g;
  }

  /** A fallback ran from `primary` to `fallback` (rare path). */
  fallback(primary: string, fallback: string, ok: boolean): void {
    const k = `${primary}\0${fallback}`;
    let f = this.#fallbacks.get(k);
    if (f === undefined) {
      f = { labels: { primary_model: primary, fallback_model: fallback }, ok: 0, failed: 0 };
      this.#fallbacks.set(k, f);
    }
    if (ok) f.ok++;
    else f.failed++;
  }

  /** A Redis sync round ended. */
  redisRoundDone(ms: number, ok: boolean): void {
    (ok ? this.#redis.ok : this.#redis.failed).observe(ms / 1000);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text for `GET /metrics`. */
  async text(): Promise<string> {
    this.#scrape++;
    this.#cached = null;
    try {
      return await this.registry.metrics();
    } finally {
      this.#cached = null;
    }
  }
}
