/**
 * The few upstream response headers a client gets back, as LiteLLM relays them: the
 * upstream's `x-request-id`, `openai-processing-ms` and OpenAI's `x-ratelimit-*` as
 * `llm_provider-<name>`, and the `x-ratelimit-*` ones also under their own name (LiteLLM passes
 * a provider's rate-limit headers through), read straight from undici's raw header Buffers
 * (`relayedFromRaw`); nothing allocated when the upstream sent none of them. Also the one
 * reader of any other header there (`rawFind`, with `rawValue` and `rawIncludes` on top: a
 * stream's Content-Type, an error's Retry-After: `retryAfterOf`), for undici's callback handlers (raw-post.ts,
 * raw-stream.ts): only these names are ever decoded, not the 15-20 headers a real provider
 * sends with every answer.
 */

export const RATE_LIMIT = [
  'x-ratelimit-limit-requests', 'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests', 'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens',
] as const;
const PREFIXED = RATE_LIMIT.map((n) => `llm_provider-${n}`);

/** Longest value relayed: these are ids and numbers; anything longer is not what the name promises. */
export const MAX_VALUE = 256;

/** The names relayed, in their output order, and the pairs each one becomes. */
const NAMES: readonly string[] = ['x-request-id', 'openai-processing-ms', ...RATE_LIMIT];
const OUT: readonly (readonly string[])[] = [['llm_provider-x-request-id'], ['llm_provider-openai-processing-ms'], ...RATE_LIMIT.map((n, i) => [PREFIXED[i]!, n])];
const NAME_BYTES: readonly Buffer[] = NAMES.map(rawName);
/** Indices into NAMES by name length: a raw name of any other length is skipped unread. */
const BY_LENGTH: (number[] | undefined)[] = Array.from({ length: 64 }, () => undefined);
for (let k = 0; k < NAMES.length; k++) (BY_LENGTH[NAMES[k]!.length] ??= []).push(k);
/** The first value seen per name during one `relayedFromRaw` (always all undefined between calls). */
const seen: (Buffer | undefined)[] = NAMES.map(() => undefined);

/**
 * Whether raw header name `b`, of `want`'s length, is `want` (lower-case letters and `-`) in
 * any case. `| 0x20` folds only letters here: a header name is an HTTP token (llhttp rejects
 * anything else), and no other token byte lands on a lower-case letter or `-` that way.
 * (`want` as bytes: measured, a byte compare against a string's charCodeAt is slower.)
 */
function isName(b: Buffer, want: Buffer): boolean {
  for (let i = 0; i < want.length; i++) if ((b[i]! | 0x20) !== want[i]) return false;
  return true;
}

/** A header name (lower-case letters and `-`) as the raw readers below take it; made once, at load. */
export function rawName(name: string): Buffer {
  if (!/^[a-z-]+$/.test(name)) throw new Error(`not a lower-case header name: ${name}`);
  return Buffer.from(name, 'latin1');
}

/** `one`'s test on a raw value's bytes, before any string is made of them. */
function relayable(b: Buffer): boolean {
  if (b.length === 0 || b.length > MAX_VALUE) return false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x0d || c === 0x0a || c === 0) return false;
  }
  return true;
}

/**
 * Flat `[name, value, …]` pairs for the client from undici's raw headers (`[name, value, …]`
 * Buffers, names in the upstream's case), in NAMES' order; null when the upstream sent none of
 * them. A name sent twice counts with its first value; an empty value, one over MAX_VALUE or
 * one holding CR, LF or NUL is dropped, never relayed.
 */
export function relayedFromRaw(raw: readonly Buffer[]): string[] | null {
  let any = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const ks = BY_LENGTH[name.length];
    if (ks === undefined) continue;
    for (let j = 0; j < ks.length; j++) {
      const k = ks[j]!;
      if (isName(name, NAME_BYTES[k]!)) {
        if (seen[k] === undefined) seen[k] = raw[i + 1]!;
        any = true;
        break;
      }
    }
  }
  if (!any) return null;
  let out: string[] | null = null;
  for (let k = 0; k < NAMES.length; k++) {
    const b = seen[k];
    if (b === undefined) continue;
    seen[k] = undefined;
    if (!relayable(b)) continue;
    // latin1, as undici decodes header values: one char a byte, so `relayable`'s byte test is the string test.
    const v = b.toString('latin1');
    out ??= [];
    const names = OUT[k]!;
    for (let n = 0; n < names.length; n++) out.push(names[n]!, v);
  }
  return out;
}

/**
 * The index in raw headers of the first name at or after index `from` (a name's, so even) that
 * is `name` (from `rawName`) in any case; -1 when none. Decodes nothing.
 */
export function rawFind(raw: readonly Buffer[], name: Buffer, from = 0): number {
  for (let i = from; i < raw.length; i += 2) {
    const b = raw[i]!;
    if (b.length === name.length && isName(b, name)) return i;
  }
  return -1;
}

/** The first value of header `name` (from `rawName`) in raw headers, latin1-decoded; undefined when absent. */
export function rawValue(raw: readonly Buffer[], name: Buffer): string | undefined {
  const i = rawFind(raw, name);
  return i < 0 ? undefined : raw[i + 1]!.toString('latin1');
}

const RETRY_AFTER = rawName('retry-after');

/** An error answer's first Retry-After value, latin1-decoded; undefined when it sent none. */
export function retryAfterOf(raw: readonly Buffer[]): string | undefined {
  return rawValue(raw, RETRY_AFTER);
}

/**
 * Whether any value of header `name` (from `rawName`) in raw headers holds the bytes `part`: for
 * a latin1 `part`, what `String(parsed[name]).includes(part)` says of undici's parsed headers
 * (values latin1, a repeated name's joined by commas, which a `part` without one never spans).
 */
export function rawIncludes(raw: readonly Buffer[], name: Buffer, part: Buffer): boolean {
  for (let i = rawFind(raw, name); i >= 0; i = rawFind(raw, name, i + 2)) if (holds(raw[i + 1]!, part)) return true;
  return false;
}

/**
 * Whether `b` holds the bytes `part` (not empty). A plain loop: a header value is short, and
 * Buffer's `includes` costs ~100 ns a call in its argument checks and native hop (measured,
 * a 32-byte Content-Type: ~130 ns against ~30 ns).
 */
function holds(b: Buffer, part: Buffer): boolean {
  const n = part.length;
  const first = part[0]!;
  outer: for (let i = 0, last = b.length - n; i <= last; i++) {
    if (b[i] !== first) continue;
    for (let k = 1; k < n; k++) if (b[i + k] !== part[k]) continue outer;
    return true;
  }
  return false;
}

/** Whether relayed pairs carry a header named `name` (our computed x-ratelimit-* then step aside). */
export function carries(pairs: readonly string[], name: string): boolean {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === name) return true;
  return false;
}
