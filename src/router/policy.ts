/**
 * Reliability policy: should this failure be retried, after how long, which fallback comes
 * next, and does it cool the deployment down (and for how long). Pure functions only: no I/O,
 * no clock, randomness injected. The request plan (plan.ts) and the group actors apply them.
 *
 * Every rule cites the LiteLLM behaviour it matches (router.py, router_utils/*, v1.81); where
 * we deliberately differ, the comment says so and why.
 */
// Setting shapes and the fallbacks form live in config/ (the loader validates them); re-exported for the router.
import { fallbackShape, parseFallbacks, type FallbackEntry, type FallbackMap, type PolicyProblem } from '../config/fallbacks.js';
import type { AllowedFailsPolicy, RetryPolicy } from '../config/policies.js';
export {
  DEFAULT_MAX_FALLBACKS, parseFallbacks, type FallbackEntry, type FallbackMap, type ParsedFallbacks, type PolicyProblem,
} from '../config/fallbacks.js';
export { allowedFailsPolicyKeys, DEFAULT_COOLDOWN_MS, retryPolicyKeys, type AllowedFailsPolicy, type RetryPolicy } from '../config/policies.js';

// --- failure classes ------------------------------------------------------------------------

/**
 * What went wrong, in LiteLLM's exception vocabulary: `bad-request` BadRequestError (400 and
 * other 4xx), `auth` AuthenticationError (401), `permission` PermissionDeniedError (403),
 * `not-found` NotFoundError (404), `unprocessable` UnprocessableEntityError (422), `timeout`
 * Timeout (408), `rate-limit` RateLimitError (429), `context-window` ContextWindowExceededError,
 * `content-policy` ContentPolicyViolationError (both BadRequest subclasses), `server` 5xx,
 * `connection` APIConnectionError, `no-deployments` the router's own "No deployments available".
 */
export type ErrorClass =
  | 'bad-request'
  | 'auth'
  | 'permission'
  | 'not-found'
  | 'unprocessable'
  | 'timeout'
  | 'rate-limit'
  | 'context-window'
  | 'content-policy'
  | 'server'
  | 'connection'
  | 'no-deployments';

export interface FailureInput {
  readonly status: number | null;
  /** The upstream's error body (or its message), when there was one. */
  readonly body?: string | null;
  readonly kind: 'upstream-error' | 'timeout' | 'connect-error' | 'no-deployments';
}

/**
 * Phrases LiteLLM's exception mapping turns into ContextWindowExceededError (OpenAI's code,
 * vLLM/OpenAI wording, Anthropic's wording, and LiteLLM's own class name when the upstream is
 * another LiteLLM proxy).
 */
const contextWindowText = /context_length_exceeded|maximum context length|ContextWindowExceeded|prompt is too long|input is too long for requested model|exceeds the context window/i;
/** …and into ContentPolicyViolationError (OpenAI's code, Azure's content filter and its wording). */
const contentPolicyText = /content_policy_violation|content_filter|ContentPolicyViolation|content management policy|ResponsibleAIPolicyViolation/i;
/** Error bodies are small; a huge one is searched only at its start, so classifying stays cheap. */
const BODY_SCAN_LIMIT = 8192;

/**
 * The class of a failed attempt. The body decides context-window and content-policy errors
 * whatever the status (they arrive as 400, sometimes 413/422/500, and LiteLLM maps them by
 * message first), except for statuses whose meaning is unambiguous (401, 404, 408, 429).
 */
