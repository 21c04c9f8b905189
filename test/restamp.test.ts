/**
 * restampReply (src/upstream/restamp.ts) on both sides of its 8 KiB threshold: a small answer
 * is walked as a string, a large one scanned as bytes, and both must give the client the
 * upstream's own text with only the top-level `model` values replaced, read the same usage
 * and finish_reason as JSON.parse would, and refuse the same malformed text. Checked on
 * hand-picked answers and on seeded random ones against a JSON.parse reference.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { MAX_JSON_DEPTH } from '../src/json/scan.js';
import { restampReply, type Restamped } from '../src/upstream/restamp.js';
import { readUsage } from '../src/upstream/sse.js';
import type { Usage } from '../src/upstream/wire.js';
import { seeded } from './support/random.js';

const THRESHOLD = 8 * 1024;
const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
const bodyText = (b: ArrayBuffer | string): string => (typeof b === 'string' ? b : Buffer.from(b).toString('utf8'));

/** Trailing spaces that take `text` past the threshold (JSON allows them, and both paths keep them). */
const padLarge = (text: string): string => text + ' '.repeat(THRESHOLD + 1 - Buffer.byteLength(text) + 50);

interface Seen {
  readonly body: string;
  readonly usage: Usage | null;
  readonly finishReason: string | null;
}

/**
 * The answer restamped on the small path, and on the large path (padded past the threshold):
 * both must agree, the large one's body being the small one's plus the padding. Null when
 * both refuse the text.
 */
function restampBoth(text: string, model: string | null): Seen | null {
  assert.ok(Buffer.byteLength(text) <= THRESHOLD, 'a small answer');
  const small = restampReply(enc(text), model);
  const padded = padLarge(text);
  const large = restampReply(enc(padded), model);
  if (small === null || large === null) {
    assert.equal(small, large, `small and large paths disagree on ${JSON.stringify(text.slice(0, 200))}`);
    return null;
  }
  assert.equal(typeof small.body, 'string', 'a small answer crosses threads as a string');
  assert.ok(large.body instanceof ArrayBuffer, 'a large one as bytes');
  const s = bodyText(small.body);
  assert.equal(bodyText(large.body), s + padded.slice(text.length));
  assert.deepEqual(large.usage, small.usage);
  assert.equal(large.finishReason, small.finishReason);
  return { body: s, usage: small.usage, finishReason: small.finishReason };
}

/** What the JSON.parse-based restamp read and built (the contract both paths keep). */
function reference(text: string, model: string | null): { value: unknown; usage: Usage | null; finishReason: string | null } | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { value, usage: null, finishReason: null };
  const o = value as Record<string, unknown>;
  if (model !== null && 'model' in o) o.model = model;
  const first: unknown = Array.isArray(o.choices) ? o.choices[0] : undefined;
  const fr = first !== null && typeof first === 'object' ? (first as Record<string, unknown>).finish_reason : undefined;
  return { value, usage: readUsage(o.usage), finishReason: typeof fr === 'string' ? fr : null };
}

const USAGE = '{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}';

test('restampReply: the model value replaced and every other byte kept (whitespace, number spellings, escapes)', () => {
  const text = ' {\n  "id" : "chatcmpl-1",\t"created":1.0e3 ,"model"  :  "upstream-name",\r\n "x":-0.50, "s":"caf\\u00e9 \\/ é 😀",\n "choices":[ ],"usage":' + USAGE + ' }\n';
  const out = restampBoth(text, 'group-é "quoted"')!;
  assert.equal(out.body, text.replace('"upstream-name"', JSON.stringify('group-é "quoted"')));
  assert.deepEqual(out.usage, { promptTokens: 3, completionTokens: 4, totalTokens: 7 });
  assert.equal(restampBoth(text, null)!.body, text, 'null: the answer keeps its own model, byte for byte');
});

