/**
 * scan.ts's validating scanner over a decoded string instead of bytes, for text that is
 * already a string or must become one (a small upstream answer, which crosses threads as a
 * string). Offsets are string (UTF-16) indices, so spans are cut with `slice` and never need a
 * second UTF-8 decode. String contents are jumped over with String's `indexOf`.
 *
 * Same contract as scan.ts: the whole grammar outside strings is checked (brackets, commas,
 * colons, numbers, literals) and the nesting depth, with the same depth count (MAX_JSON_DEPTH);
 * the characters inside strings are not. Errors are scan.ts's JsonScanError.
 */
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, DOT, MINUS, NINE, OPEN_BRACE, OPEN_BRACKET, PLUS, QUOTE, ZERO } from './chars.js';
import { JsonScanError, MAX_JSON_DEPTH } from './scan.js';

function unexpected(t: string, i: number): JsonScanError {
  if (i >= t.length) return new JsonScanError('Unexpected end of JSON input', i);
  return new JsonScanError(`Unexpected character ${JSON.stringify(t[i])} in JSON at position ${i}`, i);
}

/** The first index at or after `i` that is not JSON whitespace (t.length at the end). */
export function skipSpaceText(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** Just past the string whose opening quote is at `i`: the next `"` after an even run of backslashes. */
export function skipStringText(t: string, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = t.indexOf('"', from);
    if (q < 0) throw new JsonScanError('Unterminated string in JSON', t.length);
    let k = q - 1;
    while (k > i && t.charCodeAt(k) === BACKSLASH) k--;
    if (((q - 1 - k) & 1) === 0) return q + 1;
    from = q + 1;
  }
}

function skipDigits(t: string, i: number): number {
  const start = i;
  for (;;) {
    const c = t.charCodeAt(i);
    if (c >= ZERO && c <= NINE) i++;
    else break;
  }
  if (i === start) throw unexpected(t, i);
  return i;
}

function skipNumber(t: string, i: number): number {
  if (t.charCodeAt(i) === MINUS) i++;
  if (t.charCodeAt(i) === ZERO) i++;
  else i = skipDigits(t, i);
  if (t.charCodeAt(i) === DOT) i = skipDigits(t, i + 1);
  const e = t.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const s = t.charCodeAt(i);
    if (s === PLUS || s === MINUS) i++;
    i = skipDigits(t, i);
  }
  return i;
}

function skipLiteral(t: string, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) {
    if (t.charCodeAt(i + k) !== word.charCodeAt(k)) throw unexpected(t, i + k);
  }
  return i + word.length;
}

/** Just past the value that starts at `i` (no leading space). `depth`: the arrays/objects already open. */
export function skipValueText(t: string, i: number, depth: number): number {
  const c = t.charCodeAt(i);
  if (c === QUOTE) return skipStringText(t, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) return skipContainer(t, i, depth + 1);
  if (c === 0x74) return skipLiteral(t, i, 'true');
  if (c === 0x66) return skipLiteral(t, i, 'false');
  if (c === 0x6e) return skipLiteral(t, i, 'null');
  if (c === MINUS || (c >= ZERO && c <= NINE)) return skipNumber(t, i);
  throw unexpected(t, i);
}

function skipContainer(t: string, i: number, depth: number): number {
  if (depth > MAX_JSON_DEPTH) throw new JsonScanError(`JSON nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep`, i, 'depth');
  const isObject = t.charCodeAt(i) === OPEN_BRACE;
  const close = isObject ? CLOSE_BRACE : CLOSE_BRACKET;
  i = skipSpaceText(t, i + 1);
  if (t.charCodeAt(i) === close) return i + 1;
  for (;;) {
    if (isObject) {
      if (t.charCodeAt(i) !== QUOTE) throw unexpected(t, i);
      i = valueStart(t, skipStringText(t, i));
    }
    i = skipSpaceText(t, skipValueText(t, i, depth));
    const c = t.charCodeAt(i);
    if (c === close) return i + 1;
    if (c !== COMMA) throw unexpected(t, i);
    i = skipSpaceText(t, i + 1);
  }
}