export function classifyFailure(f: FailureInput): ErrorClass {
  switch (f.kind) {
    case 'timeout':
      return 'timeout';
    case 'connect-error':
      return 'connection';
    case 'no-deployments':
      return 'no-deployments';
    case 'upstream-error':
      break;
  }
  const s = f.status;
  if (s !== 401 && s !== 404 && s !== 408 && s !== 429 && f.body) {
    const text = f.body.length > BODY_SCAN_LIMIT ? f.body.slice(0, BODY_SCAN_LIMIT) : f.body;
    if (contextWindowText.test(text)) return 'context-window';
    if (contentPolicyText.test(text)) return 'content-policy';
  }
  if (s === null || s < 400) return 'server';
  if (s >= 500) return 'server';
  switch (s) {
    case 401:
      return 'auth';
    case 403:
      return 'permission';
    case 404:
      return 'not-found';
    case 408:
      return 'timeout';
    case 422:
      return 'unprocessable';
    case 429:
      return 'rate-limit';
    default:
      return 'bad-request';
  }
}

// --- retries ----------------------------------------------------------------------------------

/** LiteLLM's default `num_retries` (`openai.DEFAULT_MAX_RETRIES`). */
export const DEFAULT_NUM_RETRIES = 2;

/**
 * Retries the policy sets for this class, or null when it says nothing. LiteLLM's check order
 * (get_retry_from_policy.py): Authentication → Timeout → RateLimit → ContentPolicyViolation →
 * BadRequest → NotFound. ContentPolicyViolation and ContextWindowExceeded are BadRequestError
 * subclasses, so `BadRequestErrorRetries` covers them when nothing more specific is set.
 *
 * LiteLLM never consults `InternalServerErrorRetries` (the field exists but no branch reads
 * it). We honour it for 5xx, because a user who writes it means it. Connection failures are
 * not InternalServerErrors in LiteLLM either, so it does not cover them.
 */
export function retriesFromPolicy(cls: ErrorClass, policy: RetryPolicy | null | undefined): number | null {
  return fromPolicy(cls, policy, 'Retries');
}

/**
 * LiteLLM's exception names per class, most specific first: both policies key their entries
 * `<name>Retries` / `<name>AllowedFails`. ContentPolicyViolation and ContextWindowExceeded are
 * BadRequestError subclasses, so the BadRequest entry covers them when nothing more specific is set.
 */
const policyNames: Readonly<Partial<Record<ErrorClass, readonly string[]>>> = {
  auth: ['AuthenticationError'],
  timeout: ['TimeoutError'],
  'rate-limit': ['RateLimitError'],
  'content-policy': ['ContentPolicyViolationError', 'BadRequestError'],
  'context-window': ['BadRequestError'],
  'bad-request': ['BadRequestError'],
  'not-found': ['NotFoundError'],
  server: ['InternalServerError'],
};

function fromPolicy(cls: ErrorClass, policy: object | null | undefined, suffix: 'Retries' | 'AllowedFails'): number | null {
  if (!policy) return null;
  for (const name of policyNames[cls] ?? []) {
    const v = (policy as Readonly<Record<string, unknown>>)[name + suffix];
    if (typeof v === 'number') return v;
  }
  return null;
}

export interface ShouldRetryInput {
  readonly cls: ErrorClass;
  /** Deployments in the group. */
  readonly groupSize: number;
  /** Deployments in the group not cooling down, counted after this failure was applied. */
  readonly healthy: number;
  /** General fallbacks exist (LiteLLM checks that the list is non-empty). */
  readonly hasFallbacks: boolean;
  /** `context_window_fallbacks` is set (LiteLLM: `is not None`). */
  readonly hasContextWindowFallbacks: boolean;
  /** `content_policy_fallbacks` is set (LiteLLM: `is not None`). */
  readonly hasContentPolicyFallbacks: boolean;
  /** `retriesFromPolicy` for this failure. */
  readonly policyRetries: number | null;
}

/**
 * LiteLLM's `should_retry_this_error` (router.py), judged on the first failure of a group:
 *
 *   - a retry_policy entry for the class skips every check below (so
 *     `ContentPolicyViolationErrorRetries: 3` retries a 400); we answer "retry" only when it
 *     grants at least one;
 *   - context-window / content-policy errors go straight to their own fallbacks when those are set;
 *   - statuses `_should_retry` calls final (400, 404, 422 and other 4xx except 408/429) are
 *     not retried, except 401/403, which are retried only when another deployment exists
 *     (LiteLLM also retries 409; it has no class of its own here and is not retried);
 *   - 429 with no healthy deployment left goes straight to the fallbacks, when there are any;
 *   - nothing is retried when no deployment is healthy (including our own "no deployments").
 */