test('restampReply: only the top-level model is replaced, not nested model keys nor "model" inside strings', () => {
  const inner = JSON.stringify({ model: 'tool-arg', q: '"model":"x"' });
  const text = `{"choices":[{"index":0,"model":"in-choice","message":{"role":"assistant","model":"in-message","content":"{\\"model\\":\\"no\\"} model","tool_calls":[{"id":"c","type":"function","function":{"name":"model","arguments":${JSON.stringify(inner)}}}]},"finish_reason":"tool_calls"}],"meta":{"model":"nested","list":[{"model":"deep"}]},"model":"up","note":"model"}`;
  const out = restampBoth(text, 'g')!;
  assert.equal(out.body, text.replace('"model":"up"', '"model":"g"'));
  assert.equal(out.finishReason, 'tool_calls');
  // A top-level key that merely contains "model", or a value "model", is not the member.
  const near = '{"models":"a","model_id":"b","x":"model","Model":"c"}';
  assert.equal(restampBoth(near, 'g')!.body, near);
});

test('restampReply: escaped quotes and backslashes in strings before the model member do not derail the walk', () => {
  const text = '{"id":"a\\"b\\\\","p":"\\\\","q":"\\\\\\"","r":"\\\\\\\\","s":"}]\\",\\"model\\":\\"fake","model":"up","t":"\\\\"}';
  const parsed = JSON.parse(text) as Record<string, unknown>;
  assert.equal(parsed.model, 'up', 'the text is what the test means');
  const out = restampBoth(text, 'g')!;
  assert.equal(out.body, text.replace('"model":"up"', '"model":"g"'));
  assert.deepEqual(JSON.parse(out.body), { ...parsed, model: 'g' });
});

test('restampReply: a duplicated top-level model is replaced everywhere; an escaped key counts; no model adds none', () => {
  const dup = '{"model":"a","choices":[],"model":"b"}';
  const out = restampBoth(dup, 'g')!;
  assert.equal(out.body, '{"model":"g","choices":[],"model":"g"}');
  assert.equal((JSON.parse(out.body) as { model: string }).model, 'g');
  assert.equal(restampBoth(dup, null)!.body, dup, 'kept as written: JSON.parse reads the last, as it did');
  const escaped = '{"\\u006dodel":"a","mod\\u0065l":"b"}';
  assert.equal(restampBoth(escaped, 'g')!.body, '{"\\u006dodel":"g","mod\\u0065l":"g"}');
  const none = '{"object":"list","data":[{"id":"x","model":"inner"}]}';
  const kept = restampBoth(none, 'g')!;
  assert.equal(kept.body, none);
  assert.equal(kept.usage, null);
  assert.equal(kept.finishReason, null);
});

test('restampReply: a JSON value that is not an object is forwarded as it is', () => {
  for (const text of ['[1, 2 ,{"model":"x"}]', ' "a string" ', '12.50', '-0', ' true', 'null\n', '[]']) {
    const out = restampBoth(text, 'g')!;
    assert.equal(out.body, text);
    assert.equal(out.usage, null);
    assert.equal(out.finishReason, null);
  }
});

test('restampReply: text that is not JSON outside its strings is refused (null)', () => {
  const good = `{"id":"x","model":"up","choices":[{"index":0,"message":{"content":"a \\"q\\" é"},"finish_reason":"stop"}],"usage":${USAGE}}`;
  assert.ok(restampBoth(good, 'g'));
  for (let cut = 0; cut < good.length; cut++) assert.equal(restampBoth(good.slice(0, cut), 'g'), null, `cut at ${cut}`);
  const bad = [
    `${good}x`, `${good}}`, `${good},{}`, `${good}{}`, good.replace('"model":', '"model"'), good.replace(',"choices"', '"choices"'),
    good.replace('"stop"}', '"stop",}'), good.replace('[{', '[,{'), good.replace('"index":0', '"index":01'), good.replace('"index":0', '"index":tru'),
    good.replace('"index":0', '"index":nul'), good.replace('"index":0', '"index":.5'), good.replace('"index":0', '"index":-'), good.replace('"index":0', '"index":1e'),
    good.replace('"index":0', '"index":NaN'), good.replace('}],', '}}],'), good.replace('}],', ']],'), `{model:"x"}`, `{'model':'x'}`, '', '   ', '<html>oops</html>',
    '\uFEFF{"model":"x"}', '{"model":"x"', '{"model":"x}', '[1,]', '"abc', 'tru', '01', '{"\\x":1}', '{"choices":[{"\\x":1}]}',
  ];
  for (const text of bad) {
    assert.throws(() => JSON.parse(text), SyntaxError, `JSON.parse accepts ${text}`);
    assert.equal(restampBoth(text, 'g'), null, text);
    assert.equal(restampBoth(text, null), null, text);
  }
});

