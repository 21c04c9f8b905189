/**
 * A non-streaming upstream answer restamped: the `model` value replaced by the name the client
 * asked for (as LiteLLM does), `usage` and the first choice's `finish_reason` read. No answer
 * is parsed into objects. A small one is decoded to a string once and walked there
 * (json/scan-text.ts): the top-level `model` values are cut out by slicing, and the few values
 * read come from their own spans. A large one is scanned as bytes (json/scan.ts) and copied
 * byte for byte into a standalone buffer (transferable to the main thread).
 *
 * Either way the client gets the upstream's own text but for `model`: its whitespace, number
 * spellings and string escapes are forwarded as they came, not normalised by a parse and a
 * re-serialisation. Both paths check the JSON grammar outside strings (as scan.ts documents),
 * not the characters inside them.
 */
import { asBuffer, firstElement, JsonScanError, lastMember, scanObject, type Members } from '../json/scan.js';
import { firstElement as firstElementText, firstKey, keyIs, keyText, nextElement, nextKey, skipKeyText, skipSpaceText, skipValueText, stringAt, valueStart } from '../json/scan-text.js';
import { replaceMember } from '../json/replace.js';
import { readUsage } from './sse.js';
import type { Usage } from './wire.js';

export interface Restamped {
  /** A small answer's text (a string crosses threads without an ArrayBuffer); a large one's bytes. */
  readonly body: ArrayBuffer | string;
  readonly usage: Usage | null;
  readonly finishReason: string | null;
}

function parseSlice(b: Buffer, start: number, end: number): unknown {
  try {
    return JSON.parse(b.toString('utf8', start, end));
  } catch {
    return undefined;
  }
}

/** The first choice's `finish_reason` when it is a string. */
function finishReasonOf(b: Buffer, m: Members): string | null {
  const c = lastMember(m, 'choices');
  if (c < 0) return null;
  const first = firstElement(b, m.valueStarts[c]!);
  if (first === null || b[first.start] !== 0x7b) return null;
  const choice = scanObject(b, first.start, first.end, false)!;
  const f = lastMember(choice, 'finish_reason');
  if (f < 0) return null;
  const v = parseSlice(b, choice.valueStarts[f]!, choice.valueEnds[f]!);
  return typeof v === 'string' ? v : null;
}

/**
 * Answers up to this size are restamped on their text (restampText): the body crosses threads
 * as a string anyway, and decoding once then slicing beats a parse and a re-serialisation
 * (about 2.9 against 4.2 µs for a 350-byte chat completion, 14 against 29 µs at 4 KiB).
 * Past it the bytes stay bytes: a standalone buffer is transferred to the main thread, not
 * copied, and decoding a long non-ASCII text into a string costs more than the scan saves.
 */
const TEXT_BYTES = 8 * 1024;

/*
 * What usageAt and choicesAt read besides where their value ends (module state rather than a
 * returned object: one answer is read at a time, and nothing is allocated for it).
 */
let readUsageOut: Usage | null = null;
let readFinishOut: string | null = null;

/** What JSON.parse reads from the (already checked) value spanning `start`..`end` when it is a number, else undefined. */
function numberAt(t: string, start: number, end: number): number | undefined {
  const d = t.charCodeAt(start);
  if (d !== 0x2d && (d < 0x30 || d > 0x39)) return undefined;
  // A token count: up to 15 digits is an exact integer, summed without slicing.
  if (end - start <= 15) {
    let n = 0;
    for (let k = start; k < end; k++) {
      const c = t.charCodeAt(k);
      if (c < 0x30 || c > 0x39) return Number(t.slice(start, end));
      n = n * 10 + (c - 0x30);
    }
    return n;
  }
  return Number(t.slice(start, end));
}

/**
 * The `usage` value at `v`, checked; returns just past it. Sets readUsageOut to what readUsage
 * makes of it, from the three counts it looks at (the last of each, a number or absent).
 */
function usageAt(t: string, v: number): number {
  const c = t.charCodeAt(v);
  if (c !== 0x7b) {
    // readUsage takes any object: an array (no named members) counts as all zeros.
    readUsageOut = c === 0x5b ? readUsage({}) : null;
    return skipValueText(t, v, 1);
  }
  let prompt: number | undefined;
  let completion: number | undefined;
  let total: number | undefined;
  let end = 0;
  let k = firstKey(t, v);
  for (; k >= 0; k = nextKey(t, end)) {
    let keyEnd = skipKeyText(t, k);
    const key = keyEnd < 0 ? keyText(t, k, (keyEnd = ~keyEnd)) : null;
    const s = valueStart(t, keyEnd);
    end = skipValueText(t, s, 2);
    if (keyIs(t, k, keyEnd, key, 'prompt_tokens')) prompt = numberAt(t, s, end);
    else if (keyIs(t, k, keyEnd, key, 'completion_tokens')) completion = numberAt(t, s, end);
    else if (keyIs(t, k, keyEnd, key, 'total_tokens')) total = numberAt(t, s, end);
  }
  readUsageOut = readUsage({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: total });
  return ~k;
}