export function shouldRetry(input: ShouldRetryInput): boolean {
  const { cls, groupSize, healthy } = input;
  if (input.policyRetries !== null) return input.policyRetries > 0;
  if (cls === 'context-window' && input.hasContextWindowFallbacks) return false;
  if (cls === 'content-policy' && input.hasContentPolicyFallbacks) return false;
  switch (cls) {
    case 'context-window':
    case 'content-policy':
    case 'bad-request':
    case 'not-found':
    case 'unprocessable':
      // ContextWindowExceeded and ContentPolicyViolation are 400s in LiteLLM, so without their
      // own fallbacks they are not retried either: they go to the general fallbacks.
      return false;
    case 'auth':
    case 'permission':
      if (groupSize <= 1) return false;
      break;
    case 'rate-limit':
      if (healthy <= 0 && input.hasFallbacks) return false;
      break;
    default:
      break;
  }
  return healthy > 0;
}

/** LiteLLM's backoff constants (constants.py `INITIAL_RETRY_DELAY`, `MAX_RETRY_DELAY`, `JITTER`). */
export const INITIAL_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 8000;
export const JITTER_MS = 750;
/** A Retry-After up to this long is waited out as given (LiteLLM `_calculate_retry_after`: 0 < v ≤ 60 s). */
export const MAX_HONOURED_RETRY_AFTER_MS = 60_000;

export interface BackoffInput {
  readonly groupSize: number;
  readonly healthy: number;
  /** The failed response's Retry-After, ms; null when absent. */
  readonly retryAfterMs: number | null;
  /** Retries already made in this group (0 before the first retry). */
  readonly attempt: number;
  readonly random: () => number;
  /** `router_settings.retry_after` (ms): the least exponential wait (LiteLLM's `min_timeout`). */
  readonly minMs?: number;
  /**
   * Every deployment the request may use has been tried since the last wait (ours): the next
   * retry would go back to one that just failed, so it waits even when others are healthy.
   */
  readonly roundDone?: boolean;
}

/**
 * How long to wait before the next retry (LiteLLM `_time_to_sleep_before_retry`):
 *
 *   - 0 while the group has more than one deployment and one of them is healthy: the retry
 *     goes elsewhere, so there is nothing to wait for; ours: not once every deployment has
 *     been tried (`roundDone`), so deployments that keep refusing connections (which never
 *     cool) are retried round by round with backoff, not in a tight loop;
 *   - else the upstream's Retry-After when 0 < it ≤ 60 s, plus jitter;
 *   - else `min(max(500 ms · 2^attempt, retry_after), 8 s)` plus up to 750 ms of jitter.
 *
 * Ours: a Retry-After above 60 s (which LiteLLM ignores) raises the exponential wait up to the
 * 8 s cap, so an upstream asking for a long pause gets the longest wait we allow. LiteLLM
 * numbers its attempts 0, 0, 1, 2… (the first retry loop reuses 0); ours count plainly.
 */
export function backoffMs(input: BackoffInput): number {
  if (input.roundDone !== true && input.groupSize > 1 && input.healthy >= 1) return 0;
  const jitter = JITTER_MS * input.random();
  const ra = input.retryAfterMs;
  if (ra !== null && ra > 0 && ra <= MAX_HONOURED_RETRY_AFTER_MS) return ra + jitter;
  const exp = INITIAL_RETRY_DELAY_MS * 2 ** Math.max(0, input.attempt);
  const floor = Math.max(input.minMs ?? 0, ra !== null && ra > 0 ? ra : 0);
  return Math.min(Math.max(exp, floor), MAX_RETRY_DELAY_MS) + jitter;
}