test('restampReply: nesting up to MAX_JSON_DEPTH is accepted on both paths, one more is refused', () => {
  const nest = (n: number): string => `${'['.repeat(n - 1)}${']'.repeat(n - 1)}`;
  const ok = `{"model":"a","x":${nest(MAX_JSON_DEPTH)}}`;
  assert.equal(restampBoth(ok, 'g')!.body, ok.replace('"a"', '"g"'));
  assert.equal(restampBoth(`{"model":"a","x":${nest(MAX_JSON_DEPTH + 1)}}`, 'g'), null);
});

test('restampReply: usage and the first finish_reason are read as JSON.parse reads them', () => {
  const cases: Array<[string, Usage | null, string | null]> = [
    [`{"usage":${USAGE},"choices":[{"finish_reason":"stop"},{"finish_reason":"length"}]}`, { promptTokens: 3, completionTokens: 4, totalTokens: 7 }, 'stop'],
    ['{"usage":{"prompt_tokens":2,"completion_tokens":5}}', { promptTokens: 2, completionTokens: 5, totalTokens: 7 }, null],
    ['{"usage":{"prompt_tokens":"2","completion_tokens":null,"total_tokens":[1]}}', { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, null],
    ['{"usage":{"prompt_tokens":1.5e2,"completion_tokens":-0,"total_tokens":123456789012345678}}', { promptTokens: 150, completionTokens: -0, totalTokens: 123456789012345678 }, null],
    ['{"usage":{"prompt_tokens":1,"prompt_tokens":9,"pr\\u006fmpt_tokens":4,"details":{"prompt_tokens":100}}}', { promptTokens: 4, completionTokens: 0, totalTokens: 4 }, null],
    ['{"usage":{"prompt_tokens":1},"usage":{"completion_tokens":6}}', { promptTokens: 0, completionTokens: 6, totalTokens: 6 }, null],
    ['{"usage":[],"choices":[]}', { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, null],
    ['{"usage":null,"choices":[null]}', null, null],
    ['{"usage":7,"choices":[[{"finish_reason":"stop"}]]}', null, null],
    ['{"choices":[{"finish_reason":null}]}', null, null],
    ['{"choices":[{"finish_reason":1}]}', null, null],
    ['{"choices":{"finish_reason":"stop"}}', null, null],
    ['{"choices":[{"finish_reason":"st\\u006fp","finish_reason":"length"}]}', null, 'length'],
    ['{"choices":[{"finish_\\u0072eason":"st\\u006fp \\"x\\""}]}', null, 'stop "x"'],
    ['{"choices":[{"finish_reason":"stop"}],"choices":[{"index":0}]}', null, null],
    ['{"choices":[{"index":0}],"choices":[{"finish_reason":"length"}]}', null, 'length'],
    ['{"meta":{"usage":' + USAGE + ',"choices":[{"finish_reason":"stop"}]}}', null, null],
  ];
  for (const [text, usage, finishReason] of cases) {
    const out = restampBoth(text, 'g')!;
    assert.deepEqual(out.usage, usage, text);
    assert.equal(out.finishReason, finishReason, text);
    const ref = reference(text, 'g')!;
    assert.deepEqual(out.usage, ref.usage, `the JSON.parse reading of ${text}`);
    assert.equal(out.finishReason, ref.finishReason, text);
    assert.equal(out.body, text, 'no model member: nothing changed');
  }
});

test('restampReply: an answer of exactly 8 KiB (string path) and of 8 KiB + 1 (byte path) give the same result', () => {
  const head = `{"id":"x","model":"up","choices":[{"index":0,"message":{"role":"assistant","content":"`;
  const tail = `"},"finish_reason":"stop"}],"usage":${USAGE}}`;
  const fill = (bytes: number): string => {
    // Multi-byte characters and escapes in the content, topped up with ASCII to the exact size.
    let c = 'é ✓ 😀 \\"model\\":\\"no\\" \\\\ '.repeat(100);
    c += 'a'.repeat(bytes - Buffer.byteLength(head + c + tail));
    return head + c + tail;
  };
  const at = fill(THRESHOLD);
  const over = fill(THRESHOLD + 1);
  assert.equal(Buffer.byteLength(at), THRESHOLD);
  assert.equal(Buffer.byteLength(over), THRESHOLD + 1);
  const a = restampReply(enc(at), 'g') as Restamped;
  const b = restampReply(enc(over), 'g') as Restamped;
  assert.equal(typeof a.body, 'string');
  assert.ok(b.body instanceof ArrayBuffer);
  assert.equal(bodyText(a.body), at.replace('"model":"up"', '"model":"g"'));
  assert.equal(bodyText(b.body), over.replace('"model":"up"', '"model":"g"'));
  for (const r of [a, b]) {
    assert.deepEqual(r.usage, { promptTokens: 3, completionTokens: 4, totalTokens: 7 });
    assert.equal(r.finishReason, 'stop');
  }
  // The same text on both sides of the line: one trailing space more.
  const base = fill(THRESHOLD - 1);
  const [s, l] = [`${base} `, `${base}  `].map((t) => restampReply(enc(t), 'g') as Restamped);
  assert.equal(typeof s!.body, 'string');
  assert.ok(l!.body instanceof ArrayBuffer);
  assert.equal(`${bodyText(s!.body)} `, bodyText(l!.body));
});

// Random answers: top-level members in random order, some duplicated or with escaped keys,
// random whitespace between tokens, strings holding escapes, non-ASCII and JSON-looking text.

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

const ws = (r: () => number): string => pick(r, ['', '', '', ' ', '\n  ', '\t', '\r\n', '  ']);

function randomString(r: () => number): string {
  const parts = ['a', 'model', 'é', '✓', '😀', '"', '\\', '\n', ' ', '"model":"x"', '}', ']', ',', ':', '{', '['];
  let s = '';
  for (let n = Math.floor(r() * 8); n > 0; n--) s += pick(r, parts);
  const json = JSON.stringify(s);
  // Escapes JSON.stringify never writes, which a parse-and-stringify would have rewritten.
  return r() < 0.3 ? json.replace(/é/g, '\\u00e9').replace(/a/g, '\\u0061') : json;
}

function randomScalar(r: () => number): string {
  return pick(r, [() => randomString(r), () => pick(r, ['0', '-1', '1.5', '-0.25e-7', '12345678901234', '3E21', '1e400', '-0', '7', '1234567890123456789', '2.50']), () => pick(r, ['true', 'false', 'null'])])();
}

function randomValue(r: () => number, depth: number): string {
  const k = r();
  if (depth > 3 || k < 0.5) return randomScalar(r);
  if (k < 0.75) return `[${ws(r)}${Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1)).join(`${ws(r)},${ws(r)}`)}${ws(r)}]`;
  return randomObject(r, Array.from({ length: Math.floor(r() * 4) }, () => [JSON.stringify(pick(r, ['k', 'model', 'usage', 'choices', 'finish_reason', 'prompt_tokens', 'x y'])), randomValue(r, depth + 1)] as [string, string]));
}

function randomObject(r: () => number, members: ReadonlyArray<[string, string]>): string {
  return `{${ws(r)}${members.map(([k, v]) => `${k}${ws(r)}:${ws(r)}${v}`).join(`${ws(r)},${ws(r)}`)}${ws(r)}}`;
}

/** A key as written: sometimes with an escape, which JSON.parse (and the restamp) must decode. */
function key(r: () => number, name: string): string {
  if (r() < 0.2) {
    const i = Math.floor(r() * name.length);
    return `"${name.slice(0, i)}\\u${name.charCodeAt(i).toString(16).padStart(4, '0')}${name.slice(i + 1)}"`;
  }
  return JSON.stringify(name);
}

function randomUsage(r: () => number): string {
  if (r() < 0.15) return pick(r, ['null', '[]', '7', '"u"']);
  const members: Array<[string, string]> = [];
  for (const name of ['prompt_tokens', 'completion_tokens', 'total_tokens', 'prompt_tokens_details', 'prompt_tokens']) {
    if (r() < 0.7) members.push([key(r, name), r() < 0.8 ? pick(r, ['0', '7', '15', '1234', '1.5e2', '-3', '99999999999999999']) : randomValue(r, 2)]);
  }
  return randomObject(r, members);
}

function randomChoices(r: () => number): string {
  if (r() < 0.1) return randomValue(r, 1);
  const n = Math.floor(r() * 3);
  const els: string[] = [];
  for (let i = 0; i < n; i++) {
    if (r() < 0.15) {
      els.push(randomValue(r, 2));
      continue;
    }
    const members: Array<[string, string]> = [['"index"', String(i)], ['"message"', randomObject(r, [['"role"', '"assistant"'], ['"content"', randomString(r)], ['"model"', randomScalar(r)]])]];
    if (r() < 0.8) members.push([key(r, 'finish_reason'), r() < 0.7 ? pick(r, ['"stop"', '"length"', '"tool_calls"', '"st\\u006fp"', '"a\\"b"']) : randomScalar(r)]);
    if (r() < 0.1) members.push(['"finish_reason"', '"content_filter"']);
    els.push(randomObject(r, members.sort(() => r() - 0.5)));
  }
  return `[${ws(r)}${els.join(`${ws(r)},${ws(r)}`)}${ws(r)}]`;
}

/** A random answer's text, and the text with its top-level model values replaced by `modelJson`. */
function randomAnswer(r: () => number, modelJson: string): { text: string; expected: string } {
  const members: Array<{ k: string; v: string; isModel: boolean }> = [];
  const add = (name: string, v: () => string, p: number, twice: number): void => {
    if (r() < p) members.push({ k: key(r, name), v: v(), isModel: name === 'model' });
    if (r() < twice) members.push({ k: key(r, name), v: v(), isModel: name === 'model' });
  };
  add('model', () => randomScalar(r), 0.9, 0.1);
  add('choices', () => randomChoices(r), 0.85, 0.08);
  add('usage', () => randomUsage(r), 0.8, 0.08);
  add('id', () => randomString(r), 0.7, 0);
  add('meta', () => randomValue(r, 1), 0.5, 0.1);
  add('models', () => randomValue(r, 1), 0.1, 0);
  members.sort(() => r() - 0.5);
  // Whitespace drawn once, so both texts have the same.
  const gaps = members.map(() => [ws(r), ws(r), ws(r), ws(r)] as const);
  const edges = [ws(r), ws(r), ws(r), ws(r)] as const;
  const join = (replace: boolean): string => {
    const body = members.map((m, i) => `${i === 0 ? '' : `${gaps[i]![2]},${gaps[i]![3]}`}${m.k}${gaps[i]![0]}:${gaps[i]![1]}${replace && m.isModel ? modelJson : m.v}`).join('');
    return `${edges[0]}{${edges[1]}${body}${edges[2]}}${edges[3]}`;
  };
  return { text: join(false), expected: join(true) };
}

test('restampReply: random answers agree with the JSON.parse reading, and the small and large paths agree byte for byte', () => {
  const r = seeded(31);
  const model = 'grp-é"\\';
  for (let n = 0; n < 600; n++) {
    const { text, expected } = randomAnswer(r, JSON.stringify(model));
    const ref = reference(text, model)!;
    assert.ok(ref, `the generator writes JSON: ${text}`);
    const out = restampBoth(text, model)!;
    assert.equal(out.body, expected, text);
    assert.deepEqual(JSON.parse(out.body), ref.value, text);
    assert.deepEqual(out.usage, ref.usage, text);
    assert.equal(out.finishReason, ref.finishReason, text);
    assert.equal(restampBoth(text, null)!.body, text);
    // Truncated, or with something after it: refused by both paths.
    if (n % 20 === 0) {
      for (let cut = 0; cut < text.trimEnd().length; cut++) assert.equal(restampBoth(text.slice(0, cut), model), null, `${text} cut at ${cut}`);
    }
    assert.equal(restampBoth(`${text}${pick(r, ['x', '}', ']', ',', '{}', '0', '"'])}`, model), null, text);
  }
});
