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
import { builtinMaxInputTokens } from './model-limits.js';
import { ModelNames, type Resolved } from './model-names.js';
import { builtinCostPerToken, DEFAULT_COST_PER_TOKEN } from './prices.js';
import { createPicker } from './strategies/index.js';

/** A parsed, validated API request. */
export interface ApiRequest {
  readonly endpoint: Endpoint;
  readonly model: string;
  readonly stream: boolean;
  /** The client's raw body, handed to the worker untouched (transferred). */
  readonly body: ArrayBuffer;
  readonly json: Readonly<Record<string, unknown>>;
}

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
  /** Upstream accepted: commit the 200 and SSE headers. */
  start(headers: readonly string[], handle: StreamHandle): void;
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
      { family, upstreamModel: cfg.upstreamModel, apiBase: cfg.apiBase, apiKey: cfg.apiKey, apiVersion: cfg.apiVersion, extraHeaders: cfg.extraHeaders },
      e,
    );
  }
  return out;
}

function numberField(o: JsonObject, key: string): number | null {
  const v = o[key];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** Input + output price per token: the deployment's own, else the built-in table, else LiteLLM's default. */
function costOf(cfg: DeploymentConfig): number {
  const input = numberField(cfg.litellmParams, 'input_cost_per_token') ?? numberField(cfg.modelInfo, 'input_cost_per_token');
  const output = numberField(cfg.litellmParams, 'output_cost_per_token') ?? numberField(cfg.modelInfo, 'output_cost_per_token');
  if (input !== null || output !== null) return (input ?? 0) + (output ?? 0);
  const base = typeof cfg.modelInfo.base_model === 'string' ? cfg.modelInfo.base_model : cfg.upstreamModel;
  return builtinCostPerToken(base) ?? DEFAULT_COST_PER_TOKEN;
}

/** Context window for the pre-call check: `model_info.max_input_tokens`, else the built-in table. */
function maxInputTokensOf(cfg: DeploymentConfig): number | null {
  const own = numberField(cfg.modelInfo, 'max_input_tokens') ?? numberField(cfg.litellmParams, 'max_input_tokens');
  if (own !== null) return own;
  const base = typeof cfg.modelInfo.base_model === 'string' ? cfg.modelInfo.base_model : typeof cfg.litellmParams.base_model === 'string' ? cfg.litellmParams.base_model : null;
  // Azure deployment names say nothing about the model: LiteLLM needs base_model for them, and so do we.
  if (base === null && cfg.provider === 'azure') return null;
  return builtinMaxInputTokens(base ?? cfg.upstreamModel);
}

function retryAfterHeader(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
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

  constructor(config: ProxyConfig, dispatcher: Dispatcher, opts: RouterOptions = {}) {
    this.config = config;
    this.#dispatcher = dispatcher;
    this.#clock = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#preCallChecks = config.router.enablePreCallChecks;
    const picker = createPicker(config.router.routingStrategy, config.router.routingStrategyArgs);
    const actors = new Map<string, GroupActor>();
    for (const [name, deps] of config.groups) {
      const states = deps.map((d) => {
        const max = maxInputTokensOf(d);
        if (max !== null) this.#maxInputTokens.set(d.id, max);
        return new DeploymentState(d, targetsFor(d), { costPerToken: costOf(d), defaultMaxParallel: config.router.defaultMaxParallelRequests });
      });
      actors.set(name, new GroupActor(name, states, picker, { maxQueue: PARALLEL_QUEUE }));
    }
    this.actors = actors;
    this.names = new ModelNames(config);
    // `created` is fixed as in LiteLLM's /v1/models, so the list is a constant we build once.
    this.#modelList = JSON.stringify({
      object: 'list',
      data: this.names.listed().map((id) => ({ id, object: 'model', created: 1677610602, owned_by: 'openai' })),
    });
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
   * (bounded) for a concurrency slot when that is all that stands in the way.
   */
  async #lease(req: ApiRequest, ctx: RequestContext): Promise<{ lease: Lease; actor: GroupActor; resolved: Resolved } | ProxyError | null> {
    const resolved = this.names.resolve(req.model);
    if (resolved === null) return this.#modelNotFound(req.model);
    const actor = this.actors.get(resolved.group);
    if (actor === undefined) return this.#modelNotFound(req.model);
    const allow = this.#preCallChecks ? await this.#contextCheck(req, actor) : null;
    if (allow instanceof ProxyError) return allow;
    if (ctx.aborted) return null;
    const deadline = this.#clock() + PARALLEL_WAIT_MS;
    for (;;) {
      const got = actor.acquire({ now: this.#clock(), random: this.#random, stream: req.stream }, { deploymentId: resolved.deploymentId, allow });
      if (!('reason' in got)) return { lease: got, actor, resolved };
      const left = deadline - this.#clock();
      if (got.reason !== 'parallel' || left <= 0 || !(await actor.waitForSlot(left))) return this.#unavailableError(req.model, got);
      if (ctx.aborted) return null;
    }
  }

  /**
   * `enable_pre_call_checks`: deployments whose context window is too small for the prompt
   * are skipped. Tokens are counted in the worker pool, and only when some deployment of the
   * group has a known window. All too small → a context-window error (400).
   */
  async #contextCheck(req: ApiRequest, actor: GroupActor): Promise<ReadonlySet<string> | null | ProxyError> {
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
        `litellm.ContextWindowExceededError: the prompt has about ${tokens} tokens; every deployment of ${req.model} takes at most ${smallest}.`,
        { param: 'messages' },
      );
    }
    return allow.size === actor.deployments.length ? null : allow;
  }

  #task(req: ApiRequest, d: DeploymentState, resolved: Resolved, id: number, body: ArrayBuffer): TaskBase {
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
      const concrete = ModelNames.substitute(upstreamModel, resolved.wildcardCaptures);
      if (url !== null && d.cfg.provider === 'azure') url = url.replace(encodeURIComponent(upstreamModel), encodeURIComponent(concrete));
      upstreamModel = concrete;
    }
    return {
      id,
      endpoint: req.endpoint,
      body,
      responseModel: req.model,
      url,
      headers: target?.headers ?? [],
      upstreamModel,
      bodyDefaults: d.cfg.bodyDefaults,
      mock,
      label: d.label,
    };
  }

  #headers(actor: GroupActor, d: DeploymentState, resolved: Resolved, extra?: Readonly<Record<string, string>> | null): string[] {
    const h = [...d.responseHeaders, 'x-litellm-model-group', resolved.reportedGroup];
    if (actor.hasLimits) h.push(...actor.rateLimitHeaders(this.#clock()));
    if (extra) for (const k in extra) h.push(k, extra[k]!);
    return h;
  }

  /** A non-streaming request. Resolves null when the client went away (nothing to write). */
  async call(req: ApiRequest, ctx: RequestContext): Promise<Reply | null> {
    const got = await this.#lease(req, ctx);
    if (got === null) return null;
    if (got instanceof ProxyError) return errorReply(got);
    const { lease, actor, resolved } = got;
    const d = lease.deployment;
    const id = newTaskId();
    const timeoutMs = requestTimeoutMs(req.json) ?? d.cfg.timeoutMs;
    ctx.setAbort(() => {
      this.#dispatcher.abortCall(id);
      lease.done({ kind: 'client-aborted' }, this.#clock());
    });
    let result: CallResult;
    try {
      result = await this.#dispatcher.call({ ...this.#task(req, d, resolved, id, req.body), timeoutMs });
    } catch (err) {
      // The pool itself failed (a worker crashed): not the deployment's fault.
      ctx.setAbort(null);
      lease.done({ kind: 'client-aborted' }, this.#clock());
      return errorReply(new ProxyError('INTERNAL', `upstream worker failed: ${err instanceof Error ? err.message : String(err)}`));
    }
    ctx.setAbort(null);
    if (ctx.aborted) return null;
    const now = this.#clock();
    if (result.ok) {
      lease.done({ kind: 'ok', latencyMs: now - lease.startedAt, usage: result.usage }, now);
      return { status: result.status, body: result.body, headers: this.#headers(actor, d, resolved) };
    }
    if ('error' in result) {
      const e = wireFailure(result.error, timeoutMs);
      lease.done(e.outcome, now);
      if (e.outcome.kind === 'client-aborted') return null;
      return { status: e.error.status, body: proxyErrorBody(e.error), headers: this.#headers(actor, d, resolved, e.error.headers) };
    }
    lease.done({ kind: 'upstream-error', status: result.status, retryAfterMs: result.retryAfterMs }, now);
    const extra = result.retryAfterMs !== null ? { 'retry-after': retryAfterHeader(result.retryAfterMs) } : null;
    return {
      status: result.status,
      body: upstreamErrorBody(result.status, Buffer.from(result.body).toString('utf8'), d.label),
      headers: this.#headers(actor, d, resolved, extra),
    };
  }

  /** A streaming request: frames go to `consumer` until end, error or client abort. */
  async stream(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer): Promise<void> {
    const got = await this.#lease(req, ctx);
    if (got === null) return;
    if (got instanceof ProxyError) {
      consumer.reply(errorReply(got));
      return;
    }
    const { lease, actor, resolved } = got;
    const d = lease.deployment;
    const streamTimeoutMs = streamTimeoutOf(req.json) ?? d.cfg.streamTimeoutMs;
    let started = false;
    let ttftMs: number | undefined;
    const settle = (o: Outcome): void => lease.done(o, this.#clock());
    const handle = this.#dispatcher.stream(
      { ...this.#task(req, d, resolved, newTaskId(), req.body), streamTimeoutMs },
      {
        head: () => {
          if (ctx.aborted) return;
          started = true;
          consumer.start(this.#headers(actor, d, resolved), handle);
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
          if (ctx.aborted) return;
          const text = Buffer.from(body).toString('utf8');
          const extra = retryAfterMs !== null ? { 'retry-after': retryAfterHeader(retryAfterMs) } : null;
          const errBody = upstreamErrorBody(status, text, d.label);
          if (started) consumer.error(errBody);
          else consumer.reply({ status, body: errBody, headers: this.#headers(actor, d, resolved, extra) });
        },
        error: (wire) => {
          ctx.setAbort(null);
          const e = wireFailure(wire, streamTimeoutMs);
          settle(e.outcome);
          if (ctx.aborted || e.outcome.kind === 'client-aborted') return;
          if (started) consumer.error(proxyErrorBody(e.error));
          else consumer.reply({ status: e.error.status, body: proxyErrorBody(e.error), headers: this.#headers(actor, d, resolved, e.error.headers) });
        },
      },
    );
    ctx.setAbort(() => {
      handle.abort();
      settle({ kind: 'client-aborted' });
    });
  }
}

function errorReply(e: ProxyError): Reply {
  const headers: string[] = [];
  if (e.headers) for (const k in e.headers) headers.push(k, e.headers[k]!);
  return { status: e.status, body: proxyErrorBody(e), headers };
}

/** A failure that never reached an upstream answer: its outcome for the actor and its error for the client. */
function wireFailure(w: WireError, timeoutMs: number): { outcome: Outcome; error: ProxyError } {
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

/** Seconds given in the body (`timeout`, then `request_timeout`, as LiteLLM reads them), in ms. */
function requestTimeoutMs(json: Readonly<Record<string, unknown>>): number | null {
  return seconds(json.timeout) ?? seconds(json.request_timeout);
}

function streamTimeoutOf(json: Readonly<Record<string, unknown>>): number | null {
  return seconds(json.stream_timeout) ?? requestTimeoutMs(json);
}

function seconds(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n * 1000 : null;
}
