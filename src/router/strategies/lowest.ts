import type { Candidate, PickContext } from './types.js';

/**
 * The candidate with the lowest `key`, ties broken at random by reservoir sampling (the k-th
 * tie replaces the choice with probability 1/k, so every tie ends up equally likely) without
 * allocating. `key` should be a module-level function, so no closure is made per pick.
 */
export function lowest<C extends Candidate>(candidates: readonly C[], ctx: PickContext, key: (c: Candidate) => number): C | null {
  const n = candidates.length;
  if (n === 0) return null;
  if (n === 1) return candidates[0]!;
  let best = candidates[0]!;
  let bestKey = key(best);
  let ties = 1;
  for (let i = 1; i < n; i++) {
    const c = candidates[i]!;
    const k = key(c);
    if (k < bestKey) {
      best = c;
      bestKey = k;
      ties = 1;
    } else if (k === bestKey && ctx.random() * ++ties < 1) {
      best = c;
    }
  }
  return best;
}
