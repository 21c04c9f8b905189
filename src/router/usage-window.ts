/**
 * Requests and tokens a deployment received in the last 60 seconds, in one-second buckets.
 *
 * The count is conservative: it covers the current second and the 60 before it in full, so
 * any 60-second window ending now is inside what is counted. A limit checked against it can
 * refuse up to a second early but can never let a deployment exceed its rpm in any window.
 * Buckets (rather than a log of timestamps) keep memory fixed whatever the rpm, and are the
 * unit a cluster shares through Redis: per-second counts add up across instances.
 */

export const WINDOW_SECONDS = 60;
/** The current second plus the 60 before it. */
const BUCKETS = WINDOW_SECONDS + 1;

export class UsageWindow {
  readonly #second = new Float64Array(BUCKETS).fill(-1);
  readonly #requests = new Float64Array(BUCKETS);
  readonly #tokens = new Float64Array(BUCKETS);
  #sumRequests = 0;
  #sumTokens = 0;
  /** The newest second seen; buckets older than it − 60 have been dropped from the sums. */
  #head = -1;

  /** Drops buckets that fell out of the window as of `nowMs`. */
  #advance(nowMs: number): number {
    const s = Math.floor(nowMs / 1000);
    if (s === this.#head) return s;
    if (s > this.#head) {
      const oldest = s - WINDOW_SECONDS;
      for (let i = 0; i < BUCKETS; i++) {
        const b = this.#second[i]!;
        if (b !== -1 && b < oldest) {
          this.#sumRequests -= this.#requests[i]!;
          this.#sumTokens -= this.#tokens[i]!;
          this.#second[i] = -1;
          this.#requests[i] = 0;
          this.#tokens[i] = 0;
        }
      }
      this.#head = s;
    }
    return s;
  }

  #bucket(s: number): number {
    const i = s % BUCKETS;
    if (this.#second[i] !== s) {
      // A stale occupant was already dropped by #advance unless `s` is older than head (clock skew from remote data).
      if (this.#second[i] !== -1) {
        this.#sumRequests -= this.#requests[i]!;
        this.#sumTokens -= this.#tokens[i]!;
      }
      this.#second[i] = s;
      this.#requests[i] = 0;
      this.#tokens[i] = 0;
    }
    return i;
  }

  add(nowMs: number, requests: number, tokens: number): void {
    const s = this.#advance(nowMs);
    const i = this.#bucket(s);
    this.#requests[i]! += requests;
    this.#tokens[i]! += tokens;
    this.#sumRequests += requests;
    this.#sumTokens += tokens;
  }

  requests(nowMs: number): number {
    this.#advance(nowMs);
    return this.#sumRequests;
  }

  tokens(nowMs: number): number {
    this.#advance(nowMs);
    return this.#sumTokens;
  }

  /**
   * Milliseconds until the counted total drops below `limit` as old buckets leave the window
   * (0 when it already is). `pick` chooses requests or tokens.
   */
  msUntilBelow(limit: number, nowMs: number, pick: 'requests' | 'tokens'): number {
    const s = this.#advance(nowMs);
    const counts = pick === 'requests' ? this.#requests : this.#tokens;
    let total = pick === 'requests' ? this.#sumRequests : this.#sumTokens;
    if (total < limit) return 0;
    // Walk the buckets oldest first; bucket b leaves the window when second b + 61 begins.
    for (let age = WINDOW_SECONDS; age >= 0; age--) {
      const sec = s - age;
      const i = sec % BUCKETS;
      if (this.#second[i] !== sec) continue;
      total -= counts[i]!;
      if (total < limit) return Math.max(0, (sec + BUCKETS) * 1000 - nowMs);
    }
    return (s + BUCKETS) * 1000 - nowMs;
  }
}
