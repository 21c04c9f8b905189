import type { Candidate, PickContext, Picker } from './types.js';

/**
 * LiteLLM `cost-based-routing` (router_strategy/lowest_cost.py): the cheapest deployment by
 * input + output cost per token. The actor fills `costPerToken` the way LiteLLM does: the
 * deployment's own `input_cost_per_token` + `output_cost_per_token`, else the built-in price
 * (../prices.ts), else 5.0 + 5.0 so priced deployments win.
 *
 * Deliberately improved: LiteLLM sorts stably and takes the first of equally cheap
 * deployments, so one of them gets all the traffic until it hits a limit or a cooldown.
 * We break ties at random (reservoir, no allocation) so equally priced deployments share load.
 */
export const costBased: Picker = <C extends Candidate>(candidates: readonly C[], ctx: PickContext): C | null => {
  const n = candidates.length;
  if (n === 0) return null;
  if (n === 1) return candidates[0]!;
  let best = candidates[0]!;
  let ties = 1;
  for (let i = 1; i < n; i++) {
    const c = candidates[i]!;
    if (c.costPerToken < best.costPerToken) {
      best = c;
      ties = 1;
    } else if (c.costPerToken === best.costPerToken && ctx.random() * ++ties < 1) {
      best = c; // reservoir: each of k ties is kept with probability 1/k
    }
  }
  return best;
};
