/**
 * The JSON scanner the hot path reads bodies with (src/json/scan.ts): it must accept exactly
 * what JSON.parse accepts outside string contents, and its member spans must parse back to
 * the values JSON.parse builds. Checked on seeded random documents, their truncations and
 * hand-picked malformed ones; then the reply restamp built on it.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { asBuffer, JsonScanError, MAX_JSON_DEPTH, scanObject } from '../src/json/scan.js';
import { findMember } from '../src/json/find-member.js';
import { restampReply } from '../src/upstream/restamp.js';
import { SseRestamper } from '../src/upstream/sse.js';
import { seeded } from './support/random.js';

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 4 ? 5 : 7));
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return [0, -1, 1.5, -0.25e-7, 12345678901234, 3e21][Math.floor(r() * 6)];
    case 3: case 4: {
      const parts = ['a', 'é', '✓', '"', '\\', '\n', '\u0001', '😀', ' ', '\\"', '}', ']', ',', ':'];
      let s = '';
      const n = Math.floor(r() * 12);
      for (let i = 0; i < n; i++) s += parts[Math.floor(r() * parts.length)];
      return s;
    }
    case 5: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) o[`k${Math.floor(r() * 6)}${r() < 0.2 ? '"\\' : ''}`] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/** JSON text with random whitespace between tokens (outside strings). */
function spaced(v: unknown, r: () => number): string {
  const ws = (): string => [' ', '', '\n', '\t ', '\r\n', ''][Math.floor(r() * 6)]!;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${ws()}${v.map((x) => spaced(x, r)).join(`${ws()},${ws()}`)}${ws()}]`;
  return `{${ws()}${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}${ws()}:${ws()}${spaced(x, r)}`).join(`${ws()},${ws()}`)}${ws()}}`;
}

test('scanObject: random documents scan, and every member span parses to its value', () => {
  const r = seeded(11);
  for (let n = 0; n < 400; n++) {
    const doc: Record<string, unknown> = {};
    const members = 1 + Math.floor(r() * 6);
    for (let i = 0; i < members; i++) doc[`m${i}`] = randomValue(r, 1);
    const text = `${r() < 0.5 ? ' \n' : ''}${spaced(doc, r)}${r() < 0.5 ? '\n ' : ''}`;
    const b = enc(text);
    const m = scanObject(b)!;
    assert.deepEqual(m.names, Object.keys(doc));
    m.names.forEach((name, i) => {
      assert.deepEqual(JSON.parse(b.toString('utf8', m.valueStarts[i], m.valueEnds[i])), doc[name]);
      assert.deepEqual(JSON.parse(b.toString('utf8', m.keyStarts[i], m.keyStarts[i]! + JSON.stringify(name).length)), name);
    });
  }
});

test('scanObject: every truncation of an object is refused', () => {
  const r = seeded(5);
  for (let n = 0; n < 40; n++) {
    const text = spaced({ a: randomValue(r, 1), b: [1, { c: 'x"}' }], d: -2.5e3 }, r);
    for (let cut = 0; cut < text.length; cut++) {
      const prefix = text.slice(0, cut);
      if (prefix.trim() === '' ) continue;
      assert.throws(() => scanObject(enc(prefix)), JsonScanError, JSON.stringify(prefix));
    }
  }
});

test('scanObject agrees with JSON.parse on malformed text outside strings', () => {
  const bad = [
    '{"a":1,}', '{"a":1 "b":2}', '{"a" 1}', '{a:1}', '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":-}', '{"a":1e}',
    '{"a":+1}', '{"a":tru}', '{"a":nul}', '{"a":[1,]}', '{"a":[,1]}', '{"a":[1 2]}', '{"a":1}}', '{"a":1} x',
    '{"a":1}{}', '{"a":"x}', "{'a':1}", '{"a":NaN}', '{"a":undefined}', '{"a":[}', '{"a":{]}', '',
  ];
  for (const s of bad) {
    assert.throws(() => JSON.parse(s), SyntaxError, `JSON.parse accepted ${s}`);
    assert.throws(() => scanObject(enc(s)), JsonScanError, `scanner accepted ${s}`);
  }
  const good = ['{}', ' { } ', '{"a":-0.0e+5}', '{"a":[[],{}]}', '{"a":"\\\\"}', '{"\\u0041":1}', '{"a":1E-2}'];
  for (const s of good) {
    JSON.parse(s);
    assert.ok(scanObject(enc(s)), s);
  }
  assert.deepEqual(scanObject(enc('{"\\u0041":1}'))!.names, ['A']);
  assert.equal(scanObject(enc('[1,2]')), null);
  assert.equal(scanObject(enc(' "s" ')), null);
});

test('scanObject: nesting up to MAX_JSON_DEPTH is accepted, one more is a depth error', () => {
  const nest = (n: number): string => `${'['.repeat(n - 1)}${']'.repeat(n - 1)}`;
  assert.ok(scanObject(enc(`{"a":${nest(MAX_JSON_DEPTH)}}`)));
  assert.throws(() => scanObject(enc(`{"a":${nest(MAX_JSON_DEPTH + 1)}}`)), (e: unknown) => e instanceof JsonScanError && e.kind === 'depth');
});