/*
 * Walking one object's members (or, with firstElement/nextElement, an array's elements) for a
 * reader that handles some values itself:
 *   let k = firstKey(t, open);
 *   for (let end = 0; k >= 0; k = nextKey(t, end)) {
 *     let keyEnd = skipKeyText(t, k);
 *     const decoded = keyEnd < 0 ? keyText(t, k, (keyEnd = ~keyEnd)) : null;
 *     const v = valueStart(t, keyEnd);
 *     end = ...; // skipValueText(t, v, depth), or the reader's own walk of the value
 *   }
 * and when the loop ends `~k` is just past the object's `}`.
 */

/** The next key's opening quote after `i` (just past `{` or `,`), checked. */
function keyAt(t: string, i: number): number {
  i = skipSpaceText(t, i);
  if (t.charCodeAt(i) !== QUOTE) throw unexpected(t, i);
  return i;
}

/** The first key of the object whose `{` is at `open`, or `~end` (negative) when it is empty, `end` just past its `}`. */
export function firstKey(t: string, open: number): number {
  const i = skipSpaceText(t, open + 1);
  return t.charCodeAt(i) === CLOSE_BRACE ? ~(i + 1) : keyAt(t, i);
}

/** Where the value of the key ending at `keyEnd` starts (after its colon). */
export function valueStart(t: string, keyEnd: number): number {
  const i = skipSpaceText(t, keyEnd);
  if (t.charCodeAt(i) !== COLON) throw unexpected(t, i);
  return skipSpaceText(t, i + 1);
}

/** After a member's value ending at `valueEnd`: the next key, or `~end` (negative) when the object closes. */
export function nextKey(t: string, valueEnd: number): number {
  const i = skipSpaceText(t, valueEnd);
  const c = t.charCodeAt(i);
  if (c === CLOSE_BRACE) return ~(i + 1);
  if (c !== COMMA) throw unexpected(t, i);
  return keyAt(t, i + 1);
}

/** The first element of the array whose `[` is at `open`, or `~end` (negative) when it is empty. */
export function firstElement(t: string, open: number): number {
  const i = skipSpaceText(t, open + 1);
  return t.charCodeAt(i) === CLOSE_BRACKET ? ~(i + 1) : i;
}

/** After an element ending at `valueEnd`: the next element, or `~end` (negative) when the array closes. */
export function nextElement(t: string, valueEnd: number): number {
  const i = skipSpaceText(t, valueEnd);
  const c = t.charCodeAt(i);
  if (c === CLOSE_BRACKET) return ~(i + 1);
  if (c !== COMMA) throw unexpected(t, i);
  return skipSpaceText(t, i + 1);
}

/**
 * Just past the key whose opening quote is at `i`, or `~end` (negative) when the key holds
 * a backslash: then its name is not its text (`"\u006dodel"` is `model`); keyText reads it.
 * Keys are short: read character by character, so an escape is seen on the way.
 */
export function skipKeyText(t: string, i: number): number {
  for (let k = i + 1; k < t.length; k++) {
    const c = t.charCodeAt(k);
    if (c === QUOTE) return k + 1;
    if (c === BACKSLASH) return ~skipStringText(t, i);
  }
  throw new JsonScanError('Unterminated string in JSON', t.length);
}

/** The name of the escaped key spanning `start`..`end`, as JSON.parse reads it (a bad escape throws its SyntaxError). */
export function keyText(t: string, start: number, end: number): string {
  return JSON.parse(t.slice(start, end)) as string;
}

/**
 * Whether the key spanning `start`..`end` is `name`: `decoded` is keyText's reading of an
 * escaped key, null for a plain one (compared in place, nothing sliced).
 */
export function keyIs(t: string, start: number, end: number, decoded: string | null, name: string): boolean {
  return decoded === null ? end - start - 2 === name.length && t.startsWith(name, start + 1) : decoded === name;
}

/**
 * The string value spanning `start`..`end` (quotes included), as JSON.parse reads it; null
 * when the span is not a string or its contents are not valid JSON string text.
 */
export function stringAt(t: string, start: number, end: number): string | null {
  if (t.charCodeAt(start) !== QUOTE) return null;
  for (let k = start + 1; k < end - 1; k++) {
    const c = t.charCodeAt(k);
    if (c === BACKSLASH || c < 0x20) {
      try {
        return JSON.parse(t.slice(start, end)) as string;
      } catch {
        return null;
      }
    }
  }
  return t.slice(start + 1, end - 1);
}
