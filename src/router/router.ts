/**
 * The request plan: resolve the model group, take a lease from its actor, run the attempt
 * through the dispatcher, settle the lease and turn the result into a reply. Server code
 * never touches actors; workers never see anything but the task.
 */
import { performance } from 'node:perf_hooks';
import type { DeploymentConfig, MockResponse, ProxyConfig } from '../config/types.js';
import { ProxyError, proxyErrorBody, upstreamErrorBody } from '../errors.js';
import { buildTarget, type Endpoint, type UpstreamTarget } from '../providers/index.js';
import { newTaskId, type Dispatcher, type StreamHandle } from '../upstream/dispatch.js';
import type { CallResult, TaskBase, WireError } from '../upstream/wire.js';
import { DeploymentState, GroupActor, type Lease, type Outcome } from './group-actor.js';
import { simpleShuffle } from './strategies/simple-shuffle.js';
import type { PickContext } from './strategies/types.js';

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
  readonly now?: () => number;
}

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

export class Router {
  readonly config: ProxyConfig;
  readonly actors: ReadonlyMap<string, GroupActor>;
  readonly #dispatcher: Dispatcher;
  readonly #ctx: { now: number; random: () => number };
  readonly #clock: () => number;
  readonly #modelList: string;

  constructor(config: ProxyConfig, dispatcher: Dispatcher, opts: RouterOptions = {}) {
    this.config = config;
    this.#dispatcher = dispatcher;
    this.#clock = opts.now ?? (() => performance.now());
    this.#ctx = { now: 0, random: opts.random ?? Math.random };
    const actors = new Map<string, GroupActor>();
    for (const [name, deps] of config.groups) {
      actors.set(name, new GroupActor(name, deps.map((d) => new DeploymentState(d, targetsFor(d))), simpleShuffle));
    }
    this.actors = actors;
    // `created` is fixed as in LiteLLM's /v1/models, so the list is a constant we build once.
    this.#modelList = JSON.stringify({
      object: 'list',
      data: [...actors.keys()].map((id) => ({ id, object: 'model', created: 1677610602, owned_by: 'openai' })),
    });
  }

  /** `/v1/models` body. */
  modelList(): string {
    return this.#modelList;
  }

  resolve(model: string): GroupActor | null {
    return this.actors.get(model) ?? null;
  }

  /** Requests in flight across every group. */
  inFlight(): number {
    let n = 0;
    for (const a of this.actors.values()) n += a.inFlight();
    return n;
  }

  #pickContext(): PickContext {
    this.#ctx.now = this.#clock();
    return this.#ctx;
  }

  #modelNotFound(model: string): ProxyError {
    const names = [...this.actors.keys()];
    const shown = names.length > 50 ? `${names.slice(0, 50).join(', ')}, … (${names.length} in all)` : names.join(', ');
    return new ProxyError(
      'MODEL_NOT_FOUND',
      `Invalid model name passed in model=${model}. Call \`/v1/models\` to view available models. Available models: ${shown || '(none configured)'}`,
      { param: 'model' },
    );
  }

  /** Resolves the group and takes a lease, or says why not. */
  #lease(req: ApiRequest): { lease: Lease; actor: GroupActor } | ProxyError {
    const actor = this.resolve(req.model);
    if (actor === null) return this.#modelNotFound(req.model);
    const lease = actor.acquire(this.#pickContext());
    if (lease === null) {
      return new ProxyError('NO_DEPLOYMENTS', `No deployments available for selected model. Passed model=${req.model}`, {
        headers: { 'retry-after': '1' },
      });
    }
    return { lease, actor };
  }

  #task(req: ApiRequest, d: DeploymentState, id: number): TaskBase {
    const target = d.targets?.[req.endpoint] ?? null;
    const requestMock = req.json.mock_response;
    const mock: MockResponse | null =
      typeof requestMock === 'string' || (requestMock !== null && typeof requestMock === 'object' && !Array.isArray(requestMock))
        ? (requestMock as MockResponse)
        : d.cfg.mockResponse;
    return {
      id,
      endpoint: req.endpoint,
      body: req.body,
      responseModel: req.model,
      url: target?.url ?? null,
      headers: target?.headers ?? [],
      upstreamModel: d.cfg.upstreamModel,
      bodyDefaults: d.cfg.bodyDefaults,
      mock,
      label: d.label,
    };
  }

  #headers(d: DeploymentState, group: string, extra?: Readonly<Record<string, string>> | null): string[] {
    const h = [...d.responseHeaders, 'x-litellm-model-group', group];
    if (extra) for (const k in extra) h.push(k, extra[k]!);
    return h;
  }

  /** A non-streaming request. Resolves null when the client went away (nothing to write). */
  async call(req: ApiRequest, ctx: RequestContext): Promise<Reply | null> {
    const got = this.#lease(req);
    if (got instanceof ProxyError) return errorReply(got);
    const { lease } = got;
    const d = lease.deployment;
    const id = newTaskId();
    const timeoutMs = requestTimeoutMs(req.json) ?? d.cfg.timeoutMs;
    ctx.setAbort(() => {
      this.#dispatcher.abortCall(id);
      lease.done({ kind: 'client-aborted' }, this.#clock());
    });
    let result: CallResult;
    try {
      result = await this.#dispatcher.call({ ...this.#task(req, d, id), timeoutMs });
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
      return { status: result.status, body: result.body, headers: this.#headers(d, req.model) };
    }
    if ('error' in result) {
      const e = wireFailure(result.error, timeoutMs);
      lease.done(e.outcome, now);
      if (e.outcome.kind === 'client-aborted') return null;
      return { status: e.error.status, body: proxyErrorBody(e.error), headers: this.#headers(d, req.model, e.error.headers) };
    }
    lease.done({ kind: 'upstream-error', status: result.status, retryAfterMs: result.retryAfterMs }, now);
    const extra = result.retryAfterMs !== null ? { 'retry-after': String(Math.ceil(result.retryAfterMs / 1000)) } : null;
    return {
      status: result.status,
      body: upstreamErrorBody(result.status, Buffer.from(result.body).toString('utf8'), d.label),
      headers: this.#headers(d, req.model, extra),
    };
  }

  /** A streaming request: frames go to `consumer` until end, error or client abort. */
  stream(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer): void {
    const got = this.#lease(req);
    if (got instanceof ProxyError) {
      consumer.reply(errorReply(got));
      return;
    }
    const { lease } = got;
    const d = lease.deployment;
    const streamTimeoutMs = streamTimeoutOf(req.json) ?? d.cfg.streamTimeoutMs;
    let started = false;
    const settle = (o: Outcome): void => lease.done(o, this.#clock());
    const handle = this.#dispatcher.stream(
      { ...this.#task(req, d, newTaskId()), streamTimeoutMs },
      {
        head: () => {
          if (ctx.aborted) return;
          started = true;
          consumer.start(this.#headers(d, req.model), handle);
        },
        data: (buf) => {
          if (!ctx.aborted) consumer.data(buf);
        },
        end: (usage) => {
          ctx.setAbort(null);
          settle({ kind: 'ok', latencyMs: this.#clock() - lease.startedAt, usage });
          if (!ctx.aborted) consumer.end();
        },
        fail: (status, body, retryAfterMs) => {
          ctx.setAbort(null);
          settle({ kind: 'upstream-error', status, retryAfterMs });
          if (ctx.aborted) return;
          const text = Buffer.from(body).toString('utf8');
          const extra = retryAfterMs !== null ? { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) } : null;
          const errBody = upstreamErrorBody(status, text, d.label);
          if (started) consumer.error(errBody);
          else consumer.reply({ status, body: errBody, headers: this.#headers(d, req.model, extra) });
        },
        error: (wire) => {
          ctx.setAbort(null);
          const e = wireFailure(wire, streamTimeoutMs);
          settle(e.outcome);
          if (ctx.aborted || e.outcome.kind === 'client-aborted') return;
          if (started) consumer.error(proxyErrorBody(e.error));
          else consumer.reply({ status: e.error.status, body: proxyErrorBody(e.error), headers: this.#headers(d, req.model, e.error.headers) });
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

