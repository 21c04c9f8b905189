/**
 * The request plan: resolve the model name, run the pre-call checks, take a lease from the
 * group's actor (waiting briefly for a concurrency slot when that is all that is missing),
 * run the attempt through the dispatcher, settle the lease and turn the result into a reply.
 * Server code never touches actors; workers never see anything but the task.
 */
import type { DeploymentConfig, JsonObject, MockResponse, ProxyConfig } from '../config/types.js';
import { ProxyError, proxyErrorBody, upstreamErrorBody } from '../errors.js';
import { buildTarget, type Endpoint, type UpstreamTarget } from '../providers/index.js';
import { newTaskId, type Dispatcher, type StreamHandle } from '../upstream/dispatch.js';
import type { CallResult, TaskBase, WireError } from '../upstream/wire.js';
import { DeploymentState, GroupActor, type Lease, type Outcome, type Unavailable } from './group-actor.js';
import type { RedisSync } from '../sync/redis-sync.js';
import { RequestPlan, outcomeClass } from './plan.js';
import { classifyFailure, type ErrorClass } from './policy.js';
import { publicParams } from '../config/public-params.js';
import { HEALTH_CHECK_TIMEOUT_MS, healthProbeBody, report, type HealthEntry, type HealthReport } from './health.js';
import { ModelNames, type Resolved } from '../config/model-names.js';
import { createPicker } from './strategies/index.js';
import { timerDelay } from '../timer-delay.js';
import { Secrets } from '../secrets.js';

/** A parsed, validated API request. */
export interface ApiRequest {
  readonly endpoint: Endpoint;
  readonly model: string;
  readonly stream: boolean;
  /** The client's raw body, handed to the worker untouched (transferred). */
  readonly body: ArrayBuffer;
  readonly json: Readonly<Record<string, unknown>>;
  readonly hints: RequestHints;
}

/** LiteLLM's request headers `x-litellm-num-retries`, `x-litellm-timeout`, `x-litellm-stream-timeout` ('' when absent). */
export interface RequestHints {
  readonly numRetries: string;
  readonly timeout: string;
  readonly streamTimeout: string;
}

/** Why one attempt failed, in the shape the plan decides on. */
export interface AttemptFailure {
  readonly cls: ErrorClass;
  readonly status: number;
  readonly message: string;
  /** The OpenAI error envelope the client would get for this failure alone. */
  readonly body: string;
  readonly headers: readonly string[];
  readonly retryAfterMs: number | null;
  /** `group/deployment` (never a key), for the final message. */
  readonly label: string;
  readonly group: string;
  /** Deployments of the group not cooling after this failure, and the group's size. */
  readonly healthy: number;
  readonly groupSize: number;
}

/** One attempt's end: null when the client left; a reply; or a failure for the plan to judge. */
export type AttemptResult =
  | null
  | { readonly ok: true; readonly reply: Reply; readonly group: string }
  | { readonly ok: false; readonly failure: AttemptFailure; readonly deploymentNumRetries: number | null };

/** What the plan tells an attempt beyond the model. */
export interface AttemptOptions {
  /** A body that replaces the client's (a fallback entry with its own messages); null = the client's. */
  readonly body: ArrayBuffer | null;
  /** `finish_reason: content_filter` counts as a content-policy failure (a content-policy fallback exists). */
  readonly contentFilterFails: boolean;
  /** The request's own timeout / stream timeout / cooldown_time, ms, already bounded; null = the config's. */
  readonly timeoutMs: number | null;
  readonly streamTimeoutMs: number | null;
  readonly cooldownTimeMs: number | null;
}

/** Runs one attempt on `model`, avoiding deployments in `tried` while others are available. */
export type Attempt = (model: string, tried: Set<string>, opts: AttemptOptions) => Promise<AttemptResult>;

/** A complete non-streaming answer. */
export interface Reply {
  readonly status: number;
  readonly body: ArrayBuffer | string;
  /** Flat `[name, value, ...]` pairs. */
  readonly headers: readonly string[];
}

/** The server's side of one request: whether the client has gone, and who to tell if it goes. */
export class RequestContext {
  aborted = false;
  #onAbort: (() => void) | null = null;

