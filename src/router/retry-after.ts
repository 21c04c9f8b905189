/** The `Retry-After` value the proxy sends. */

/** The longest Retry-After the proxy sends: a day (larger values say nothing more useful). */
const MAX_RETRY_AFTER_HEADER_S = 86_400;

/** Whole seconds, 1 at least; an upstream's absurd Retry-After (a far-future date) stays a plain integer. */
export function retryAfterHeader(ms: number): string {
  return String(Math.min(Math.max(1, Math.ceil(ms / 1000)), MAX_RETRY_AFTER_HEADER_S));
}
