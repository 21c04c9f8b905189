/**
 * One attempt, call or stream: a lease from admission, the task for the dispatcher, the
 * dispatcher's result turned into an Outcome (settled on the lease) and an AttemptResult for
 * the plan. Read top to bottom, this is everything that happens between a pick and a reply.
 */
import type { MockResponse } from '../config/types.js';
import { envelopeJson, failures, ProxyError, proxyEnvelope, upstreamError, type ErrorClass, type ErrorEnvelope } from '../errors.js';
import type { Secrets } from '../secrets.js';
import { newTaskId, type Dispatcher } from '../upstream/dispatch.js';
import { carries } from '../upstream/relay-headers.js';
import type { CallResult, TaskBase, WireError } from '../upstream/wire.js';
import { type Admission, type LeaseResult } from './admission.js';
import { retryAfterHeader } from './retry-after.js';
import type { RequestCredentials } from './client-credentials.js';
import type { DeploymentView, GroupActor, Unavailable } from './group-actor.js';
import { ModelNames, type Resolved } from '../config/model-names.js';
import { classifyFailure } from './policy/classify.js';
import { spliceUpstreamBody } from '../providers/upstream-body.js';
import {
  STREAM_STARTED_BODY,
  type ApiRequest,
  type AttemptOptions,
  type AttemptResult,
  type Outcome,
  type RequestContext,
  type StreamConsumer,
} from './types.js';

