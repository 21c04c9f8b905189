import type { Candidate, PickContext, Picker } from './types.js';

/**
 * LiteLLM `least-busy` (router_strategy/least_busy.py): fewest requests in flight. Ties are
 * broken at random with a one-pass reservoir, so equal deployments share load instead of the
 * first one taking it all.
 *
 * Deliberately improved: LiteLLM takes the minimum over its whole request-count dict, which
 * can name a deployment that is cooling down, and then falls back to `random.choice(healthy)`,
 * ignoring load altogether. Here the actor has already removed ineligible deployments, so the
 * minimum is always taken among the ones we may use.
 */
export const leastBusy: Picker = <C extends Candidate>(candidates: readonly C[], ctx: PickContext): C | null => {
  const n = candidates.length;
  if (n === 0) return null;
  if (n === 1) return candidates[0]!;
  let best = candidates[0]!;
  let ties = 1;
  for (let i = 1; i < n; i++) {
    const c = candidates[i]!;
    if (c.inFlight < best.inFlight) {
      best = c;
      ties = 1;
    } else if (c.inFlight === best.inFlight && ctx.random() * ++ties < 1) {
      // Reservoir: the k-th tie replaces the choice with probability 1/k, so each tie ends
      // up chosen with probability 1/(number of ties).
      best = c;
    }
  }
  return best;
};
