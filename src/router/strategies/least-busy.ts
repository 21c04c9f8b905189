import { lowest } from './lowest.js';
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
const inFlight = (c: Candidate): number => c.inFlight;

export const leastBusy: Picker = <C extends Candidate>(candidates: readonly C[], ctx: PickContext): C | null => lowest(candidates, ctx, inFlight);