function copyInto(alloc: (size: number) => Uint8Array, bytes: Uint8Array): Uint8Array {
  const out = alloc(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * The task one attempt hands the dispatcher (health probes build theirs here too).
 * `body`: a body that replaces the client's (a fallback entry's, a health probe's); null = the
 * client's. Either way the task gets its own copy, with the upstream model spliced in, in bytes
 * from `alloc` (the dispatcher's `allocBody`): the copy goes to the worker, and a retry needs
 * the original again.
 * `keepUpstreamModel`: the attempt is a fallback, so the response keeps the `model` the upstream
 * answered with (LiteLLM restamps the requested name only while `x-litellm-attempted-fallbacks`
 * is 0); a mock deployment answers with its own upstream model name then.
 */
export function taskFor(
  req: ApiRequest,
  model: string,
  d: DeploymentView,
  resolved: Resolved,
  id: number,
  body: ArrayBuffer | null,
  alloc: (size: number) => Uint8Array,
  keepUpstreamModel = false,
): TaskBase {
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
    // A Responses request is reshaped in the worker (passed through or translated to chat): a plain copy.
    body: req.endpoint === 'responses'
      ? copyInto(alloc, new Uint8Array(body ?? req.body))
      // The server's scan describes the client's body only; a replacement body is scanned anew.
      : spliceUpstreamBody(new Uint8Array(body ?? req.body), body === null ? (req.members ?? null) : null, upstreamModel, d.cfg.bodyDefaults, alloc),
    responseModel: keepUpstreamModel ? null : model,
    url,
    // The precomputed block stays shared; a request id adds one pair to this request's copy.
    headers: req.requestId === undefined || target === null ? (target?.headers ?? []) : [...target.headers, 'x-request-id', req.requestId],
    upstreamModel,
    bodyDefaults: d.cfg.bodyDefaults,
    mock,
    mockTimeout,
    label: d.label,
    ...(target?.viaChat === true ? { viaChat: true } : null),
  };
}

/**
 * A failure that never reached an upstream answer, through errors.ts's `failures` table: its
 * outcome for the actor, its class for the plan, and its error for the client (null when the
 * client has gone). The message may quote an exception (undici's, a URL), so secrets are cut from it.
 */
function wireFailure(wire: WireError, timeoutMs: number, secrets: Secrets): { outcome: Outcome; error: ProxyError | null; cls: ErrorClass } {
  const row = failures[wire.code];
  const message = secrets.redact(wire.message);
  const outcome = wireOutcome(wire, message);
  if (row.error === null) return { outcome, error: null, cls: 'server' };
  const error = row.error === 'UPSTREAM_TIMEOUT'
    ? new ProxyError(row.error, `${message}; timeout was ${timeoutMs / 1000} s`, { headers: { 'x-litellm-timeout': String(timeoutMs / 1000) } })
    : new ProxyError(row.error, message);
  return { outcome, error, cls: row.cls };
}

/** The table's outcome kind, with what that kind carries. */
function wireOutcome(wire: WireError, message: string): Outcome {
  const kind = failures[wire.code].outcome;
  switch (kind) {
    case 'timeout':
      return { kind, phase: wire.phase ?? 'total' };
    case 'connect-error':
      return { kind, message };
    case 'upstream-error':
      return { kind, status: 502, retryAfterMs: null };
    case 'client-aborted':
    case 'worker-failed':
      return { kind };
  }
}

/** Runs single attempts for the plan; the router hands `call`/`stream` to a RequestPlan as its Attempt. */
export class Attempts {
  readonly #admission: Admission;
  readonly #dispatcher: Dispatcher;
  readonly #clock: () => number;
  /** Cuts the config's secrets out of upstream-derived text on error paths (never on a success). */
  readonly #secrets: Secrets;
  /** Who hears about each failed attempt on a deployment (the log), with its redacted message. */
  onAttemptFailure: ((label: string, status: number, message: string, requestId: string | null) => void) | null = null;

  constructor(admission: Admission, dispatcher: Dispatcher, clock: () => number, secrets: Secrets) {
    this.#admission = admission;
    this.#dispatcher = dispatcher;
    this.#clock = clock;
    this.#secrets = secrets;
  }

  /**
   * The reply's headers: the deployment's, the group's x-ratelimit-* and the upstream's relayed
   * ones (`llm_provider-*`). An x-ratelimit-* header the upstream sent itself is passed through
   * and replaces the group's computed one of that name, as in LiteLLM.
   */
  #headers(secrets: Secrets, actor: GroupActor, d: DeploymentView, resolved: Resolved, extra?: Readonly<Record<string, string>> | null, upstream?: readonly string[] | null): string[] {
    const h = [...d.responseHeaders, 'x-litellm-model-group', resolved.reportedGroup];
    if (actor.hasLimits) {
      const rl = actor.rateLimitHeaders(this.#clock());
      if (upstream == null) h.push(...rl);
      else for (let i = 0; i < rl.length; i += 2) if (!carries(upstream, rl[i]!)) h.push(rl[i]!, rl[i + 1]!);
    }
    if (upstream != null) h.push(...Attempts.#clean(secrets, upstream));
    if (extra) for (const k in extra) h.push(k, extra[k]!);
    return h;
  }

  /** Relayed upstream values with the config's secrets cut out (an upstream may echo a key anywhere): one test over them all. */
  static #clean(secrets: Secrets, pairs: readonly string[]): readonly string[] {
    let joined = '';
    for (let i = 1; i < pairs.length; i += 2) joined += `${pairs[i]!}\n`;
    if (secrets.redact(joined) === joined) return pairs;
    return pairs.map((v, i) => (i % 2 === 1 ? secrets.redact(v) : v));
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
        error: proxyEnvelope(e),
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
  #attemptFailure(req: ApiRequest, secrets: Secrets, actor: GroupActor, d: DeploymentView, resolved: Resolved, model: string, f: { status: number; error: ErrorEnvelope; retryAfterMs: number | null; cls: ErrorClass; headers?: Readonly<Record<string, string>> | null; upstream?: readonly string[] | null }): AttemptResult {
    const extra: Record<string, string> = { ...(f.headers ?? {}) };
    if (f.retryAfterMs !== null) extra['retry-after'] = retryAfterHeader(f.retryAfterMs);
    this.onAttemptFailure?.(d.label, f.status, f.error.message, req.requestId ?? null);
    return {
      ok: false,
      deploymentNumRetries: d.cfg.numRetries ?? null,
      failure: {
        cls: f.cls,
        status: f.status,
        error: f.error,
        headers: this.#headers(secrets, actor, d, resolved, extra, f.upstream),
        retryAfterMs: f.retryAfterMs,
        label: d.label,
        group: model,
        healthy: actor.healthyCount(this.#clock()),
        groupSize: actor.deployments.length,
      },
    };
  }

  /** One non-streaming attempt. */
  /** `creds`: the request's own credentials (client-credentials.ts); their redactor replaces the config's for this request. */
  async call(req: ApiRequest, ctx: RequestContext, model: string, tried: Set<string>, opts: AttemptOptions, creds: RequestCredentials | null = null): Promise<AttemptResult> {
    const bodyOverride = opts.body;
    const secrets = creds?.secrets ?? this.#secrets;
    const got: LeaseResult = await this.#admission.lease(req, model, tried, ctx, opts.cooldownTimeMs, bodyOverride, creds);
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
      result = await this.#dispatcher.call({ ...taskFor(req, model, d, resolved, id, bodyOverride, this.#dispatcher.allocBody, opts.keepUpstreamModel), timeoutMs });
    } catch (err) {
      ctx.setAbort(null);
      // The client left first (its cancel settled the lease): the pool closing under the
      // cancelled call (a shutdown) is no failure to report.
      if (ctx.aborted) return null;
      // The pool itself failed (a worker crashed): not the deployment's fault.
      lease.done({ kind: 'worker-failed' }, this.#clock());
      const row = failures.WORKER_FAILED;
      const e = new ProxyError(row.error, secrets.redact(`upstream worker failed: ${err instanceof Error ? err.message : String(err)}`));
      return this.#attemptFailure(req, secrets, actor, d, resolved, model, { status: e.status, error: proxyEnvelope(e), retryAfterMs: null, cls: row.cls });
    }
    ctx.setAbort(null);
    if (ctx.aborted) return null;
    const now = this.#clock();
    if (result.ok) {
      if (result.finishReason === 'content_filter' && opts.contentFilterFails) {
        lease.done({ kind: 'ok', latencyMs: now - lease.startedAt, usage: result.usage }, now);
        const e = new ProxyError('INVALID_REQUEST', `litellm.ContentPolicyViolationError: ${d.label} stopped with finish_reason content_filter`);
        return this.#attemptFailure(req, secrets, actor, d, resolved, model, { status: 400, error: proxyEnvelope(e), retryAfterMs: null, cls: 'content-policy' });
      }
      lease.done({ kind: 'ok', latencyMs: now - lease.startedAt, usage: result.usage }, now);
      return { ok: true, group: model, reply: { status: result.status, body: result.body, headers: this.#headers(secrets, actor, d, resolved, null, result.headers), upstreamMs: now - lease.startedAt, usage: result.usage } };
    }
    if ('error' in result) {
      const e = wireFailure(result.error, timeoutMs, secrets);
      lease.done(e.outcome, now);
      if (e.error === null) return null;
      return this.#attemptFailure(req, secrets, actor, d, resolved, model, {
        status: e.error.status, error: proxyEnvelope(e.error), retryAfterMs: null, cls: e.cls, headers: e.error.headers,
      });
    }
    const outcome: Outcome = { kind: 'upstream-error', status: result.status, retryAfterMs: result.retryAfterMs };
    lease.done(outcome, now);
    const text = Buffer.from(result.body).toString('utf8');
    return this.#attemptFailure(req, secrets, actor, d, resolved, model, {
      status: result.status, error: upstreamError(result.status, text, d.label, secrets), retryAfterMs: result.retryAfterMs, cls: classifyFailure({ status: result.status, body: text, kind: 'upstream-error' }),
      upstream: result.headers,
    });
  }

  /**
   * One streaming attempt. Failures before the first byte go back to the plan like any
   * failure, unseen by the client; after it, the client gets a final SSE error event.
   */
  stream(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer, model: string, tried: Set<string>, opts: AttemptOptions, creds: RequestCredentials | null = null): Promise<AttemptResult> {
    const bodyOverride = opts.body;
    const secrets = creds?.secrets ?? this.#secrets;
    return this.#admission.lease(req, model, tried, ctx, opts.cooldownTimeMs, bodyOverride, creds).then((got) => {
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
        // The upstream's time to headers, for the overhead header (performance clock: exact, never injected).
        const sentAt = performance.now();
        const handle = this.#dispatcher.stream(
          { ...taskFor(req, model, d, resolved, newTaskId(), bodyOverride, this.#dispatcher.allocBody, opts.keepUpstreamModel), streamTimeoutMs },
          {
            head: (upstream) => {
              if (ctx.aborted) return;
              started = true;
              // The plan adds its retry/fallback headers to this reply; the consumer commits them now.
              resolve({ ok: true, group: model, reply: { status: 200, body: STREAM_STARTED_BODY, headers: this.#headers(secrets, actor, d, resolved, null, upstream), upstreamMs: performance.now() - sentAt } });
            },
            data: (text) => {
              ttftMs ??= this.#clock() - lease.startedAt;
              if (!ctx.aborted) consumer.data(text);
            },
            end: (usage) => {
              ctx.setAbort(null);
              settle({ kind: 'ok', latencyMs: this.#clock() - lease.startedAt, usage, ttftMs });
              if (!ctx.aborted) consumer.end(usage);
            },
            fail: (status, body, retryAfterMs, upstream) => {
              ctx.setAbort(null);
              settle({ kind: 'upstream-error', status, retryAfterMs });
              if (ctx.aborted) return resolve(null);
              const text = Buffer.from(body).toString('utf8');
              const error = upstreamError(status, text, d.label, secrets);
              if (started) {
                this.onAttemptFailure?.(d.label, status, error.message, req.requestId ?? null);
                return consumer.error(envelopeJson(error), status);
              }
              resolve(this.#attemptFailure(req, secrets, actor, d, resolved, model, {
                status, error, retryAfterMs, cls: classifyFailure({ status, body: text, kind: 'upstream-error' }), upstream,
              }));
            },
            error: (wire) => {
              ctx.setAbort(null);
              const e = wireFailure(wire, streamTimeoutMs, secrets);
              settle(e.outcome);
              if (ctx.aborted || e.error === null) return resolve(null);
              if (started) {
                this.onAttemptFailure?.(d.label, e.error.status, e.error.message, req.requestId ?? null);
                return consumer.error(envelopeJson(proxyEnvelope(e.error)), e.error.status);
              }
              resolve(this.#attemptFailure(req, secrets, actor, d, resolved, model, {
                status: e.error.status, error: proxyEnvelope(e.error), retryAfterMs: null, cls: e.cls, headers: e.error.headers,
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
