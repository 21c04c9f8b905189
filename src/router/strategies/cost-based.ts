import { lowest } from './lowest.js';
import type { Candidate, PickContext, Picker } from './types.js';

/**
 * LiteLLM `cost-based-routing` (router_strategy/lowest_cost.py): the cheapest deployment by
 * input + output cost per token. The actor fills `costPerToken` the way LiteLLM does: the
 * deployment's own `input_cost_per_token` + `output_cost_per_token`, else the built-in price
 * (config/prices.ts), else 5.0 + 5.0 so priced deployments win.
 *
 * Deliberately improved: LiteLLM sorts stably and takes the first of equally cheap
 * deployments, so one of them gets all the traffic until it hits a limit or a cooldown.
 * We break ties at random (reservoir, no allocation) so equally priced deployments share load.
 */
const cost = (c: Candidate): number => c.costPerToken;

export const costBased: Picker = <C extends Candidate>(candidates: readonly C[], ctx: PickContext): C | null => lowest(candidates, ctx, cost);
