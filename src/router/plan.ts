/**
 * The request plan: which attempts run, in what order, and what the client finally gets.
 *
 * Within a group: attempts with retries (a retry goes to a deployment not yet tried when one
 * is available), backoff only when no other healthy deployment exists. Across groups:
 * fallbacks by error kind (context window, content policy, general), chains A→B→C with each
 * group running its own retries, cycles cut by a visited set, depth bounded by
 * max_fallbacks. The rules (retry or not, how long to wait, which fallback) are pure functions
 * in policy/; this file holds the request's state (attempts, depth, visited groups), runs the
 * attempts and sleeps between them. It sees the router only through a PlanEnv.
 * When everything fails the client gets the first error's status with every attempt's cause.
 * A stream that breaks after its first byte comes back through `continueStream`, which runs
 * the same fallbacks with LiteLLM's continuation prompt (stream-session.ts asks).
 */
import type { ReliabilitySettings } from '../config/types.js';
import { envelopeJson, ProxyError, proxyEnvelope, proxyErrorBody } from '../errors.js';
import type { ErrorClass } from './policy/classify.js';
import { contentFilterTriggersFallback, fallbackTargets, parseRequestFallbacks, type FallbackEntry, type FallbackKind, type FallbackMap } from './policy/fallbacks.js';
import { backoffMs, effectiveRetries, resolveNumRetries, retriesFromPolicy, shouldRetry } from './policy/retries.js';
import { readRequestLimits, type RequestLimits } from './request-limits.js';
import type { ApiRequest, Attempt, AttemptFailure, Reply, RequestContext } from './types.js';
import { answered, failed, type AttemptListener, type AttemptTrace } from './attempt-trace.js';

/** What a plan may read: settings and counts, never the router itself (that import made a circle). */
export interface PlanEnv {
  readonly reliability: ReliabilitySettings;
  /**
   * A group's size, how many of its deployments are not cooling, and the `num_retries` of its
   * deployment when it has exactly one (LiteLLM tags its mocked rate-limit error with it).
   */
  readonly groupHealth: (model: string) => { readonly size: number; readonly healthy: number; readonly numRetries?: number | null };
  /** The router's injected randomness (backoff jitter). */
  readonly random: () => number;
  /** Told of each retry within a group, and of each fallback's end (metrics); rare paths only. */
  readonly onRetry?: (model: string) => void;
  readonly onFallback?: (primary: string, fallback: string, ok: boolean) => void;
  /** Told of every attempt with the decision after it (debug log); null or absent = no record is built. */
  readonly onAttempt?: AttemptListener | null;
}

/** What one group's run ended with. */
type GroupResult =
  | { readonly ok: true; readonly reply: Reply; readonly retries: number; readonly maxRetries: number; readonly group: string }
  | { readonly ok: false; readonly failures: AttemptFailure[] };

/** LiteLLM's mock switches, read once; fallback calls run without them (LiteLLM pops them). */
interface MockSwitches {
  readonly fallbacks: boolean;
  readonly contextFallbacks: boolean;
  readonly contentPolicyFallbacks: boolean;
  readonly rateLimitError: boolean;
}

function flag(v: unknown): boolean {
  return v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
}

function readSwitches(json: Readonly<Record<string, unknown>>): MockSwitches {
  return {
    fallbacks: flag(json.mock_testing_fallbacks),
    // LiteLLM reads `mock_testing_context_fallbacks`; its docs name `mock_testing_context_window_fallbacks`: both work here.
    contextFallbacks: flag(json.mock_testing_context_fallbacks) || flag(json.mock_testing_context_window_fallbacks),
    contentPolicyFallbacks: flag(json.mock_testing_content_policy_fallbacks),
    rateLimitError: flag(json.mock_testing_rate_limit_error),
  };
}

const noSwitches: MockSwitches = { fallbacks: false, contextFallbacks: false, contentPolicyFallbacks: false, rateLimitError: false };

/**
 * LiteLLM's instruction to the model that continues a broken stream (router.py
 * `_acompletion_streaming_iterator`), word for word, so a fallback gets the same steering; the
 * text already sent follows as an assistant message with `prefix: true`.
 */
export const CONTINUATION_PROMPT =
  'You are a helpful assistant. You are given a message and you need to respond to it. You are also given a generated content. You need to respond to the message in continuation of the generated content. Do not repeat the same content. Your response should be in continuation of this text: ';

