/**
 * Finds one top-level member of a JSON object in text without building it: keys are read,
 * values skipped (strings by jumping to their closing quote). For hot paths that need one field
 * of a small object (an upstream's SSE chunk), where parsing the whole object would cost more
 * than the rest of the work. It does not validate: on text it cannot follow it answers null.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function skipSpace(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** Just past the string whose opening quote is at `i`, or -1. */
function skipString(t: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = t.indexOf('"', from);
    if (q < 0) return -1;
    let k = q - 1;
    while (k > i && t.charCodeAt(k) === BACKSLASH) k--;
    if (((q - 1 - k) & 1) === 0) return q + 1;
    from = q + 1;
  }
}

/** Just past the value at `i` (no leading space), or -1. */
function skipValue(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === QUOTE) return skipString(t, i);
  if (c === 0x7b || c === 0x5b) {
    // Brackets counted, strings jumped; nesting needs no stack when nothing is validated.
    let depth = 0;
    for (let k = i; k < t.length; k++) {
      const d = t.charCodeAt(k);
      if (d === QUOTE) {
        k = skipString(t, k) - 1;
        if (k < 0) return -1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        if (--depth === 0) return k + 1;
      }
    }
    return -1;
  }
  // A number or a literal: up to the next delimiter.
  let k = i;
  while (k < t.length) {
    const d = t.charCodeAt(k);
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    k++;
  }
  return k > i ? k : -1;
}

/**
 * The span of the value of top-level member `name` in object text `t`. Null when the object
 * cannot be followed, has no such member or more than one, has a key named in `refuse`, or has
 * any key written with an escape (`"\u0065rror"` is `error`: the caller's view of the keys
 * would be wrong). The whole top level is read; values are skipped, not checked.
 */
export function findMember(t: string, name: string, refuse: readonly string[] = []): { start: number; end: number } | null {
  let i = skipSpace(t, 0);
  if (t.charCodeAt(i) !== 0x7b) return null;
  i = skipSpace(t, i + 1);
  let found: { start: number; end: number } | null = null;
  if (t.charCodeAt(i) === 0x7d) return null;
  for (;;) {
    if (t.charCodeAt(i) !== QUOTE) return null;
    const keyEnd = skipString(t, i);
    if (keyEnd < 0) return null;
    const key = t.slice(i + 1, keyEnd - 1);
    if (key.includes('\\') || refuse.includes(key)) return null;
    i = skipSpace(t, keyEnd);
    if (t.charCodeAt(i) !== 0x3a) return null;
    i = skipSpace(t, i + 1);
    const end = skipValue(t, i);
    if (end < 0) return null;
    if (key === name) {
      if (found !== null) return null;
      found = { start: i, end };
    }
    i = skipSpace(t, end);
    const c = t.charCodeAt(i);
    if (c === 0x7d) return found;
    if (c !== 0x2c) return null;
    i = skipSpace(t, i + 1);
  }
}
