/**
 * A cheap guard against deeply nested JSON, run before the body is parsed: deep nesting parses
 * on the main thread but overflows the stack of whatever walks the value recursively later
 * (the worker's parse, token counting), which used to surface as an upstream outage and be
 * retried. No second parse: a body with few brackets is cleared by counting them, any other
 * gets one pass counting `[`/`{` depth outside strings, jumping over string contents with
 * Buffer's native `indexOf`. Either costs less than the parse it protects.
 */

/** Deepest array/object nesting a request body may have. Real chat bodies (tools with JSON schemas included) stay far below it. */
export const MAX_JSON_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** True when `body`, read as JSON text, opens more than `max` arrays/objects at once. Malformed text is left to the parser. */
export function exceedsJsonDepth(body: Uint8Array, max: number = MAX_JSON_DEPTH): boolean {
  const b = Buffer.from(body.buffer, body.byteOffset, body.length);
  return fewOpenings(b, max) ? false : deeperThan(b, max);
}

/** At most `max` opening brackets anywhere (strings included): nothing can nest deeper. */
function fewOpenings(b: Buffer, max: number): boolean {
  let opens = 0;
  for (const ch of [OPEN_BRACE, OPEN_BRACKET]) {
    for (let i = b.indexOf(ch); i >= 0; i = b.indexOf(ch, i + 1)) {
      if (++opens > max) return false;
    }
  }
  return true;
}

function deeperThan(b: Buffer, max: number): boolean {
  let depth = 0;
  const n = b.length;
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === QUOTE) {
      // Jump to the closing quote: the next `"` preceded by an even number of backslashes.
      for (;;) {
        const q = b.indexOf(QUOTE, i + 1);
        if (q < 0) return false;
        let k = q - 1;
        while (k > i && b[k] === BACKSLASH) k--;
        i = q;
        if (((q - 1 - k) & 1) === 0) break;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