/** The `choices` value at `v`, checked; returns just past it. Sets readFinishOut to its first element's `finish_reason` when that is a string. */
function choicesAt(t: string, v: number): number {
  readFinishOut = null;
  if (t.charCodeAt(v) !== 0x5b) return skipValueText(t, v, 1);
  let e = firstElementText(t, v);
  if (e < 0) return ~e;
  let end: number;
  if (t.charCodeAt(e) === 0x7b) {
    let k = firstKey(t, e);
    for (; k >= 0; k = nextKey(t, end)) {
      let keyEnd = skipKeyText(t, k);
      const key = keyEnd < 0 ? keyText(t, k, (keyEnd = ~keyEnd)) : null;
      const s = valueStart(t, keyEnd);
      end = skipValueText(t, s, 3);
      if (keyIs(t, k, keyEnd, key, 'finish_reason')) readFinishOut = stringAt(t, s, end);
    }
    end = ~k;
  } else end = skipValueText(t, e, 2);
  for (e = nextElement(t, end); e >= 0; e = nextElement(t, end)) end = skipValueText(t, e, 2);
  return ~e;
}

/**
 * A small answer restamped on its text: the top-level members are walked (every value checked
 * as scan.ts does), each top-level `model` value is cut out and `modelJson` put in its place,
 * the last `usage` and the last `choices`' first `finish_reason` are read from their spans.
 * Every other character is the upstream's own: whitespace and number spellings are forwarded
 * as they came (as the large path does), not normalised by a parse and re-serialisation.
 */
function restampText(t: string, modelJson: string | null): Restamped | null {
  try {
    let i = skipSpaceText(t, 0);
    if (t.charCodeAt(i) !== 0x7b) {
      // Not an object: forwarded as it is, once checked.
      return skipSpaceText(t, skipValueText(t, i, 0)) < t.length ? null : { body: t, usage: null, finishReason: null };
    }
    let body = '';
    let from = 0;
    let usage: Usage | null = null;
    let finishReason: string | null = null;
    let end = 0;
    let k = firstKey(t, i);
    for (; k >= 0; k = nextKey(t, end)) {
      let keyEnd = skipKeyText(t, k);
      const key = keyEnd < 0 ? keyText(t, k, (keyEnd = ~keyEnd)) : null;
      const v = valueStart(t, keyEnd);
      if (keyIs(t, k, keyEnd, key, 'choices')) {
        end = choicesAt(t, v);
        finishReason = readFinishOut;
      } else if (keyIs(t, k, keyEnd, key, 'usage')) {
        end = usageAt(t, v);
        usage = readUsageOut;
      } else {
        end = skipValueText(t, v, 1);
        // Every top-level `model` is replaced (JSON.parse would keep the last): as replaceMember does past the threshold.
        if (modelJson !== null && keyIs(t, k, keyEnd, key, 'model')) {
          body += t.slice(from, v) + modelJson;
          from = end;
        }
      }
    }
    if (skipSpaceText(t, ~k) < t.length) return null;
    return { body: from === 0 ? t : body + t.slice(from), usage, finishReason };
  } catch (err) {
    // SyntaxError: a key with a bad escape (keyText decodes escaped keys).
    if (err instanceof JsonScanError || err instanceof SyntaxError) return null;
    throw err;
  }
}

/** What the router reads from an answer: its usage and first finish_reason. */
function readAnswer(b: Buffer, m: Members): { usage: Usage | null; finishReason: string | null } {
  const u = lastMember(m, 'usage');
  return { usage: u < 0 ? null : readUsage(parseSlice(b, m.valueStarts[u]!, m.valueEnds[u]!)), finishReason: finishReasonOf(b, m) };
}

/**
 * Null when `raw` is not JSON. A JSON value that is not an object is copied as it is.
 * `responseModel` null: the answer keeps its own `model` (a fallback answered).
 */
export function restampReply(raw: Uint8Array, responseModel: string | null): Restamped | null {
  const b = asBuffer(raw);
  if (b.length <= TEXT_BYTES) return restampText(b.toString('utf8'), responseModel === null ? null : JSON.stringify(responseModel));
  let m: Members | null;
  try {
    m = scanObject(b);
  } catch {
    return null;
  }
  let read: { usage: Usage | null; finishReason: string | null } = { usage: null, finishReason: null };
  try {
    // The first choice's keys are decoded: one with a bad escape makes the answer not JSON (as for a small one).
    if (m !== null) read = readAnswer(b, m);
  } catch {
    return null;
  }
  if (m === null || responseModel === null) {
    const copy = new Uint8Array(b.length);
    copy.set(b);
    return { body: copy.buffer, ...read };
  }
  const { usage, finishReason } = read;
  const out = replaceMember(b, m, 'model', JSON.stringify(responseModel), true);
  return { body: out.buffer as ArrayBuffer, usage, finishReason };
}