/** A failure made up by a mock switch: no deployment was chosen, so nothing is counted or cooled. */
function mockedFailure(group: string, cls: ErrorClass, status: number, message: string, health = { size: 0, healthy: 0 }): AttemptFailure {
  const e = new ProxyError(status === 429 ? 'NO_DEPLOYMENTS' : status >= 500 ? 'UPSTREAM_ERROR' : 'INVALID_REQUEST', message, { status, type: status === 429 ? 'throttling_error' : undefined });
  return { cls, status, error: proxyEnvelope(e), headers: [], retryAfterMs: null, label: `${group} (mock)`, group, healthy: health.healthy, groupSize: health.size };
}

export class RequestPlan {
  readonly #env: PlanEnv;
  readonly #req: ApiRequest;
  readonly #ctx: RequestContext;
  readonly #attempt: Attempt;
  readonly #switches: MockSwitches;
  readonly #maps: { general: FallbackMap; contextWindow: FallbackMap | null; contentPolicy: FallbackMap | null; defaults: readonly string[] };
  readonly #maxFallbacks: number;
  /** The request's own retries, timeouts and cooldown, bounded (request-limits.ts). */
  readonly #limits: RequestLimits;
  #fallbackDepth = 0;
  /** Attempts that reached the router (every group, every retry): `num_retries_per_request` bounds them. */
  #attempts = 0;
  readonly #visited = new Set<string>();
  /** What the request's own fallbacks got wrong: answered with a 400 before any attempt. */
  readonly #bodyProblems: readonly string[];
  /** The per-attempt listener, read once; null (the usual case) skips every trace step. */
  readonly #trace: AttemptListener | null;
  /** Attempts traced so far, and the group's last failed one, held until the plan knows what follows it. */
  #traced = 0;
  #held: AttemptTrace | null = null;
  /** Messages a stream's continuation appends to the request's (null = none). */
  #continuation: readonly unknown[] | null = null;

  constructor(env: PlanEnv, req: ApiRequest, ctx: RequestContext, attempt: Attempt) {
    this.#env = env;
    this.#req = req;
    this.#ctx = ctx;
    this.#attempt = attempt;
    this.#trace = env.onAttempt ?? null;
    this.#switches = readSwitches(req.json);
    const r = env.reliability;
    // A request's own fallbacks replace the router's for this call (LiteLLM).
    const fromBody = req.json.fallbacks !== undefined ? parseRequestFallbacks(req.json.fallbacks, req.model) : null;
    const cwBody = req.json.context_window_fallbacks !== undefined ? parseRequestFallbacks(req.json.context_window_fallbacks, req.model) : null;
    const cpBody = req.json.content_policy_fallbacks !== undefined ? parseRequestFallbacks(req.json.content_policy_fallbacks, req.model) : null;
    const disabled = flag(req.json.disable_fallbacks);
    const empty: FallbackMap = new Map();
    // A plain list of names (or of parameter sets) in the body applies to every kind of error, as in LiteLLM.
    const everyKind = fromBody?.appliesToAllErrors === true ? fromBody : null;
    this.#maps = disabled
      ? { general: empty, contextWindow: empty, contentPolicy: empty, defaults: [] }
      : {
          general: fromBody ?? r.fallbacks,
          contextWindow: cwBody ?? everyKind ?? r.contextWindowFallbacks,
          contentPolicy: cpBody ?? everyKind ?? r.contentPolicyFallbacks,
          defaults: fromBody ? [] : r.defaultFallbacks,
        };
    this.#bodyProblems = [fromBody, cwBody, cpBody].flatMap((m) => m?.problems ?? []).map((p) => `${p.path}: ${p.message}`);
    this.#limits = readRequestLimits(req.json, req.hints, r);
    this.#maxFallbacks = this.#limits.maxFallbacks ?? r.maxFallbacks;
  }