/**
 * A retry count as a client or config may write it: a non-negative integer, or a string of
 * one (`x-litellm-num-retries: "3"`; LiteLLM calls `int()` on it). Anything else is null.
 * A huge count is still a count (1e20): callers bound it (request-limits.ts).
 */
export function parseRetryCount(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : null;
  if (typeof v === 'string') {
    const t = v.trim().replace(/(?<=\d)_(?=\d)/g, '');
    if (!/^\+?\d+$/.test(t)) return null;
    const n = Number(t);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/**
 * The group's retry budget (router.py `_update_kwargs_before_fallbacks`, `Router.__init__`):
 * the request's `num_retries` (body, or header `x-litellm-num-retries`) → router_settings →
 * litellm_settings → 2. A request value that is not a retry count is ignored.
 */
export function resolveNumRetries(input: { readonly request: unknown; readonly router: number | null; readonly litellm: number | null }): number {
  return parseRetryCount(input.request) ?? input.router ?? input.litellm ?? DEFAULT_NUM_RETRIES;
}

/**
 * Retries allowed after a failure (router.py `async_function_with_retries`): the failing
 * deployment's `litellm_params.num_retries` replaces the request/router value for the rest of
 * the loop, and a retry policy entry for the error class replaces both.
 */
export function effectiveRetries(base: number, deploymentNumRetries: number | null, policyRetries: number | null): number {
  return policyRetries ?? deploymentNumRetries ?? base;
}

// --- fallbacks --------------------------------------------------------------------------------


/** Paths as the config loader writes them (`a.b[0].c`), so problems point at YAML lines. */
function at(path: string, i: number): string {
  return `${path}[${i}]`;
}

function key(path: string, k: string): string {
  return path === '' ? k : `${path}.${k}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Keys a request's fallback entry may not set: a client must not redirect a fallback to another
 * endpoint or credentials (the proxy never takes those from a body), nor nest fallbacks.
 */
const forbiddenFallbackParams = new Set([
  'api_key', 'api_base', 'base_url', 'api_version', 'organization', 'custom_llm_provider', 'extra_headers',
  'fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks', 'default_fallbacks',
]);

/**
 * A request body's `fallbacks` (or `context_window_fallbacks` / `content_policy_fallbacks`),
 * parsed into a map. It is a Map, so it drops in wherever the router's map goes; `problems`
 * lists what could not be used (the caller should answer 400), and `appliesToAllErrors` marks
 * LiteLLM's "non-standard" forms, which it uses for every error kind, before the
 * context-window and content-policy special cases.
 */
export class RequestFallbacks extends Map<string, readonly FallbackEntry[]> {
  readonly problems: readonly PolicyProblem[];
  readonly appliesToAllErrors: boolean;

  constructor(entries: Iterable<readonly [string, readonly FallbackEntry[]]>, problems: readonly PolicyProblem[], appliesToAllErrors: boolean) {
    super(entries);
    this.problems = problems;
    this.appliesToAllErrors = appliesToAllErrors;
  }
}

/**
 * The three forms LiteLLM accepts in a request body (router.py
 * `async_function_with_fallbacks_common_utils`, fallback_event_handlers
 * `_check_non_standard_fallback_format`):
 *
 *   - the dict form `[{"a": ["b"]}]`, as in the config;
 *   - a plain list of names `["g1", "g2"]`, which applies to the requested group;
 *   - a list of parameter sets `[{"model": "g1", "messages": [...]}]`, each merged into the
 *     request (an entry without `model` re-runs the requested group with other parameters).
 *
 * An item is a parameter set when it has `messages` or any value that is not a list (`model`,
 * `temperature`, ...); a mapping of names to lists is the dict form (LiteLLM decides the same way).
 */
export function parseRequestFallbacks(value: unknown, group: string): RequestFallbacks {
  const path = 'fallbacks';
  if (!Array.isArray(value)) {
    return new RequestFallbacks([], [{ path, message: `must be a list of model group names, of {model, messages} objects, or ${fallbackShape}; got ${describe(value)}` }], false);
  }
  if (value.length === 0) return new RequestFallbacks([], [], false);
  if (value.every((v) => typeof v === 'string')) {
    const problems: PolicyProblem[] = [];
    const entries: FallbackEntry[] = [];
    value.forEach((v: string, i) => {
      if (v.trim() === '') problems.push({ path: at(path, i), message: 'must be a model group name, got an empty string' });
      else entries.push({ model: v });
    });
    return new RequestFallbacks([[group, entries]], problems, true);
  }
  if (!value.every(isRecord)) {
    return new RequestFallbacks([], [{ path, message: `mixes model group names with objects; use one form: ["g1", "g2"], [{"model": "g1", ...}], or ${fallbackShape}` }], false);
  }
  const items = value as Record<string, unknown>[];
  // LiteLLM: a parameter set has a known param key whose value is not a list.
  const isParams = (item: Record<string, unknown>): boolean =>
    Object.hasOwn(item, 'messages') || Object.values(item).some((v) => !Array.isArray(v));
  if (!items.some(isParams)) {
    const parsed = parseFallbacks(items, path);
    return new RequestFallbacks(parsed.map, parsed.problems, false);
  }
  const problems: PolicyProblem[] = [];
  const entries: FallbackEntry[] = [];
  items.forEach((item, i) => {
    const p = at(path, i);
    if (!isParams(item)) {
      problems.push({ path: p, message: 'mixes the {model_group: [fallbacks]} form with {model, messages} objects; use one form' });
      return;
    }
    let model = group;
    let messages: readonly unknown[] | undefined;
    const params: Record<string, unknown> = {};
    let nParams = 0;
    let ok = true;
    for (const [k, v] of Object.entries(item)) {
      if (k === 'model') {
        if (typeof v === 'string' && v.trim() !== '') model = v;
        else {
          problems.push({ path: key(p, 'model'), message: `must be a model group name, got ${describe(v)}` });
          ok = false;
        }
      } else if (k === 'messages') {
        if (Array.isArray(v)) messages = v;
        else {
          problems.push({ path: key(p, 'messages'), message: `must be a list of messages, got ${describe(v)}` });
          ok = false;
        }
      } else if (forbiddenFallbackParams.has(k)) {
        problems.push({ path: key(p, k), message: `cannot be set in a fallback: a fallback may change the model, messages and body parameters, not ${k}` });
        ok = false;
      } else {
        Object.defineProperty(params, k, { value: v, writable: true, enumerable: true, configurable: true });
        nParams++;
      }
    }
    if (!ok) return;
    entries.push({ model, ...(messages !== undefined ? { messages } : {}), ...(nParams > 0 ? { params } : {}) });
  });
  return new RequestFallbacks([[group, entries]], problems, true);
}

export type FallbackKind = 'general' | 'context-window' | 'content-policy';

export interface FallbackMaps {
  readonly general: FallbackMap;
  /** `context_window_fallbacks`; null = not set (context-window errors use the general chain). */
  readonly contextWindow: FallbackMap | null;
  /** `content_policy_fallbacks`; null = not set. */
  readonly contentPolicy: FallbackMap | null;
  /**
   * `default_fallbacks`. LiteLLM appends them to the router's fallbacks as `{"*": [...]}`, so
   * they apply to the general chain only, and a request's own `fallbacks` (which replace the
   * router's) drop them: pass [] then.
   */
  readonly defaults: readonly string[];
}

const noEntries: readonly FallbackEntry[] = [];

/**
 * Key lookup (fallback_event_handlers.get_fallback_model_group): the exact group, else the
 * group without its `provider/` prefix (a wildcard request `openai/gpt-4o` matches key
 * `gpt-4o`), else `*`. LiteLLM strips only names in its provider list; we strip any first
 * path segment. `star` is false to skip the `*` entry.
 */
function lookup(map: FallbackMap, group: string, star: boolean): readonly FallbackEntry[] | null {
  const exact = map.get(group);
  if (exact !== undefined) return exact;
  const slash = group.indexOf('/');
  if (slash > 0) {
    const stripped = map.get(group.slice(slash + 1));
    if (stripped !== undefined) return stripped;
  }
  return star ? (map.get('*') ?? null) : null;
}

/**
 * The fallback targets for a group that failed with an error of this kind, in order, without
 * the group itself (LiteLLM's run_async_fallback skips it).
 *
 *   - general: the group's entry (exact → provider-stripped), else `default_fallbacks`, else
 *     the `*` entry (LiteLLM appends default_fallbacks after the configured list and keeps the
 *     last `*`, so they win over a configured `*`);
 *   - context-window / content-policy: when their own map is set, only that map, never the
 *     general chain (no entry → the original error stands); when unset, the general chain.
 *
 * LiteLLM looks up the special maps by exact key only; we also honour the provider-stripped
 * key and `*` there, since that is what such an entry can only mean.
 */
export function fallbackTargets(kind: FallbackKind, group: string, maps: FallbackMaps): readonly FallbackEntry[] {
  let found: readonly FallbackEntry[] | null;
  const special = kind === 'context-window' ? maps.contextWindow : kind === 'content-policy' ? maps.contentPolicy : null;
  if (special !== null) found = lookup(special, group, true);
  else {
    found = lookup(maps.general, group, false);
    if (found === null && maps.defaults.length > 0) found = maps.defaults.map((model) => ({ model }));
    if (found === null) found = maps.general.get('*') ?? null;
  }
  if (found === null || found.length === 0) return noEntries;
  // An entry carrying its own messages or params may re-run the same group (LiteLLM compares the dict to the name, never equal).
  return found.some((e) => e.model === group && !e.messages && !e.params)
    ? found.filter((e) => e.model !== group || e.messages !== undefined || e.params !== undefined)
    : found;
}

/**
 * Whether a successful response with `finish_reason: "content_filter"` becomes a content-policy
 * failure (router.py `_should_raise_content_policy_error`): only when it has somewhere to go.
 * LiteLLM checks the content-policy map by exact key, else any default fallback; we ask the
 * same lookup the failure would use.
 */
export function contentFilterTriggersFallback(group: string, maps: FallbackMaps): boolean {
  return fallbackTargets('content-policy', group, maps).length > 0;
}

// --- cooldowns ----------------------------------------------------------------------------------

/** `litellm.allowed_fails`: the limit the legacy rule uses when only a policy is set. */
export const DEFAULT_ALLOWED_FAILS = 3;
/** Success/failure counters live in a window fixed 60 s from its first event (track_deployment_metrics). */
export const FAILURE_WINDOW_MS = 60_000;
/** `DEFAULT_FAILURE_THRESHOLD_PERCENT`: more than this share failing cools the deployment. */
export const FAILURE_THRESHOLD = 0.5;
/** `DEFAULT_FAILURE_THRESHOLD_MINIMUM_REQUESTS`: the share rule needs this many requests in the window. */
export const FAILURE_THRESHOLD_MIN_REQUESTS = 5;
/** `SINGLE_DEPLOYMENT_TRAFFIC_FAILURE_THRESHOLD`: all of this many failing cools even a lone deployment. */
export const ALL_FAILED_MIN_REQUESTS = 1000;
/**
 * Longest cooldown an upstream's Retry-After may set (LiteLLM has no cap). A half-open probe
 * follows every cooldown, so a longer upstream pause costs one probe per cap, and a bogus
 * header cannot take a deployment out for a day.
 */
export const MAX_RETRY_AFTER_COOLDOWN_MS = 300_000;
/** Cap on the doubling after failed half-open probes. */
export const MAX_PROBE_COOLDOWN_MS = 300_000;

/** Per deployment, in the current 60 s window (fixed from its first event). */
export interface FailureStats {
  successes: number;
  failures: number;
}

/**
 * The policy's limit for this class (router.py `get_allowed_fails_from_policy`). LiteLLM's
 * InternalServerError is the 500 class; we apply its entry to every 5xx.
 */
export function allowedFailsFromPolicy(cls: ErrorClass, policy: AllowedFailsPolicy | null | undefined): number | null {
  return fromPolicy(cls, policy, 'AllowedFails');
}

/**
 * The status LiteLLM's cooldown code sees for this failure: its exception's `status_code`.
 * Context-window and content-policy errors are 400s there, timeouts 408; connection errors
 * and our own "no deployments" have none that may cool.
 */
function cooldownStatus(cls: ErrorClass, status: number | null): number | null {
  switch (cls) {
    case 'connection':
    case 'no-deployments':
      return null;
    case 'context-window':
    case 'content-policy':
      return 400;
    case 'timeout':
      return 408;
    case 'rate-limit':
      return 429;
    case 'auth':
      return 401;
    case 'permission':
      return 403;
    case 'not-found':
      return 404;
    case 'unprocessable':
      return 422;
    case 'bad-request':
      return status !== null && status >= 400 && status < 500 ? status : 400;
    case 'server':
      return status !== null && status >= 500 ? status : 500;
  }
}

/**
 * `_is_cooldown_required` (cooldown_handlers.py): connection errors never ("APIConnectionError"
 * in the message), and of the 4xx only 429, 401, 408 and 404; every 5xx may.
 */
export function isCooldownRequired(cls: ErrorClass, status: number | null): boolean {
  const s = cooldownStatus(cls, status);
  if (s === null) return false;
  if (s >= 400 && s < 500) return s === 429 || s === 401 || s === 408 || s === 404;
  return true;
}

/** `litellm._should_retry`: 408, 409, 429 and 5xx are transient; other statuses are final. */
function retryableStatus(s: number): boolean {
  return s === 408 || s === 409 || s === 429 || s >= 500;
}

export interface CooldownInput {
  readonly cls: ErrorClass;
  readonly status: number | null;
  /** Deployments in the group. */
  readonly groupSize: number;
  /** This deployment's window, already including this failure. */
  readonly stats: FailureStats;
  /** `allowed_fails` when configured (enables the legacy rule), else null. */
  readonly allowedFails: number | null;
  readonly allowedFailsPolicy: AllowedFailsPolicy | null;
  /** Legacy rule: failures counted so far in its window (TTL = cooldown_time from the first). */
  readonly failedCallsInWindow: number;
  /** Resolved `cooldown_time` (request → deployment → router → 5 s), ms; 0 disables cooldowns. */
  readonly cooldownTimeMs: number;
  /**
   * True when `cooldownTimeMs` came from the request or the deployment: then it beats the
   * upstream's Retry-After, as in LiteLLM (`deployment_callback_on_failure`). Default false.
   */
  readonly cooldownTimeExplicit?: boolean;
  /** The upstream's Retry-After, ms. */
  readonly retryAfterMs: number | null;
  /** `router_settings.disable_cooldowns`. */
  readonly disabled: boolean;
  /** Wildcard deployments are never cooled (LiteLLM `provider_default_deployment_ids`). */
  readonly wildcard: boolean;
}

export interface CooldownDecision {
  /** How long to cool the deployment; 0 = not at all. */
  readonly coolMs: number;
  /** Legacy rule: count this failure in the deployment's failed-calls window. */
  readonly countFailedCall: boolean;
}

const noCooldown: CooldownDecision = { coolMs: 0, countFailedCall: false };

/**
 * Whether this failure cools the deployment and for how long: LiteLLM's
 * `_should_run_cooldown_logic` + `_is_cooldown_required` + `_should_cooldown_deployment`.
 *
 * Never: cooldowns disabled, a cooldown time of 0, a wildcard deployment, or a failure
 * `isCooldownRequired` rejects (connection errors, 400, 403, 409, 413, 422, ...).
 *
 * Legacy rule, when `allowed_fails` or `allowed_fails_policy` is set: cool once the failures
 * in the window exceed the limit (policy entry for the class, else allowed_fails, else 3);
 * otherwise count this one. Applies to single-deployment groups too.
 *
 * Default ("v2") rule, on this deployment's 60 s window: cool on a 429 when the group has
 * other deployments; when all of ≥1000 requests failed; when more than half of ≥5 requests
 * failed and the group has other deployments; and on a final status (401, 404), always.
 *
 * Length: the request's or deployment's cooldown_time, else the upstream's Retry-After
 * (capped at 5 min; ours, LiteLLM has no cap), else the router's cooldown_time.
 *
 * Where we differ: LiteLLM treats a policy value of 0 as unset (`or allowed_fails`); we honour
 * it (0 = cool on the first such failure). A Retry-After of 0 would disable LiteLLM's cooldown;
 * we treat it as absent. `router_settings.cooldown_time: 0` disables cooldowns here (LiteLLM
 * reads it as the 5 s default).
 */
export function cooldownMs(input: CooldownInput): CooldownDecision {
  const { cls, cooldownTimeMs } = input;
  if (input.disabled || cooldownTimeMs <= 0 || input.wildcard) return noCooldown;
  if (!isCooldownRequired(cls, input.status)) return noCooldown;
  const s = cooldownStatus(cls, input.status)!;
  const ra = input.retryAfterMs;
  const length = input.cooldownTimeExplicit !== true && ra !== null && ra > 0 ? Math.min(ra, MAX_RETRY_AFTER_COOLDOWN_MS) : cooldownTimeMs;

  if (input.allowedFails !== null || input.allowedFailsPolicy !== null) {
    const allowed = allowedFailsFromPolicy(cls, input.allowedFailsPolicy) ?? input.allowedFails ?? DEFAULT_ALLOWED_FAILS;
    return input.failedCallsInWindow + 1 > allowed ? { coolMs: length, countFailedCall: false } : { coolMs: 0, countFailedCall: true };
  }

  const { successes, failures } = input.stats;
  const total = successes + failures;
  const multi = input.groupSize > 1;
  const cool = (s === 429 && multi)
    || (total >= ALL_FAILED_MIN_REQUESTS && failures === total)
    || (multi && total >= FAILURE_THRESHOLD_MIN_REQUESTS && failures / total > FAILURE_THRESHOLD)
    || !retryableStatus(s);
  return cool ? { coolMs: length, countFailedCall: false } : noCooldown;
}

/**
 * Resolves `cooldown_time` for one failure: the request's → the deployment's → the router's
 * (already defaulted to 5 s). `explicit` feeds `CooldownInput.cooldownTimeExplicit`.
 *
 * Ours: a request's value is capped at the one the config would apply (deployment, else
 * router). A cooldown takes the deployment away from every client (and, through Redis, every
 * instance), so one request may shorten or skip its cooldown but never lengthen it.
 */
export function resolveCooldownTime(input: { readonly requestMs: number | null; readonly deploymentMs: number | null; readonly routerMs: number }): { ms: number; explicit: boolean } {
  if (input.requestMs !== null) return { ms: Math.min(input.requestMs, input.deploymentMs ?? input.routerMs), explicit: true };
  if (input.deploymentMs !== null) return { ms: input.deploymentMs, explicit: true };
  return { ms: input.routerMs, explicit: false };
}

/**
 * Half-open: when a cooldown ends, one probe request tests the deployment before full traffic
 * returns. A failed probe cools it again for twice as long as last time (at least `baseMs`),
 * up to `capMs`. (Ours: LiteLLM simply lets the cooldown key expire.)
 */
export function nextCooldownAfterProbeFailure(previousMs: number, baseMs: number, capMs = MAX_PROBE_COOLDOWN_MS): number {
  const next = Math.max(previousMs * 2, baseMs);
  return Math.min(next, Math.max(capMs, baseMs));
}

// --- helpers ------------------------------------------------------------------------------------

function describe(v: unknown): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return v === '' ? 'an empty string' : JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v;
}
