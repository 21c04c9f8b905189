/**
 * What a request may ask of the router about its own retries, fallbacks, timeouts and
 * cooldown: `num_retries` (or header `x-litellm-num-retries`), `max_fallbacks`, `timeout` /
 * `request_timeout` (or `x-litellm-timeout`), `stream_timeout` (or `x-litellm-stream-timeout`)
 * and `cooldown_time`, read once per request.
 *
 * A value that is present but unusable (negative, zero where a duration is needed, a fraction
 * where a count is, NaN, words) is a problem the plan answers with a 400 naming it. A usable
 * one is bounded, so no request can make the proxy do unbounded work:
 *
 *   - `num_retries` up to MAX_REQUEST_NUM_RETRIES, or the configured `num_retries` when higher;
 *   - `max_fallbacks` up to MAX_REQUEST_FALLBACKS, or the configured `max_fallbacks` when higher;
 *   - timeouts longer than a timer can hold (about 24.8 days) are clamped to MAX_TIMER_MS;
 *   - `cooldown_time` is clamped to MAX_TIMER_MS here, and to the cooldown the config would
 *     apply by policy.resolveCooldownTime (a request may shorten its cooldown, not lengthen it).
 */
import type { ReliabilitySettings } from '../config/types.js';
import { MAX_TIMER_MS } from '../timer-delay.js';
import { parseRetryCount } from './policy/retries.js';
import type { RequestHints } from './types.js';

/** Retries a request may ask for when the config allows fewer. */
export const MAX_REQUEST_NUM_RETRIES = 10;
/** Fallbacks a request may ask for when the config allows fewer. */
export const MAX_REQUEST_FALLBACKS = 10;

export interface RequestLimits {
  /** The request's `num_retries`, bounded; null = not asked (the config decides). */
  readonly numRetries: number | null;
  /** The request's `max_fallbacks`, bounded; null = not asked. */
  readonly maxFallbacks: number | null;
  /** The request's timeout, ms; null = the deployment's. */
  readonly timeoutMs: number | null;
  /** The request's stream timeout (its own, else its timeout), ms; null = the deployment's. */
  readonly streamTimeoutMs: number | null;
  /** The request's `cooldown_time`, ms (0 = no cooldown); null = not asked. */
  readonly cooldownTimeMs: number | null;
  /** What could not be used, as `name: why` (answered with a 400 before any attempt). */
  readonly problems: readonly string[];
  /** The body field the first problem names (the 400's `param`), or null for a header. */
  readonly param: string | null;
}

const none: RequestLimits = { numRetries: null, maxFallbacks: null, timeoutMs: null, streamTimeoutMs: null, cooldownTimeMs: null, problems: [], param: null };

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

/** Seconds as a number or a numeric string; NaN when it is neither. Infinity is a number (clamped later). */
function secondsOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v.trim());
  return Number.NaN;
}

function shown(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? (Array.isArray(v) ? 'a list' : 'an object') : String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

class Reader {
  readonly problems: string[] = [];
  param: string | null = null;

  #fail(name: string, isHeader: boolean, what: string, v: unknown): null {
    if (this.problems.length === 0) this.param = isHeader ? null : name;
    this.problems.push(`${isHeader ? `header ${name}` : name} must be ${what}, got ${shown(v)}`);
    return null;
  }

  /** A duration in seconds, as ms: > 0 (or ≥ 0 with `zeroOk`), clamped to what a timer holds. */
  duration(name: string, v: unknown, isHeader: boolean, zeroOk = false): number | null {
    if (!present(v)) return null;
    const n = secondsOf(v);
    if (Number.isNaN(n) || (zeroOk ? n < 0 : n <= 0)) {
      return this.#fail(name, isHeader, zeroOk ? 'a non-negative number of seconds' : 'a positive number of seconds', v);
    }
    const ms = n * 1000;
    return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms;
  }

  /** A count (non-negative integer, or a string of one), at most `ceiling`. */
  count(name: string, v: unknown, isHeader: boolean, ceiling: number): number | null {
    if (!present(v)) return null;
    const n = parseRetryCount(v);
    if (n === null) return this.#fail(name, isHeader, 'a non-negative integer', v);
    return Math.min(n, ceiling);
  }
}

/** Reads and bounds what the request asks for; body fields beat the LiteLLM headers. */
export function readRequestLimits(json: Readonly<Record<string, unknown>>, hints: RequestHints, r: ReliabilitySettings): RequestLimits {
  const { num_retries, max_fallbacks, timeout, request_timeout, stream_timeout, cooldown_time } = json;
  if (
    num_retries === undefined && max_fallbacks === undefined && timeout === undefined && request_timeout === undefined
    && stream_timeout === undefined && cooldown_time === undefined && hints.numRetries === '' && hints.timeout === ''
    && hints.streamTimeout === ''
  ) {
    return none;
  }
  const read = new Reader();
  const retryCeiling = Math.max(MAX_REQUEST_NUM_RETRIES, r.numRetries ?? 0);
  const numRetries = present(num_retries)
    ? read.count('num_retries', num_retries, false, retryCeiling)
    : read.count('x-litellm-num-retries', hints.numRetries, true, retryCeiling);
  const maxFallbacks = read.count('max_fallbacks', max_fallbacks, false, Math.max(MAX_REQUEST_FALLBACKS, r.maxFallbacks));
  // Every timeout given is checked, even one a higher-priority field hides: a typo still gets a 400.
  const bodyTimeout = read.duration('timeout', timeout, false);
  const bodyRequestTimeout = read.duration('request_timeout', request_timeout, false);
  const headerTimeout = read.duration('x-litellm-timeout', hints.timeout, true);
  const timeoutMs = bodyTimeout ?? bodyRequestTimeout ?? headerTimeout;
  const bodyStream = read.duration('stream_timeout', stream_timeout, false);
  const headerStream = read.duration('x-litellm-stream-timeout', hints.streamTimeout, true);
  const cooldownTimeMs = read.duration('cooldown_time', cooldown_time, false, true);
  return {
    numRetries,
    maxFallbacks,
    timeoutMs,
    streamTimeoutMs: bodyStream ?? headerStream ?? timeoutMs,
    cooldownTimeMs,
    problems: read.problems,
    param: read.param,
  };
}
