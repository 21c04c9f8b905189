/**
 * The picker seam. Eligibility (cooldown, limits, tier, already tried) is decided before a
 * picker runs, so every picker sees only candidates it may choose. Pickers are pure:
 * time and randomness come in through the context so tests are deterministic.
 */

/** The read-only view of one deployment a picker ranks. */
export interface Candidate {
  readonly id: string;
  readonly weight: number | null;
  readonly rpm: number | null;
  readonly tpm: number | null;
  /** Requests in flight right now (a stream counts until its last byte). */
  readonly inFlight: number;
}

export interface PickContext {
  /** Milliseconds, monotonic within a process. */
  readonly now: number;
  /** Uniform in [0, 1). */
  readonly random: () => number;
}

export type Picker = <C extends Candidate>(candidates: readonly C[], ctx: PickContext) => C | null;