  /** Registers what cancels the current attempt; replaces any earlier one. */
  setAbort(fn: (() => void) | null): void {
    this.#onAbort = fn;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const fn = this.#onAbort;
    this.#onAbort = null;
    fn?.();
  }
}

/** What the server supplies to relay a stream. */
export interface StreamConsumer {
  /** The attempt now running: credit goes back through it. Called again if a retry replaces it. */
  bind(handle: StreamHandle): void;
  /** Upstream accepted: commit the 200 and SSE headers (frames that came first are held until now). */
  start(headers: readonly string[]): void;
  data(buf: ArrayBuffer): void;
  end(): void;
  /** Failed after `start`: an SSE error event, and no `[DONE]`. */
  error(body: string): void;
  /** Failed before `start`: an ordinary JSON reply. */
  reply(reply: Reply): void;
}

export interface RouterOptions {
  readonly random?: () => number;
  /** Epoch milliseconds. Wall-clock, so usage windows line up across instances. */
  readonly now?: () => number;
}

/** How long a request may wait for a concurrency slot (`max_parallel_requests`) before a 429. */
const PARALLEL_WAIT_MS = 10_000;
/** Requests that may queue per group for a concurrency slot. */
const PARALLEL_QUEUE = 1000;

const endpoints: readonly Endpoint[] = ['chat', 'completions', 'embeddings'];

function targetsFor(cfg: DeploymentConfig): Record<Endpoint, UpstreamTarget> | null {
  if (cfg.provider === 'mock' || cfg.apiBase === null) return null;
  const family = cfg.provider;
  const out = {} as Record<Endpoint, UpstreamTarget>;
  for (const e of endpoints) {
    out[e] = buildTarget(
      { family, upstreamModel: cfg.upstreamModel, apiBase: cfg.apiBase, apiKey: cfg.apiKey, apiVersion: cfg.apiVersion, extraHeaders: cfg.extraHeaders, basicAuth: cfg.basicAuth },
      e,
    );
  }
  return out;
}

