/**
 * The longest delay a Node timer holds. setTimeout/setInterval keep it in a signed 32-bit
 * integer: anything longer (or NaN) is replaced by 1 ms with a warning, so a "huge" timeout
 * fires at once. Every timer fed from config, a request or an upstream goes through
 * `timerDelay`, and the config loader clamps durations to `MAX_TIMER_MS` with a warning.
 */

/** 2^31 − 1 ms: about 24.8 days. */
export const MAX_TIMER_MS = 2_147_483_647;

/** `ms` as a timer can hold it: at most MAX_TIMER_MS (also for Infinity and NaN), at least 1. */
export function timerDelay(ms: number): number {
  if (ms >= 1 && ms <= MAX_TIMER_MS) return ms;
  return ms < 1 ? 1 : MAX_TIMER_MS;
}
