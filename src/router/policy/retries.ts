/**
 * Retry rules: how many retries, whether this failure is retried at all, and how long to wait
 * before the next attempt. Pure functions only: no I/O, no clock, randomness injected.
 * Every rule cites the LiteLLM behaviour it matches (router.py, router_utils/*, v1.81).
 */
import type { RetryPolicy } from '../../config/policies.js';
import { fromPolicy, type ErrorClass } from './classify.js';

// The policy's shape lives in config/ (the loader validates it); re-exported for the router.
export { retryPolicyKeys, type RetryPolicy } from '../../config/policies.js';

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
