import type { Candidate, PickContext, Picker } from './types.js';

export interface LatencyBasedOptions {
  /** LiteLLM `routing_strategy_args.lowest_latency_buffer`: pick among scores ≤ best × (1 + buffer). Default 0. */
  readonly bufferFraction?: number;
  /** LiteLLM `routing_strategy_args.ttl` in ms: older samples count as no data. Default 3,600,000 (1 h). */
  readonly ttlMs?: number;
}

/** LiteLLM's defaults (router_strategy/lowest_latency.py `RoutingArgs`). */
export const DEFAULT_LATENCY_BUFFER = 0;
export const DEFAULT_LATENCY_TTL_MS = 3_600_000;

/**
 * LiteLLM `latency-based-routing` (router_strategy/lowest_latency.py). A candidate's score is
 * its mean time to first token when the request streams and it has TTFT samples, else its mean
 * latency (both seconds per output token, kept by the actor). The picker finds the best score,
 * then picks uniformly among candidates within `best × (1 + bufferFraction)`, as LiteLLM does.
 *
 * Matched: buffer semantics and default (0 → only the equal-best share), 1 h TTL, TTFT for
 * streams. Deliberately improved:
 * - A candidate without data (new, or its samples older than the TTL) gets LiteLLM score 0
 *   there and takes every request until it has data; here it gets the best known score, so it
 *   joins the random set and is tried without flooding it, nor starved.
 * - LiteLLM expires the whole group's map 1 h after the last write to any deployment; we
 *   expire each candidate's samples on its own `latencyUpdatedAt`.
 * - LiteLLM divides the TTFT sum by the latency list length; the actor keeps a true mean.
 *
 * Two passes and no allocation: find the best known score, then reservoir-sample among the
 * candidates within the bound.
 */
export function createLatencyBased(opts: LatencyBasedOptions = {}): Picker {
  const buffer = opts.bufferFraction ?? DEFAULT_LATENCY_BUFFER;
  const ttlMs = opts.ttlMs ?? DEFAULT_LATENCY_TTL_MS;
  if (!(buffer >= 0) || buffer === Infinity) throw new RangeError(`latency-based routing: bufferFraction must be a finite number ≥ 0, got ${buffer}`);
  if (!(ttlMs > 0)) throw new RangeError(`latency-based routing: ttlMs must be > 0, got ${ttlMs}`);
  const factor = 1 + buffer;

  /**
   * The candidate's score, or -1 for no usable data (scores are durations, never negative).
   * A score without a timestamp cannot be aged; it is trusted rather than discarded.
   */
  const score = (c: Candidate, now: number, stream: boolean): number => {
    if (c.latencyUpdatedAt !== null && now - c.latencyUpdatedAt > ttlMs) return -1;
    const s = stream && c.ttftScore !== null ? c.ttftScore : c.latencyScore;
    return s === null || !(s >= 0) ? -1 : s;
  };

  return <C extends Candidate>(candidates: readonly C[], ctx: PickContext): C | null => {
    const n = candidates.length;
    if (n === 0) return null;
    if (n === 1) return candidates[0]!;
    const now = ctx.now;
    const stream = ctx.stream;
    let best = Infinity;
    for (let i = 0; i < n; i++) {
      const s = score(candidates[i]!, now, stream);
      if (s >= 0 && s < best) best = s;
    }
    // No candidate has data: nothing to rank by, spread uniformly.
    if (best === Infinity) return candidates[Math.floor(ctx.random() * n)]!;
    // Reservoir-sample those within the bound: the k-th is kept with probability 1/k.
    // A candidate without data (-1) stands in as the best known score, always within the bound.
    const bound = best * factor;
    let chosen: C | null = null;
    let seen = 0;
    for (let i = 0; i < n; i++) {
      const c = candidates[i]!;
      if (score(c, now, stream) <= bound && ctx.random() * ++seen < 1) chosen = c;
    }
    // Never null: the best-scoring candidate is within the bound.
    return chosen;
  };
}

/** `latency-based-routing` with LiteLLM's defaults (buffer 0, TTL 1 h). */
export const latencyBased: Picker = createLatencyBased();
