import type { Candidate, PickContext, Picker } from './types.js';

/**
 * LiteLLM `usage-based-routing` and `usage-based-routing-v2` (router_strategy/lowest_tpm_rpm.py,
 * lowest_tpm_rpm_v2.py): the deployment that has used the fewest tokens in the current
 * 60-second window. Both versions rank the same way; they differ in how usage is counted and
 * which deployments are over their tpm/rpm limits, and that is the actor's job, not ours
 * (LiteLLM's selection-time skip `rpm_used + 1 >= rpm` is an off-by-one we do not copy).
 *
 * Deliberately improved: LiteLLM looks only at tokens. Tokens are counted when a response
 * ends, requests when it starts, so at the start of a burst every deployment still shows the
 * same tokens and LiteLLM lands the burst at random (v2) or on the first deployment (v1);
 * breaking token ties by requests counted spreads it evenly. Remaining ties are random, as
 * v2's `random.choice` does, with a reservoir so nothing is allocated.
 */
export const usageBased: Picker = <C extends Candidate>(candidates: readonly C[], ctx: PickContext): C | null => {
  const n = candidates.length;
  if (n === 0) return null;
  if (n === 1) return candidates[0]!;
  let best = candidates[0]!;
  let ties = 1;
  for (let i = 1; i < n; i++) {
    const c = candidates[i]!;
    if (c.windowTokens < best.windowTokens || (c.windowTokens === best.windowTokens && c.windowRequests < best.windowRequests)) {
      best = c;
      ties = 1;
    } else if (c.windowTokens === best.windowTokens && c.windowRequests === best.windowRequests && ctx.random() * ++ties < 1) {
      best = c; // reservoir: each of k ties is kept with probability 1/k
    }
  }
  return best;
};
