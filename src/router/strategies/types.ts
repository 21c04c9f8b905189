/**
 * The picker seam. Eligibility (cooldown, limits, concurrency caps, priority tier, already
 * tried) is decided by the group actor before a picker runs, so every picker sees only
 * candidates it may choose. Pickers are pure: time and randomness come in through the
 * context so tests are deterministic, and they never allocate beyond what they return.
 */

/** The read-only view of one deployment a picker ranks (getters on DeploymentState). The actor refreshes it before each pick. */
export interface Candidate {
  readonly id: string;
  readonly weight: number | null;
  readonly rpm: number | null;
  readonly tpm: number | null;
  /** Requests in flight right now (a stream counts until its last byte). */
  readonly inFlight: number;
  /** Requests counted in the current 60-second usage window. */
  readonly windowRequests: number;
  /** Tokens (prompt + completion) counted in the current 60-second usage window. */
  readonly windowTokens: number;
  /**
   * Mean of recent latency samples, seconds per output token (raw seconds when a response
   * reported no tokens), as LiteLLM's lowest_latency keeps them; null with no samples.
   */
  readonly latencyScore: number | null;
  /** Mean of recent time-to-first-token samples (streams), seconds per output token; null with none. */
  readonly ttftScore: number | null;
  /** `ctx.now` of the newest latency sample; null with none (lets a picker expire stale data). */
  readonly latencyUpdatedAt: number | null;
  /** Peak-EWMA of request latency in ms (jumps up to a slow sample, decays toward fast ones); null with none. */
  readonly ewmaMs: number | null;
  /** `ctx.now` when `ewmaMs` was last updated; null with none. */
  readonly ewmaUpdatedAt: number | null;
  /** Input + output cost per token, USD. */
  readonly costPerToken: number;
}

export interface PickContext {
  /**
   * The router's clock, epoch milliseconds (`RouterOptions.now`, Date.now by default): wall-clock
   * so usage windows line up across instances, hence not monotonic (it can step back).
   */
  readonly now: number;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** The request streams (latency-based routing ranks by time to first token then). */
  readonly stream: boolean;
}

export type Picker = <C extends Candidate>(candidates: readonly C[], ctx: PickContext) => C | null;