  /** Runs the whole plan; resolves null when the client went away. */
  async run(): Promise<Reply | null> {
    if (this.#limits.problems.length > 0) {
      const e = new ProxyError('INVALID_REQUEST', `Invalid request: ${this.#limits.problems.join('; ')}`, { param: this.#limits.param });
      return { status: e.status, body: proxyErrorBody(e), headers: [] };
    }
    if (this.#bodyProblems.length > 0) {
      const e = new ProxyError('INVALID_REQUEST', `Invalid fallbacks in the request: ${this.#bodyProblems.join('; ')}`, { param: 'fallbacks' });
      return { status: e.status, body: proxyErrorBody(e), headers: [] };
    }
    const group = this.#req.model;
    this.#visited.add(group);
    const first = await this.#runGroup(group, null, this.#switches);
    if (this.#ctx.aborted) return this.#release(null);
    if (first.ok) return this.#success(first, 0);
    const rescued = await this.#fallBack(group, kindOf(first.failures[0]!), first.failures);
    if (this.#ctx.aborted) return this.#release(null);
    if (rescued) return rescued;
    return this.#release(this.#finalError(first.failures));
  }

  /** Writes the held trace of a group's last attempt as what it turned out to be (a fallback, or the end). */
  #flushHeld(fallbackTo: string | null): void {
    const t = this.#held;
    if (t === null) return;
    this.#held = null;
    this.#trace?.(fallbackTo === null ? t : { ...t, decision: 'fallback', fallbackTo });
  }

  /** The plan's end: a held trace is the last attempt and says `fail`. */
  #release<T>(v: T): T {
    if (this.#held !== null) this.#flushHeld(null);
    return v;
  }

  /**
   * Whether a chat stream that breaks after its first byte may continue on a fallback: the
   * requested group has general fallbacks (LiteLLM's mid-stream fallback uses those).
   */
  get streamMayContinue(): boolean {
    return this.#req.endpoint === 'chat' && this.#hasFallbacksFor(this.#req.model, 'general');
  }

  /**
   * Continues a stream that broke after its first byte (LiteLLM's mid-stream fallback): the
   * fallbacks of the group that was streaming, then the remaining ones of the groups run
   * before it (newest first: the requested group's come last), get the request with
   * LiteLLM's continuation prompt and the text already sent as an assistant `prefix` message
   * (none when nothing was sent). Retries, max_fallbacks, the visited groups and
   * num_retries_per_request hold as for any fallback. Resolves true once a fallback streams.
   */
  async continueStream(generated: string): Promise<boolean> {
    this.#continuation = generated === ''
      ? null
      : [{ role: 'system', content: CONTINUATION_PROMPT }, { role: 'assistant', content: generated, prefix: true }];
    // The group that was streaming is the last one run, so the newest visited.
    for (const group of [...this.#visited].reverse()) {
      if (this.#ctx.aborted) return false;
      if (await this.#fallBack(group, 'general', [])) return !this.#ctx.aborted;
    }
    return false;
  }

  #hasFallbacksFor(group: string, kind: 'general' | 'context-window' | 'content-policy'): boolean {
    return fallbackTargets(kind, group, this.#maps).length > 0;
  }

  /** Tries the fallbacks for a failed group, depth first (a fallback's own fallbacks form chains). */
  async #fallBack(group: string, kind: FallbackKind, all: AttemptFailure[]): Promise<Reply | null> {
    for (const target of fallbackTargets(kind, group, this.#maps)) {
      if (this.#ctx.aborted) return null;
      if (this.#fallbackDepth >= this.#maxFallbacks || this.#budgetSpent()) {
        if (this.#held !== null) {
          const why = this.#fallbackDepth >= this.#maxFallbacks ? 'max_fallbacks reached' : 'num_retries_per_request spent';
          this.#held = { ...this.#held, reason: this.#held.reason === null ? why : `${this.#held.reason}; ${why}` };
        }
        return null;
      }
      // A group already run is not run again (cycles end), unless the entry changes the request
      // (its own messages or params); max_fallbacks still bounds those.
      const rewrites = target.messages !== undefined || target.params !== undefined;
      if (!rewrites && this.#visited.has(target.model)) continue;
      // Moved to the end: the newest visited group is the one running (continueStream reads the order).
      this.#visited.delete(target.model);
      this.#visited.add(target.model);
      if (this.#held !== null) this.#flushHeld(target.model);
      this.#fallbackDepth++;
      const depth = this.#fallbackDepth;
      const r = await this.#runGroup(target.model, target, noSwitches);
      this.#env.onFallback?.(group, target.model, r.ok);
      if (r.ok) return this.#success(r, depth);
      all.push(...r.failures);
      const chained = await this.#fallBack(target.model, kindOf(r.failures[0]!), all);
      if (chained) return chained;
    }
    return null;
  }

  /**
   * `litellm_settings.num_retries_per_request`: retries and fallbacks together, across every
   * group of the request (LiteLLM counts the models already tried, `previous_models`).
   */
  #budgetSpent(): boolean {
    const cap = this.#env.reliability.numRetriesPerRequest;
    return cap !== null && this.#attempts > cap;
  }

  #success(r: Extract<GroupResult, { ok: true }>, fallbacks: number): Reply {
    const headers = [...r.reply.headers, 'x-litellm-attempted-retries', String(r.retries), 'x-litellm-attempted-fallbacks', String(fallbacks)];
    if (r.retries > 0) headers.push('x-litellm-max-retries', String(r.maxRetries));
    return { status: r.reply.status, body: r.reply.body, headers, upstreamMs: r.reply.upstreamMs, usage: r.reply.usage };
  }

  /** The first error's status and type; the message lists every attempt's cause. */
  #finalError(failures: readonly AttemptFailure[]): Reply {
    const first = failures[0]!;
    if (failures.length === 1) return { status: first.status, body: envelopeJson(first.error), headers: first.headers };
    const causes = failures.map((f, i) => `${i + 1}. ${f.label}: ${f.status} ${f.error.message}`).join('; ');
    const message = `${first.error.message} — all ${failures.length} attempts failed: ${causes}`;
    const body = envelopeJson({ ...first.error, message });
    return { status: first.status, body, headers: [...first.headers, 'x-litellm-attempted-fallbacks', String(this.#fallbackDepth)] };
  }

  /** One group: attempts with retries. `entry` carries a fallback's own messages or params. */
  async #runGroup(model: string, entry: FallbackEntry | null, switches: MockSwitches): Promise<GroupResult> {
    const req = this.#req;
    const failures: AttemptFailure[] = [];
    if (switches.fallbacks) {
      failures.push(mockedFailure(model, 'server', 500, 'litellm.InternalServerError: This is a mock exception for model fallbacks (mock_testing_fallbacks).'));
      return { ok: false, failures };
    }
    if (switches.contextFallbacks) {
      failures.push(mockedFailure(model, 'context-window', 400, 'litellm.ContextWindowExceededError: This is a mock exception for context window fallbacks (mock_testing_context_fallbacks).'));
      return { ok: false, failures };
    }
    if (switches.contentPolicyFallbacks) {
      failures.push(mockedFailure(model, 'content-policy', 400, 'litellm.ContentPolicyViolationError: This is a mock exception for content policy fallbacks (mock_testing_content_policy_fallbacks).'));
      return { ok: false, failures };
    }
    const body = entry !== null || this.#continuation !== null ? rebuildBody(req, entry, this.#continuation) : null;
    const r = this.#env.reliability;
    const limits = this.#limits;
    const base = resolveNumRetries({ request: limits.numRetries, router: r.numRetries, litellm: null });
    const policy = r.modelGroupRetryPolicy.get(model) ?? r.retryPolicy;
    const tried = new Set<string>();
    const opts = {
      body,
      contentFilterFails: contentFilterTriggersFallback(model, this.#maps),
      timeoutMs: limits.timeoutMs,
      streamTimeoutMs: limits.streamTimeoutMs,
      cooldownTimeMs: limits.cooldownTimeMs,
      keepUpstreamModel: entry !== null,
    };
    let allowed = base;
    /** Rounds of the group finished so far: every usable deployment tried, then a backoff. */
    let rounds = 0;
    for (let attempt = 0; ; attempt++) {
      let failure: AttemptFailure;
      let roundDone = false;
      const t0 = this.#trace === null ? 0 : performance.now();
      if (attempt === 0 && switches.rateLimitError) {
        const health = this.#env.groupHealth(model);
        failure = mockedFailure(model, 'rate-limit', 429, 'litellm.RateLimitError: This is a mock exception for rate limits (mock_testing_rate_limit_error).', health);
        // LiteLLM (`_handle_mock_testing_rate_limit_error`): the error carries the deployment's
        // num_retries when the group has one deployment, and that number governs the retries.
        if (health.numRetries != null) allowed = effectiveRetries(base, health.numRetries, null);
      } else {
        const before = tried.size;
        this.#attempts++;
        if (attempt > 0) this.#env.onRetry?.(model);
        const result = await this.#attempt(model, tried, opts);
        if (result === null) {
          if (this.#trace !== null) this.#hold(failed(req.requestId ?? null, model, ++this.#traced, attempt + 1, performance.now() - t0, null));
          return { ok: false, failures };
        }
        if (result.ok) {
          this.#trace?.(answered(req.requestId ?? null, model, ++this.#traced, attempt + 1, performance.now() - t0, result.reply));
          return { ok: true, reply: result.reply, retries: attempt, maxRetries: allowed, group: result.group };
        }
        failure = result.failure;
        if (result.deploymentNumRetries !== null) allowed = effectiveRetries(base, result.deploymentNumRetries, null);
        // Every deployment has been tried, or this attempt went back to one already tried
        // (the request may use fewer than the group has: a deployment id, pre-call checks).
        roundDone = tried.size >= failure.groupSize || tried.size === before;
      }
      failures.push(failure);
      const trace = this.#trace === null ? null : failed(req.requestId ?? null, model, ++this.#traced, attempt + 1, performance.now() - t0, failure);
      const stop = (reason: string): GroupResult => {
        if (trace !== null) this.#hold({ ...trace, reason });
        return { ok: false, failures };
      };
      if (this.#ctx.aborted) return stop('client gone');
      const policyRetries = retriesFromPolicy(failure.cls, policy);
      if (policyRetries !== null) allowed = policyRetries;
      // LiteLLM judges only the first failure; later ones just use up the retries.
      if (attempt === 0) {
        const retry = shouldRetry({
          cls: failure.cls,
          groupSize: failure.groupSize,
          healthy: failure.healthy,
          hasFallbacks: this.#hasFallbacksFor(model, 'general'),
          hasContextWindowFallbacks: this.#maps.contextWindow !== null && this.#hasFallbacksFor(model, 'context-window'),
          hasContentPolicyFallbacks: this.#maps.contentPolicy !== null && this.#hasFallbacksFor(model, 'content-policy'),
          policyRetries,
        });
        if (!retry) return stop('not retryable');
      }
      // Every deployment is cooling: retrying would only wait out cooldowns. Fallbacks, or the
      // error with its Retry-After, serve the client better (LiteLLM keeps sleeping here).
      if (failure.healthy === 0 && failure.groupSize > 0) return stop('every deployment cooling');
      if (failure.cls === 'no-deployments') return stop('no deployment available');
      if (attempt >= allowed) return stop('retries spent');
      if (this.#budgetSpent()) return stop('num_retries_per_request spent');
      const wait = backoffMs({
        groupSize: failure.groupSize, healthy: failure.healthy, retryAfterMs: failure.retryAfterMs,
        attempt: roundDone ? rounds : attempt, random: this.#env.random, minMs: r.retryAfterMs, roundDone,
      });
      if (trace !== null) this.#trace!({ ...trace, decision: 'retry', retryInMs: wait });
      if (roundDone) {
        // A new round: each deployment gets one more try before the next, longer, wait.
        rounds++;
        tried.clear();
      }
      if (wait > 0 && !(await this.#sleep(wait))) return { ok: false, failures };
    }
  }

  /** Holds a group's last failed attempt until the plan knows whether a fallback follows it. */
  #hold(t: AttemptTrace): void {
    if (this.#held !== null) this.#flushHeld(null);
    this.#held = t;
  }

  /** Waits `ms`, or less if the client leaves; resolves false when it left. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#ctx.setAbort(null);
        resolve(true);
      }, ms);
      this.#ctx.setAbort(() => {
        clearTimeout(t);
        resolve(false);
      });
    });
  }
}

/** The fallback kind a failure calls for. */
function kindOf(failure: AttemptFailure): FallbackKind {
  return failure.cls === 'context-window' ? 'context-window' : failure.cls === 'content-policy' ? 'content-policy' : 'general';
}

/**
 * A fallback entry that carries its own messages or params replaces them in the body; a
 * stream's continuation appends its messages to whichever messages the attempt sends.
 */
function rebuildBody(req: ApiRequest, entry: FallbackEntry | null, continuation: readonly unknown[] | null): ArrayBuffer | null {
  if (!entry?.messages && !entry?.params && continuation === null) return null;
  const json: Record<string, unknown> = { ...req.json, ...(entry?.params ?? {}) };
  if (entry?.messages) json.messages = entry.messages;
  if (continuation !== null) json.messages = [...(Array.isArray(json.messages) ? (json.messages as readonly unknown[]) : []), ...continuation];
  if (entry !== null) json.model = entry.model;
  return new TextEncoder().encode(JSON.stringify(json)).buffer as ArrayBuffer;
}