/** A number, or a numeric string (config values and request fields may be either); null otherwise. */
function numeric(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

function numberField(o: JsonObject, key: string): number | null {
  return numeric(o[key]);
}

/** The longest Retry-After the proxy sends: a day (larger values say nothing more useful). */
const MAX_RETRY_AFTER_HEADER_S = 86_400;

/** Whole seconds, 1 at least; an upstream's absurd Retry-After (a far-future date) stays a plain integer. */
function retryAfterHeader(ms: number): string {
  return String(Math.min(Math.max(1, Math.ceil(ms / 1000)), MAX_RETRY_AFTER_HEADER_S));
}

export class Router {
  readonly config: ProxyConfig;
  readonly actors: ReadonlyMap<string, GroupActor>;
  readonly names: ModelNames;
  readonly #dispatcher: Dispatcher;
  readonly #random: () => number;
  readonly #clock: () => number;
  readonly #modelList: string;
  readonly #maxInputTokens = new Map<string, number>();
  readonly #preCallChecks: boolean;
  /** Cuts the config's secrets out of upstream-derived text on error paths (never on a success). */
  readonly #secrets: Secrets;
  #onCooldown: ((d: DeploymentState, ms: number, why: string) => void) | null = null;
  #onAttemptFailure: ((label: string, status: number, message: string) => void) | null = null;
  #sync: RedisSync | null = null;
  #lastHealth: HealthReport | null = null;

  constructor(config: ProxyConfig, dispatcher: Dispatcher, opts: RouterOptions = {}) {
    this.config = config;
    this.#dispatcher = dispatcher;
    this.#clock = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#preCallChecks = config.router.enablePreCallChecks;
    this.#secrets = Secrets.of(config.secrets);
    const picker = createPicker(config.router.routingStrategy, config.router.routingStrategyArgs);
    const actors = new Map<string, GroupActor>();
    for (const [name, deps] of config.groups) {
      const states = deps.map((d) => {
        if (d.maxInputTokens !== null) this.#maxInputTokens.set(d.id, d.maxInputTokens);
        return new DeploymentState(d, targetsFor(d), { costPerToken: d.costPerToken, defaultMaxParallel: config.router.defaultMaxParallelRequests });
      });
      actors.set(name, new GroupActor(name, states, picker, {
        maxQueue: PARALLEL_QUEUE,
        cooldown: {
          cooldownTimeMs: config.reliability.cooldownTimeMs,
          disabled: config.reliability.disableCooldowns,
          allowedFails: config.reliability.allowedFails,
          allowedFailsPolicy: config.reliability.allowedFailsPolicy,
        },
        onCooldown: (d, ms, why) => this.#onCooldown?.(d, ms, why),
      }));
    }
    this.actors = actors;
    this.names = config.names;
    // `created` is fixed as in LiteLLM's /v1/models, so the list is a constant we build once.
    this.#modelList = JSON.stringify({
      object: 'list',
      data: this.names.listed().map((id) => ({ id, object: 'model', created: 1677610602, owned_by: 'openai' })),
    });
  }

  /**
   * Calls every deployment (or those of `model` / the one `modelId`) with a minimal request,
   * outside the actors: health probes are not traffic, so they take no lease and skip limits.
   * Wildcard deployments have no concrete model to ask and are left out. Null = unknown id.
   */
  async healthCheck(filter: { model?: string; modelId?: string } = {}): Promise<HealthReport | null> {
    let deps = this.config.deployments.filter((d) => !d.group.includes('*'));
    if (filter.modelId !== undefined) {
      deps = deps.filter((d) => d.id === filter.modelId);
      if (deps.length === 0) return null;
    }
    if (filter.model !== undefined) {
      const group = this.names.resolve(filter.model)?.group;
      deps = deps.filter((d) => d.group === group);
    }
    const results = await Promise.all(deps.map((cfg) => this.#probe(cfg)));
    return report(results);
  }

  async #probe(cfg: DeploymentConfig): Promise<HealthEntry> {
    const params = { ...publicParams(this.config, cfg), model_name: cfg.group, model_id: cfg.id };
    const d = this.actors.get(cfg.group)?.deployments.find((x) => x.id === cfg.id);
    if (!d) return { params, error: 'deployment not found' };
    const { endpoint, json } = healthProbeBody(cfg.modelInfo.mode, cfg.group);
    const body = new TextEncoder().encode(JSON.stringify(json)).buffer as ArrayBuffer;
    const req: ApiRequest = { endpoint, model: cfg.group, stream: false, body, json, hints: { numRetries: '', timeout: '', streamTimeout: '' } };
    const resolved: Resolved = { group: cfg.group, reportedGroup: cfg.group, deploymentId: cfg.id, wildcardCaptures: null };
    // A health_check_timeout that is not positive would time every probe out at once (and cool every deployment).
    const ownS = numberField(cfg.modelInfo, 'health_check_timeout');
    const timeoutMs = timerDelay(ownS !== null && ownS > 0 ? ownS * 1000 : HEALTH_CHECK_TIMEOUT_MS);
    try {
      const r = await this.#dispatcher.call({ ...this.#task(req, cfg.group, d, resolved, newTaskId(), body), timeoutMs });
      if (r.ok) return { params };
      if ('error' in r) return { params, error: this.#secrets.redact(r.error.message) };
      return { params, error: `${r.status}: ${envelopeMessage(upstreamErrorBody(r.status, Buffer.from(r.body).toString('utf8'), d.label, this.#secrets))}` };
    } catch (err) {
      return { params, error: this.#secrets.redact(`health check failed: ${err instanceof Error ? err.message : String(err)}`) };
    }
  }

  /**
   * `background_health_checks`: runs the check every `intervalMs` and cools each unhealthy
   * deployment for the router's cooldown time, so traffic avoids it before a user hits it.
   * Returns the function that stops the loop.
   */
  startBackgroundHealthChecks(intervalMs: number, onReport?: (r: HealthReport) => void): () => void {
    let running = false;
    const tick = async (): Promise<void> => {
      if (running) return;
      running = true;
      try {
        const r = await this.healthCheck();
        if (r === null) return;
        const now = this.#clock();
        const coolMs = this.config.reliability.cooldownTimeMs;
        for (const u of r.unhealthy_endpoints) {
          const d = this.actors.get(String(u.model_name))?.deployments.find((x) => x.id === u.model_id);
          if (d && coolMs > 0 && !this.config.reliability.disableCooldowns) {
            d.coolDown(now, coolMs);
            this.#onCooldown?.(d, coolMs, 'background health check failed');
          }
        }
        this.#lastHealth = r;
        onReport?.(r);
      } finally {
        running = false;
      }
    };
    void tick();
    // health_check_interval comes from the config: a value past what a timer holds would fire every millisecond.
    const timer = setInterval(() => void tick(), timerDelay(intervalMs));
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The last background health report, when the background loop runs. */
  get lastHealthReport(): HealthReport | null {
    return this.#lastHealth;
  }

  /** Every deployment of every group, for the sync layer. */
  allDeployments(): DeploymentState[] {
    return [...this.actors.values()].flatMap((a) => [...a.deployments]);
  }

  /** Shares this router's state through Redis (reservations go through it). */
  attachSync(sync: RedisSync): void {
    this.#sync = sync;
  }

  /** Registers who hears about cooldowns as they start (the log; later, Redis). */
  onCooldown(fn: (d: DeploymentState, ms: number, why: string) => void): void {
    this.#onCooldown = fn;
  }

  /** Registers who hears about each failed attempt on a deployment (the log), with its redacted message. */
  onAttemptFailure(fn: (label: string, status: number, message: string) => void): void {
    this.#onAttemptFailure = fn;
  }

  /** `text` with the config's secrets cut out, for error messages built outside the router (exceptions). */
  redact(text: string): string {
    return this.#secrets.redact(text);
  }

  /** `/v1/models` body. */
  modelList(): string {
    return this.#modelList;
  }

  /** The actor serving a model name (group, alias, id or wildcard), or null. */
  resolve(model: string): GroupActor | null {
    const r = this.names.resolve(model);
    return r === null ? null : (this.actors.get(r.group) ?? null);
  }

  /** A group's size and how many of its deployments are not cooling (for decisions made without an attempt). */
  groupHealth(model: string): { size: number; healthy: number } {
    const actor = this.resolve(model);
    return actor ? { size: actor.deployments.length, healthy: actor.healthyCount(this.#clock()) } : { size: 0, healthy: 0 };
  }

  /** Requests in flight across every group. */
  inFlight(): number {
    let n = 0;
    for (const a of this.actors.values()) n += a.inFlight();
    return n;
  }

  #modelNotFound(model: string): ProxyError {
    const names = this.names.listed();
    const shown = names.length > 50 ? `${names.slice(0, 50).join(', ')}, … (${names.length} in all)` : names.join(', ');
    return new ProxyError(
      'MODEL_NOT_FOUND',
      `Invalid model name passed in model=${model}. Call \`/v1/models\` to view available models. Available models: ${shown || '(none configured)'}`,
      { param: 'model' },
    );
  }

  #unavailableError(model: string, u: Unavailable): ProxyError {
    const secs = retryAfterHeader(u.retryAfterMs);
    const detail =
      u.reason === 'limits' ? 'Every deployment is at its rpm/tpm limit for the current window.'
      : u.reason === 'parallel' ? 'Every deployment is at its max_parallel_requests and no slot freed in time.'
      : u.reason === 'cooldown' ? `cooldown_list=${JSON.stringify(u.cooling)}`
      : 'No deployment passed the checks.';
    return new ProxyError('NO_DEPLOYMENTS', `No deployments available for selected model, Try again in ${secs} seconds. Passed model=${model}. ${detail}`, {
      headers: { 'retry-after': secs },
    });
  }

  /**
   * Resolves the model and takes a lease: pre-call checks first, then the actor, waiting
   * (bounded) for a concurrency slot when that is all that stands in the way. Deployments in
   * `tried` are avoided while another is available.
   */
  async #lease(req: ApiRequest, model: string, tried: ReadonlySet<string>, ctx: RequestContext, cooldownTimeMs: number | null): Promise<{ lease: Lease; actor: GroupActor; resolved: Resolved } | { error: ProxyError; actor: GroupActor | null; unavailable: Unavailable | null } | null> {
    const resolved = this.names.resolve(model);
    if (resolved === null) return { error: this.#modelNotFound(model), actor: null, unavailable: null };
    const actor = this.actors.get(resolved.group);
    if (actor === undefined) return { error: this.#modelNotFound(model), actor: null, unavailable: null };
    const allow = this.#preCallChecks ? await this.#contextCheck(req, model, actor) : null;
    if (allow instanceof ProxyError) return { error: allow, actor, unavailable: null };
    if (ctx.aborted) return null;
    const deadline = this.#clock() + PARALLEL_WAIT_MS;
    // Deployments a reservation found full in the cluster: skipped for the rest of this lease.
    let full: Set<string> | null = null;
    let fullRetryMs = Number.POSITIVE_INFINITY;
    for (;;) {
      const pick = { now: this.#clock(), random: this.#random, stream: req.stream };
      const skip = full === null ? tried : new Set([...tried, ...full]);
      const base = { deploymentId: resolved.deploymentId, allow, cooldownTimeMs };
      let got = actor.acquire(pick, { ...base, exclude: skip.size > 0 ? skip : null });
      // Every untried deployment is unavailable: a retry may go back to one already tried.
      if ('reason' in got && tried.size > 0) got = actor.acquire(pick, { ...base, exclude: full });
      if ('reserve' in got) {
        // Its lease is spent: one atomic reservation in Redis decides (never overshoots the cluster rpm).
        const d = got.reserve;
        const r = this.#sync ? await this.#sync.reserve(d) : ({ ok: 'unavailable' } as const);
        if (ctx.aborted) return null;
        const now = this.#clock();
        if (r.ok === true) return { lease: actor.admit(d, now, true, base), actor, resolved };
        if (r.ok === 'unavailable' && d.window.requests(now) < (d.rpm ?? Number.POSITIVE_INFINITY)) {
          // Redis is gone or slow: this instance's own window decides, as with no Redis at all.
          return { lease: actor.admit(d, now, false, base), actor, resolved };
        }
        (full ??= new Set()).add(d.id);
        if (r.ok === false) fullRetryMs = Math.min(fullRetryMs, r.retryAfterMs);
        continue;
      }
      if (!('reason' in got)) return { lease: got, actor, resolved };
      if (full !== null && got.reason !== 'parallel') {
        got = { reason: 'limits', retryAfterMs: Math.min(got.retryAfterMs, Number.isFinite(fullRetryMs) ? fullRetryMs : got.retryAfterMs), cooling: got.cooling };
      }
      const left = deadline - this.#clock();
      if (got.reason !== 'parallel' || left <= 0 || !(await actor.waitForSlot(left))) {
        return { error: this.#unavailableError(model, got), actor, unavailable: got };
      }
      if (ctx.aborted) return null;
    }
  }

  /**
   * `enable_pre_call_checks`: deployments whose context window is too small for the prompt
   * are skipped. Tokens are counted in the worker pool, and only when some deployment of the
   * group has a known window. All too small → a context-window error (400).
   */
  async #contextCheck(req: ApiRequest, model: string, actor: GroupActor): Promise<ReadonlySet<string> | null | ProxyError> {
    if (req.endpoint === 'embeddings') return null;
    let anyKnown = false;
    for (const d of actor.deployments) if (this.#maxInputTokens.has(d.id)) anyKnown = true;
    if (!anyKnown) return null;
    const tokens = await this.#dispatcher.countTokens(req.body.slice(0), actor.deployments[0]!.cfg.upstreamModel);
    const allow = new Set<string>();
    let smallest = Number.POSITIVE_INFINITY;
    for (const d of actor.deployments) {
      const max = this.#maxInputTokens.get(d.id);
      if (max === undefined || tokens <= max) allow.add(d.id);
      else smallest = Math.min(smallest, max);
    }
    if (allow.size === 0) {
      return new ProxyError(
        'CONTEXT_WINDOW_EXCEEDED',
        `litellm.ContextWindowExceededError: the prompt has about ${tokens} tokens; every deployment of ${model} takes at most ${smallest}.`,
        { param: 'messages' },
      );
    }
    return allow.size === actor.deployments.length ? null : allow;
  }

  #task(req: ApiRequest, model: string, d: DeploymentState, resolved: Resolved, id: number, body: ArrayBuffer): TaskBase {
    const target = d.targets?.[req.endpoint] ?? null;
    const requestMock = req.json.mock_response;
    const mock: MockResponse | null =
      typeof requestMock === 'string' || (requestMock !== null && typeof requestMock === 'object' && !Array.isArray(requestMock))
        ? (requestMock as MockResponse)
        : d.cfg.mockResponse;
    let upstreamModel = d.cfg.upstreamModel;
    let url = target?.url ?? null;
    if (resolved.wildcardCaptures !== null && upstreamModel.includes('*')) {
      // A wildcard deployment (`openai/*`) serves whatever the client named: substitute it in.
      const concrete = ModelNames.substitute(upstreamModel, resolved.wildcardCaptures, model);
      if (url !== null && d.cfg.provider === 'azure') url = url.replace(encodeURIComponent(upstreamModel), encodeURIComponent(concrete));
      upstreamModel = concrete;
    }
    const mockTimeout = req.json.mock_timeout === true || d.cfg.litellmParams.mock_timeout === true;
    return {
      id,
      endpoint: req.endpoint,
      body,
      responseModel: model,
      url,
      headers: target?.headers ?? [],
      upstreamModel,
      bodyDefaults: d.cfg.bodyDefaults,
      mock,
      mockTimeout,
      label: d.label,
    };
  }

  #headers(actor: GroupActor, d: DeploymentState, resolved: Resolved, extra?: Readonly<Record<string, string>> | null): string[] {
    const h = [...d.responseHeaders, 'x-litellm-model-group', resolved.reportedGroup];
    if (actor.hasLimits) h.push(...actor.rateLimitHeaders(this.#clock()));
    if (extra) for (const k in extra) h.push(k, extra[k]!);
    return h;
  }

  /** A failure before any deployment answered: unknown model, nothing available, context window. */
  #leaseFailure(model: string, got: { error: ProxyError; actor: GroupActor | null; unavailable: Unavailable | null }): AttemptResult {
    const e = got.error;
    const headers: string[] = [];
    if (e.headers) for (const k in e.headers) headers.push(k, e.headers[k]!);
    const cls: ErrorClass = e.code === 'NO_DEPLOYMENTS' ? 'no-deployments' : e.code === 'CONTEXT_WINDOW_EXCEEDED' ? 'context-window' : 'bad-request';
    const now = this.#clock();
    return {
      ok: false,
      deploymentNumRetries: null,
      failure: {
        cls,
        status: e.status,
        message: e.message,
        body: proxyErrorBody(e),
        headers,
        retryAfterMs: got.unavailable?.retryAfterMs ?? null,
        label: model,
        group: model,
        healthy: got.actor ? got.actor.healthyCount(now) : 0,
        groupSize: got.actor ? got.actor.deployments.length : 0,
      },
    };
  }

  /** The failure of an attempt that reached a deployment. */
  #attemptFailure(actor: GroupActor, d: DeploymentState, resolved: Resolved, model: string, f: { status: number; body: string; message: string; retryAfterMs: number | null; cls: ErrorClass; headers?: Readonly<Record<string, string>> | null }): AttemptResult {
    const extra: Record<string, string> = { ...(f.headers ?? {}) };
    if (f.retryAfterMs !== null) extra['retry-after'] = retryAfterHeader(f.retryAfterMs);
    this.#onAttemptFailure?.(d.label, f.status, f.message);
    return {
      ok: false,
      deploymentNumRetries: d.cfg.numRetries ?? null,
      failure: {
        cls: f.cls,
        status: f.status,
        message: f.message,
        body: f.body,
        headers: this.#headers(actor, d, resolved, extra),
        retryAfterMs: f.retryAfterMs,
        label: d.label,
        group: model,
        healthy: actor.healthyCount(this.#clock()),
        groupSize: actor.deployments.length,
      },
    };
  }

  /** A non-streaming request, with retries and fallbacks. Resolves null when the client went away. */
  call(req: ApiRequest, ctx: RequestContext): Promise<Reply | null> {
    return new RequestPlan(this, req, ctx, (model, tried, opts) => this.#callOnce(req, ctx, model, tried, opts)).run();
  }

  async #callOnce(req: ApiRequest, ctx: RequestContext, model: string, tried: Set<string>, opts: AttemptOptions): Promise<AttemptResult> {
    const bodyOverride = opts.body;
    const got = await this.#lease(req, model, tried, ctx, opts.cooldownTimeMs);
    if (got === null) return null;
    if ('error' in got) return this.#leaseFailure(model, got);
    const { lease, actor, resolved } = got;
    const d = lease.deployment;
    tried.add(d.id);
    const id = newTaskId();
    const timeoutMs = opts.timeoutMs ?? d.cfg.timeoutMs;
    ctx.setAbort(() => {
      this.#dispatcher.abortCall(id);
      lease.done({ kind: 'client-aborted' }, this.#clock());
    });
    let result: CallResult;
    try {
      // A copy per attempt: the body is transferred to the worker, and a retry needs it again.
      result = await this.#dispatcher.call({ ...this.#task(req, model, d, resolved, id, (bodyOverride ?? req.body).slice(0)), timeoutMs });
    } catch (err) {
      // The pool itself failed (a worker crashed): not the deployment's fault.
      ctx.setAbort(null);
      lease.done({ kind: 'client-aborted' }, this.#clock());
      const e = new ProxyError('INTERNAL', this.#secrets.redact(`upstream worker failed: ${err instanceof Error ? err.message : String(err)}`));
      return this.#attemptFailure(actor, d, resolved, model, { status: e.status, body: proxyErrorBody(e), message: e.message, retryAfterMs: null, cls: 'server' });
    }
    ctx.setAbort(null);
    if (ctx.aborted) return null;
    const now = this.#clock();
    if (result.ok) {
      if (result.finishReason === 'content_filter' && opts.contentFilterFails) {
        lease.done({ kind: 'ok', latencyMs: now - lease.startedAt, usage: result.usage }, now);
        const e = new ProxyError('INVALID_REQUEST', `litellm.ContentPolicyViolationError: ${d.label} stopped with finish_reason content_filter`);
        return this.#attemptFailure(actor, d, resolved, model, { status: 400, body: proxyErrorBody(e), message: e.message, retryAfterMs: null, cls: 'content-policy' });
      }
      lease.done({ kind: 'ok', latencyMs: now - lease.startedAt, usage: result.usage }, now);
      return { ok: true, group: model, reply: { status: result.status, body: result.body, headers: this.#headers(actor, d, resolved) } };
    }
    if ('error' in result) {
      const e = wireFailure(result.error, timeoutMs, this.#secrets);
      lease.done(e.outcome, now);
      if (e.outcome.kind === 'client-aborted') return null;
      return this.#attemptFailure(actor, d, resolved, model, {
        status: e.error.status, body: proxyErrorBody(e.error), message: e.error.message, retryAfterMs: null, cls: outcomeClass(e.outcome, null), headers: e.error.headers,
      });
    }
    const outcome: Outcome = { kind: 'upstream-error', status: result.status, retryAfterMs: result.retryAfterMs };
    lease.done(outcome, now);
    const text = Buffer.from(result.body).toString('utf8');
    const body = upstreamErrorBody(result.status, text, d.label, this.#secrets);
    return this.#attemptFailure(actor, d, resolved, model, {
      status: result.status, body, message: envelopeMessage(body), retryAfterMs: result.retryAfterMs, cls: classifyFailure({ status: result.status, body: text, kind: 'upstream-error' }),
    });
  }

  /**
   * A streaming request. Failures before the first byte fail over like any request, unseen by
   * the client; after it, the client gets a final SSE error event and no `[DONE]`.
   */
  async stream(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer): Promise<void> {
    const reply = await new RequestPlan(this, req, ctx, (model, tried, opts) => this.#streamOnce(req, ctx, consumer, model, tried, opts)).run();
    if (reply === null || ctx.aborted) return;
    if (reply.body === STREAM_STARTED_BODY) consumer.start(reply.headers);
    else consumer.reply(reply);
  }

  #streamOnce(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer, model: string, tried: Set<string>, opts: AttemptOptions): Promise<AttemptResult> {
    const bodyOverride = opts.body;
    return this.#lease(req, model, tried, ctx, opts.cooldownTimeMs).then((got) => {
      if (got === null) return null;
      if ('error' in got) return this.#leaseFailure(model, got);
      const { lease, actor, resolved } = got;
      const d = lease.deployment;
      tried.add(d.id);
      const streamTimeoutMs = opts.streamTimeoutMs ?? d.cfg.streamTimeoutMs;
      let started = false;
      let ttftMs: number | undefined;
      const settle = (o: Outcome): void => lease.done(o, this.#clock());
      return new Promise<AttemptResult>((resolve) => {
        const handle = this.#dispatcher.stream(
          { ...this.#task(req, model, d, resolved, newTaskId(), (bodyOverride ?? req.body).slice(0)), streamTimeoutMs },
          {
            head: () => {
              if (ctx.aborted) return;
              started = true;
              // The plan adds its retry/fallback headers to this reply; the consumer commits them now.
              resolve({ ok: true, group: model, reply: { status: 200, body: STREAM_STARTED_BODY, headers: this.#headers(actor, d, resolved) } });
            },
            data: (buf) => {
              ttftMs ??= this.#clock() - lease.startedAt;
              if (!ctx.aborted) consumer.data(buf);
            },
            end: (usage) => {
              ctx.setAbort(null);
              settle({ kind: 'ok', latencyMs: this.#clock() - lease.startedAt, usage, ttftMs });
              if (!ctx.aborted) consumer.end();
            },
            fail: (status, body, retryAfterMs) => {
              ctx.setAbort(null);
              settle({ kind: 'upstream-error', status, retryAfterMs });
              if (ctx.aborted) return resolve(null);
              const text = Buffer.from(body).toString('utf8');
              const errBody = upstreamErrorBody(status, text, d.label, this.#secrets);
              if (started) {
                this.#onAttemptFailure?.(d.label, status, envelopeMessage(errBody));
                return consumer.error(errBody);
              }
              resolve(this.#attemptFailure(actor, d, resolved, model, {
                status, body: errBody, message: envelopeMessage(errBody), retryAfterMs, cls: classifyFailure({ status, body: text, kind: 'upstream-error' }),
              }));
            },
            error: (wire) => {
              ctx.setAbort(null);
              const e = wireFailure(wire, streamTimeoutMs, this.#secrets);
              settle(e.outcome);
              if (ctx.aborted || e.outcome.kind === 'client-aborted') return resolve(null);
              if (started) {
                this.#onAttemptFailure?.(d.label, e.error.status, e.error.message);
                return consumer.error(proxyErrorBody(e.error));
              }
              resolve(this.#attemptFailure(actor, d, resolved, model, {
                status: e.error.status, body: proxyErrorBody(e.error), message: e.error.message, retryAfterMs: null, cls: outcomeClass(e.outcome, null), headers: e.error.headers,
              }));
            },
          },
        );
        consumer.bind(handle);
        ctx.setAbort(() => {
          handle.abort();
          settle({ kind: 'client-aborted' });
          resolve(null);
        });
      });
    });
  }
}

/** Marks the reply of a stream attempt that started (by identity): the consumer writes its headers, not a body. */
const STREAM_STARTED_BODY = new ArrayBuffer(0);

function envelopeMessage(body: string): string {
  try {
    const m = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof m === 'string' ? m : body;
  } catch {
    return body;
  }
}

/**
 * A failure that never reached an upstream answer: its outcome for the actor and its error for
 * the client. The message may quote an exception (undici's, a URL), so secrets are cut from it.
 */
function wireFailure(wire: WireError, timeoutMs: number, secrets: Secrets): { outcome: Outcome; error: ProxyError } {
  const w = { ...wire, message: secrets.redact(wire.message) };
  switch (w.code) {
    case 'UPSTREAM_TIMEOUT':
      return {
        outcome: { kind: 'timeout', phase: w.phase ?? 'total' },
        error: new ProxyError('UPSTREAM_TIMEOUT', `${w.message}; timeout was ${timeoutMs / 1000} s`, {
          headers: { 'x-litellm-timeout': String(timeoutMs / 1000) },
        }),
      };
    case 'UPSTREAM_CONNECT':
      return { outcome: { kind: 'connect-error', message: w.message }, error: new ProxyError('UPSTREAM_CONNECT', w.message) };
    case 'UPSTREAM_PROTOCOL':
      return { outcome: { kind: 'upstream-error', status: 502, retryAfterMs: null }, error: new ProxyError('UPSTREAM_PROTOCOL', w.message) };
    case 'UPSTREAM_ABORTED':
      return { outcome: { kind: 'client-aborted' }, error: new ProxyError('INTERNAL', w.message) };
    case 'INTERNAL':
      return { outcome: { kind: 'client-aborted' }, error: new ProxyError('INTERNAL', w.message) };
  }
}
