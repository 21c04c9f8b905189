/** Did-you-mean for config names and keys: the closest known spelling by edit distance, or none. */

/** A did-you-mean for a name: only one a few edits away relative to its length, so short names get no wild guesses. */
export function closeName(input: string, names: readonly string[]): string | null {
  const s = suggest(input, names);
  if (s === null) return null;
  const d = editDistance(input.toLowerCase(), s.toLowerCase());
  return d <= Math.max(1, Math.floor(Math.min(input.length, s.length) / 3)) ? s : null;
}

/** A did-you-mean for a CamelCase key (`RateLimitErrorRetry` → `RateLimitErrorRetries`): case-insensitive, at most 3 edits. */
export function closeKey(input: string, keys: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 4;
  for (const k of keys) {
    const d = editDistance(input.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Closest known name: equal once `_`→`-` and case are normalised, else within edit distance 3. */
export function suggest(input: string, names: readonly string[]): string | null {
  const norm = (s: string): string => s.trim().toLowerCase().replace(/[_\s]+/g, '-');
  const n = norm(input);
  const exact = names.find((name) => norm(name) === n);
  if (exact !== undefined) return exact;
  let best: string | null = null;
  let bestDistance = 4;
  for (const name of names) {
    const d = editDistance(n, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
