import type { Candidate, PickContext, Picker } from './types.js';

/**
 * Peak-EWMA with the power of two choices: our own strategy, and the one to pick for
 * self-hosted fleets (vLLM, TGI, Ollama…) whose speed depends on how loaded each server is.
 *
 * Draw two distinct candidates at random and keep the one with the lower cost
 * `ewmaMs × (inFlight + 1)`: Finagle's Peak-EWMA load metric (finagle-core
 * loadbalancer/PeakEwma), which estimates how long a new request would wait on that server.
 * Why it works well there:
 * - The EWMA jumps straight to a slow sample (the "peak"), so a server that turns slow or
 *   overloaded loses traffic within one request; it decays back as fast samples come in.
 * - Multiplying by requests in flight penalises a queue before its latency shows it.
 * - Two random choices (Mitzenmacher, "The Power of Two Choices in Randomized Load
 *   Balancing") give an exponentially better worst-case load than one random choice, while
 *   never sending every request to the single best server the way a global minimum does
 *   (no herding when many proxies share stale views), at O(1) per pick at any fleet size.
 * Prefer `simple-shuffle` for hosted APIs with rate limits, where load says little about speed.
 *
 * Reading decays the EWMA toward zero with the time since its last sample (Finagle's
 * `observe(0)` on read), so a server that was slow once and then sat idle is tried again
 * instead of being starved while others are busy.
 *
 * A candidate without an EWMA yet takes the other drawn candidate's EWMA (a cheap stand-in
 * for the fleet median), so it competes on in-flight count; with neither known, both count as
 * equally fast and the cost is `inFlight + 1`. An equal cost keeps the first drawn, which is
 * itself uniform, so equal candidates share load evenly.
 */
export const peakEwma: Picker = <C extends Candidate>(candidates: readonly C[], ctx: PickContext): C | null => {
  const n = candidates.length;
  if (n === 0) return null;
  if (n === 1) return candidates[0]!;
  const i = Math.floor(ctx.random() * n);
  let j = Math.floor(ctx.random() * (n - 1));
  if (j >= i) j++; // uniform over the n - 1 others: distinct without a retry loop
  const a = candidates[i]!;
  const b = candidates[j]!;
  let ea = decayed(a, ctx.now);
  let eb = decayed(b, ctx.now);
  if (ea === null) ea = eb;
  if (eb === null) eb = ea;
  if (ea === null || eb === null) return b.inFlight < a.inFlight ? b : a;
  return eb * (b.inFlight + 1) < ea * (a.inFlight + 1) ? b : a;
};

const DECAY_MS = 10_000;

function decayed(c: Candidate, now: number): number | null {
  if (c.ewmaMs === null) return null;
  if (c.ewmaUpdatedAt === null || now <= c.ewmaUpdatedAt) return c.ewmaMs;
  return c.ewmaMs * Math.exp(-(now - c.ewmaUpdatedAt) / DECAY_MS);
}

/**
 * Finagle's Peak-EWMA update, for the actor to call when a request finishes: a sample above
 * the current value replaces it at once (the peak); a lower one is blended in with weight
 * `1 − w`, `w = exp(−elapsed / decayMs)`, so the estimate falls back toward fast samples over
 * about `decayMs` of time whatever the request rate. `decayMs` defaults to Finagle's 10 s.
 *
 * A null previous value, or one without a timestamp, starts over from the sample. Elapsed
 * time below zero (samples settled out of order) counts as zero.
 */
export function updatePeakEwma(prevMs: number | null, prevAt: number | null, sampleMs: number, now: number, decayMs = DECAY_MS): number {
  if (prevMs === null || prevAt === null || sampleMs > prevMs) return sampleMs;
  const elapsed = now > prevAt ? now - prevAt : 0;
  const w = Math.exp(-elapsed / decayMs);
  return prevMs * w + sampleMs * (1 - w);
}