test('scanObject reads a Uint8Array view at an offset', () => {
  const whole = enc('xx{"model":"m"}');
  const view = new Uint8Array(whole.buffer, whole.byteOffset + 2, whole.length - 2);
  assert.deepEqual(scanObject(asBuffer(view))!.names, ['model']);
});

/** Answers on both sides of restamp.ts's whole-parse threshold: parsed, and scanned. */
const bodyText = (b: ArrayBuffer | string): string => (typeof b === 'string' ? b : Buffer.from(b).toString('utf8'));
const pads = [{ label: 'small', pad: '' }, { label: 'large', pad: 'x'.repeat(20_000) }];

for (const { label, pad } of pads) {
  test(`restampReply (${label}): model replaced, usage and finish_reason read, the rest unchanged`, () => {
    const raw = `{"id":"x","model":"upstream-name","choices":[{"index":0,"message":{"content":"\\"model\\":\\"no\\"${pad}"},"finish_reason":"content_filter"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`;
    const out = restampReply(enc(raw), 'group-é')!;
    const text = bodyText(out.body);
    assert.equal(text, raw.replace('"upstream-name"', '"group-é"'));
    assert.deepEqual(out.usage, { promptTokens: 3, completionTokens: 4, totalTokens: 7 });
    assert.equal(out.finishReason, 'content_filter');
    const kept = restampReply(enc(raw), null)!;
    assert.equal(bodyText(kept.body), raw);
    assert.equal(kept.finishReason, 'content_filter');
  });

  test(`restampReply (${label}): no model key stays without one; non-objects pass; non-JSON is null`, () => {
    const list = `{"object":"list","data":["${pad}"]}`;
    const a = restampReply(enc(list), 'g')!;
    assert.equal(bodyText(a.body), list);
    assert.equal(a.usage, null);
    assert.equal(a.finishReason, null);
    assert.equal(bodyText(restampReply(enc(`["${pad}"]`), 'g')!.body), `["${pad}"]`);
    assert.equal(restampReply(enc(`<html>oops${pad}</html>`), 'g'), null);
    assert.equal(restampReply(enc(`{"model":"a${pad}"`), 'g'), null);
  });
}

test('findMember: on random documents, each member is found at its value, and absent names are not', () => {
  const r = seeded(23);
  for (let n = 0; n < 300; n++) {
    const doc: Record<string, unknown> = {};
    const members = 1 + Math.floor(r() * 6);
    for (let i = 0; i < members; i++) doc[`m${i}`] = randomValue(r, 1);
    const text = spaced(doc, r);
    for (const name of Object.keys(doc)) {
      const span = findMember(text, name)!;
      assert.deepEqual(JSON.parse(text.slice(span.start, span.end)), doc[name], `${name} in ${text}`);
    }
    assert.equal(findMember(text, 'absent'), null);
    assert.equal(findMember(text, 'm'), null);
  }
  assert.equal(findMember('[1]', 'a'), null);
  assert.equal(findMember('{"a":"unterminated', 'b'), null);
  assert.equal(findMember('{"a":1,"a":2}', 'a'), null, 'a key twice');
  assert.equal(findMember('{"a":1,"\\u0062":2}', 'a'), null, 'an escaped key');
  assert.equal(findMember('{"a":1,"usage":{}}', 'a', ['usage']), null, 'a refused key');
  assert.deepEqual(findMember('{"a":1,"b":{}}', 'a', ['usage']), { start: 5, end: 6 });
});

test('SseRestamper: chunks restamped in place keep every other byte; usage and error chunks are still read', () => {
  const s = new SseRestamper('group');
  const chunk = '{"id":"c1", "model" : "up-\\"x\\"","choices":[{"delta":{"content":"a \\"model\\":\\"no\\" é"}}]}';
  const out = s.push(`data: ${chunk}\n\ndata: {"id":"c1","model":"up","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}}\n\n`);
  const [first, second] = out.split('\n\n');
  assert.equal(first, `data: ${chunk.replace('"up-\\"x\\""', '"group"')}`);
  assert.equal(JSON.parse(second!.slice(6)).model, 'group');
  assert.deepEqual(s.usage, { promptTokens: 2, completionTokens: 3, totalTokens: 5 });
  assert.equal(s.push('data: {"model":"up","error":{"message":"boom"}}\n\n'), '');
  assert.equal(s.failure, '{"model":"up","error":{"message":"boom"}}');
  // An error or usage key written with an escape is still one: the chunk is parsed.
  const escaped = new SseRestamper('group');
  assert.equal(escaped.push('data: {"model":"up","\\u0065rror":{"message":"boom"}}\n\n'), '');
  assert.equal(escaped.failure, '{"model":"up","\\u0065rror":{"message":"boom"}}');
  const twice = new SseRestamper('group');
  assert.equal(JSON.parse(twice.push('data: {"model":"a","choices":[],"model":"b"}\n\n').slice(6)).model, 'group');
  twice.push('data: {"model":"a","\\u0075sage":{"prompt_tokens":1,"completion_tokens":1}}\n\n');
  assert.deepEqual(twice.usage, { promptTokens: 1, completionTokens: 1, totalTokens: 2 });
  const keep = new SseRestamper(null);
  assert.equal(keep.push(`data: ${chunk}\n\n`), `data: ${chunk}\n\n`);
});
