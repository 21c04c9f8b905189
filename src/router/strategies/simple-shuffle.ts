import type { Candidate, PickContext, Picker } from './types.js';

/**
 * LiteLLM's default strategy: weighted random. The weight field is chosen by looking at the
 * first candidate, as LiteLLM does (router_strategy/simple_shuffle.py): its `weight` if set,
 * else its `rpm`, else its `tpm`; candidates missing the chosen field weigh 0. Where LiteLLM
 * divides by a zero total, we fall back to a uniform pick.
 */
export const simpleShuffle: Picker = <C extends Candidate>(candidates: readonly C[], ctx: PickContext): C | null => {
  const n = candidates.length;
  if (n === 0) return null;
  if (n === 1) return candidates[0]!;
  const first = candidates[0]!;
  const field: 'weight' | 'rpm' | 'tpm' | null =
    first.weight !== null ? 'weight' : first.rpm !== null ? 'rpm' : first.tpm !== null ? 'tpm' : null;
  if (field !== null) {
    let total = 0;
    for (let i = 0; i < n; i++) total += Math.max(0, candidates[i]![field] ?? 0);
    if (total > 0) {
      let r = ctx.random() * total;
      for (let i = 0; i < n; i++) {
        const w = Math.max(0, candidates[i]![field] ?? 0);
        if (r < w) return candidates[i]!;
        r -= w;
      }
      // Floating-point remainder: the last candidate with a positive weight.
      for (let i = n - 1; i >= 0; i--) if ((candidates[i]![field] ?? 0) > 0) return candidates[i]!;
    }
  }
  return candidates[Math.floor(ctx.random() * n)]!;
};
