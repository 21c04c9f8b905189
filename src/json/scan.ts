/**
 * A validating JSON scanner over bytes that finds values without building them. The proxy
 * forwards what it does not need to read: a chat body's `messages` (most of its bytes) is
 * checked for well-formedness and copied, never turned into objects. String contents are
 * jumped over with Buffer's native `indexOf`, so a long prompt costs little more than a copy.
 *
 * What is checked: the whole grammar outside strings (brackets, commas, colons, numbers,
 * literals, nothing after the value) and the nesting depth. What is not: the characters
 * inside strings (escapes, raw control characters); whoever parses a value checks those —
 * the proxy for the small values it reads, the upstream for the rest.
 */
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, DOT, MINUS, NINE, OPEN_BRACE, OPEN_BRACKET, PLUS, QUOTE, ZERO } from './chars.js';

/** Deepest array/object nesting accepted. Real chat bodies (tools with JSON schemas included) stay far below it. */
export const MAX_JSON_DEPTH = 128;

/** Malformed JSON text: what was wrong and the byte offset where it was found. */
export class JsonScanError extends Error {
  /** `depth`: well-formed so far, but nested deeper than MAX_JSON_DEPTH. */
  constructor(message: string, readonly at: number, readonly kind: 'syntax' | 'depth' = 'syntax') {
    super(message);
  }
}

/** The members of one object, in order (duplicates included, as written). Offsets are byte offsets. */
export interface Members {
  readonly names: string[];
  /** Offset of each member's key (its opening quote). */
  readonly keyStarts: number[];
  /** Offset of each value's first byte and just past its last. */
  readonly valueStarts: number[];
  readonly valueEnds: number[];
  /** Offset of the object's `{` and just past its `}`. */
  readonly start: number;
  readonly end: number;
}

/** A Buffer over the same memory (no copy), for its native `indexOf`. */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(b: Buffer, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

function unexpected(b: Buffer, i: number): JsonScanError {
  if (i >= b.length) return new JsonScanError('Unexpected end of JSON input', i);
  const c = b[i]!;
  const shown = c >= 0x20 && c < 0x7f ? `token ${String.fromCharCode(c)}` : `byte 0x${c.toString(16).padStart(2, '0')}`;
  return new JsonScanError(`Unexpected ${shown} in JSON at position ${i}`, i);
}

/** Just past the string whose opening quote is at `i`: the next `"` after an even run of backslashes. */
export function skipString(b: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, from);
    if (q < 0) throw new JsonScanError('Unterminated string in JSON', b.length);
    let k = q - 1;
    while (k > i && b[k] === BACKSLASH) k--;
    if (((q - 1 - k) & 1) === 0) return q + 1;
    from = q + 1;
  }
}

function skipDigits(b: Buffer, i: number): number {
  const start = i;
  while (i < b.length && b[i]! >= ZERO && b[i]! <= NINE) i++;
  if (i === start) throw unexpected(b, i);
  return i;
}

function skipNumber(b: Buffer, i: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) i++;
  else i = skipDigits(b, i);
  if (b[i] === DOT) i = skipDigits(b, i + 1);
  const e = b[i];
  if (e === 0x65 || e === 0x45) {
    i++;
    if (b[i] === PLUS || b[i] === MINUS) i++;
    i = skipDigits(b, i);
  }
  return i;
}

function skipLiteral(b: Buffer, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) {
    if (b[i + k] !== word.charCodeAt(k)) throw unexpected(b, i + k);
  }
  return i + word.length;
}

/** Just past the value that starts at `i` (no leading space). `depth`: the arrays/objects already open. */
export function skipValue(b: Buffer, i: number, depth: number = 0): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) return skipContainer(b, i, depth + 1);
  if (c === 0x74) return skipLiteral(b, i, 'true');
  if (c === 0x66) return skipLiteral(b, i, 'false');
  if (c === 0x6e) return skipLiteral(b, i, 'null');
  if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) return skipNumber(b, i);
  throw unexpected(b, i);
}

function skipContainer(b: Buffer, i: number, depth: number): number {
  if (depth > MAX_JSON_DEPTH) throw new JsonScanError(`JSON nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep`, i, 'depth');
  const isObject = b[i] === OPEN_BRACE;
  const close = isObject ? CLOSE_BRACE : CLOSE_BRACKET;
  i = skipSpace(b, i + 1);
  if (b[i] === close) return i + 1;
  for (;;) {
    if (isObject) {
      if (b[i] !== QUOTE) throw unexpected(b, i);
      i = skipSpace(b, skipString(b, i));
      if (b[i] !== COLON) throw unexpected(b, i);
      i = skipSpace(b, i + 1);
    }
    i = skipSpace(b, skipValue(b, i, depth));
    const c = b[i];
    if (c === close) return i + 1;
    if (c !== COMMA) throw unexpected(b, i);
    i = skipSpace(b, i + 1);
  }
}

/** A key's text: the bytes between its quotes, unescaped only when it holds an escape. */
function keyName(b: Buffer, start: number, end: number): string {
  const raw = b.toString('utf8', start + 1, end - 1);
  return raw.includes('\\') ? (JSON.parse(b.toString('utf8', start, end)) as string) : raw;
}

/**
 * The members of the object at `start` (leading space allowed), every value checked. With
 * `whole`, the object must be all of `b` (only space may follow). Throws JsonScanError; a
 * valid value that is not an object is reported as `null`.
 */
export function scanObject(b: Buffer, start: number = 0, end: number = b.length, whole: boolean = true): Members | null {
  const names: string[] = [];
  const keyStarts: number[] = [];
  const valueStarts: number[] = [];
  const valueEnds: number[] = [];
  let i = skipSpace(b, start);
  const open = i;
  if (b[i] !== OPEN_BRACE) {
    const after = skipSpace(b, skipValue(b, i));
    if (whole && after < end) throw unexpected(b, after);
    return null;
  }
  i = skipSpace(b, i + 1);
  if (b[i] !== CLOSE_BRACE) {
    for (;;) {
      if (b[i] !== QUOTE) throw unexpected(b, i);
      const keyEnd = skipString(b, i);
      keyStarts.push(i);
      names.push(keyName(b, i, keyEnd));
      i = skipSpace(b, keyEnd);
      if (b[i] !== COLON) throw unexpected(b, i);
      i = skipSpace(b, i + 1);
      valueStarts.push(i);
      i = skipValue(b, i, 1);
      valueEnds.push(i);
      i = skipSpace(b, i);
      if (b[i] === CLOSE_BRACE) break;
      if (b[i] !== COMMA) throw unexpected(b, i);
      i = skipSpace(b, i + 1);
    }
  }
  const close = i + 1;
  if (whole) {
    const after = skipSpace(b, close);
    if (after < end) throw unexpected(b, after);
  }
  return { names, keyStarts, valueStarts, valueEnds, start: open, end: close };
}

/** Index of the last member named `name`, or -1 (JSON.parse keeps the last of duplicates). */
export function lastMember(m: Members, name: string): number {
  return m.names.lastIndexOf(name);
}

/** The span of an array's first element (the array's `[` at `start`), or null when empty or not an array. */
export function firstElement(b: Buffer, start: number): { start: number; end: number } | null {
  if (b[start] !== OPEN_BRACKET) return null;
  const s = skipSpace(b, start + 1);
  if (b[s] === CLOSE_BRACKET) return null;
  return { start: s, end: skipValue(b, s, 1) };
}
