/**
 * Cooldown rules: whether a failure cools its deployment, for how long, and how a failed
 * half-open probe lengthens the next cooldown. Pure functions only: no I/O, no clock.
 */
import type { AllowedFailsPolicy } from '../../config/policies.js';
import { fromPolicy, type ErrorClass } from './classify.js';

// The policy's shape and the default length live in config/ (the loader validates them); re-exported for the router.
export { allowedFailsPolicyKeys, DEFAULT_COOLDOWN_MS, type AllowedFailsPolicy } from '../../config/policies.js';

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
