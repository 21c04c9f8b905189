/**
 * The relayed upstream headers read straight from undici's raw header Buffers
 * (relayedFromRaw, rawValue in src/upstream/relay-headers.ts) must be what relayedHeaders
 * makes of the same headers parsed as undici parses them (lower-cased names, latin1 values,
 * an array for a name sent more than once): same pairs, same order. rawIncludes says what
 * `String(parsed[name]).includes(part)` said of them (a stream's Content-Type check).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { MAX_VALUE, RATE_LIMIT, rawFind, rawIncludes, rawName, rawValue, relayedFromRaw } from '../src/upstream/relay-headers.js';

const PREFIXED = RATE_LIMIT.map((n) => `llm_provider-${n}`);

/** The reference: the relayed pairs read from headers parsed as undici parses them (what the proxy did before it read raw headers). */
function one(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || s.length === 0 || s.length > MAX_VALUE) return null;
  // A header value that could end the header early is dropped, never relayed.
  return /[\r\n\0]/.test(s) ? null : s;
}

/** Flat `[name, value, …]` pairs for the client; null when the upstream sent none of these. */
function relayedHeaders(h: Readonly<Record<string, string | string[] | undefined>>): string[] | null {
  let out: string[] | null = null;
  const id = one(h['x-request-id']);
  if (id !== null) (out ??= []).push('llm_provider-x-request-id', id);
  const ms = one(h['openai-processing-ms']);
  if (ms !== null) (out ??= []).push('llm_provider-openai-processing-ms', ms);
  for (let i = 0; i < RATE_LIMIT.length; i++) {
    const v = one(h[RATE_LIMIT[i]!]);
    if (v !== null) (out ??= []).push(PREFIXED[i]!, v, RATE_LIMIT[i]!, v);
  }
  return out;
}


type Pairs = ReadonlyArray<readonly [string, string]>;

/** Raw headers as llhttp hands them over: views into one latin1 head, a name and a value each. */
function raw(pairs: Pairs): Buffer[] {
  const head = Buffer.from(pairs.map(([k, v]) => `${k}: ${v}\r\n`).join(''), 'latin1');
  const out: Buffer[] = [];
  let at = 0;
  for (const [k, v] of pairs) {
    out.push(head.subarray(at, at + k.length));
    at += k.length + 2;
    out.push(head.subarray(at, at + v.length));
    at += v.length + 2;
  }
  return out;
}

/** The headers parsed as undici's parseHeaders does. */
function parsed(pairs: Pairs): Record<string, string | string[]> {
  const h: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const name = k.toLowerCase();
    const had = h[name];
    h[name] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return h;
}

const cases: ReadonlyArray<{ name: string; pairs: Pairs }> = [
  { name: 'none relayed', pairs: [['content-type', 'application/json'], ['date', 'x'], ['x-request-ix', 'no']] },
  { name: 'none at all', pairs: [] },
  {
    name: 'all of them, in an order of their own, among others',
    pairs: [
      ['x-ratelimit-reset-tokens', '0s'], ['content-type', 'application/json'], ['x-ratelimit-reset-requests', '6ms'],
      ['x-ratelimit-remaining-tokens', '29999980'], ['x-ratelimit-remaining-requests', '9999'], ['set-cookie', 'a=b'],
      ['x-ratelimit-limit-tokens', '30000000'], ['x-ratelimit-limit-requests', '10000'], ['openai-processing-ms', '312'],
      ['x-request-id', 'req_123'], ['server', 'cloudflare'],
    ],
  },
  { name: 'names in any case', pairs: [['X-Request-ID', 'req_A'], ['OPENAI-PROCESSING-MS', '9'], ['X-RateLimit-Limit-Tokens', '5']] },
  { name: 'a name sent twice: its first value', pairs: [['x-request-id', 'first'], ['X-Request-Id', 'second'], ['x-ratelimit-limit-tokens', '1'], ['x-ratelimit-limit-tokens', '2']] },
  { name: 'an empty first value hides a second', pairs: [['x-request-id', ''], ['x-request-id', 'second'], ['openai-processing-ms', '4']] },
  { name: 'an overlong value is dropped, one at the limit kept', pairs: [['x-request-id', 'a'.repeat(257)], ['openai-processing-ms', '1'.repeat(256)]] },
  { name: 'a NUL in a value drops it', pairs: [['x-request-id', 'a\0b'], ['openai-processing-ms', '3']] },
  { name: 'latin1 bytes decode as undici decodes them', pairs: [['x-request-id', 'caf\u00e9\u00ff'], ['x-ratelimit-reset-tokens', '1s']] },
  { name: 'same length, other names', pairs: [['x-ratelimit-limit-requestz', '1'], ['x-ratelimit-reset-tokenz', '2'], ['openai-processing-mz', '3'], ['y-request-id', '4']] },
];

for (const c of cases) {
  test(`relayedFromRaw is relayedHeaders of the parsed headers: ${c.name}`, () => {
    const r = raw(c.pairs);
    const want = relayedHeaders(parsed(c.pairs));
    assert.deepEqual(relayedFromRaw(r), want);
    // The scan keeps nothing between calls: the same answer again, then an empty one.
    assert.deepEqual(relayedFromRaw(r), want);
    assert.equal(relayedFromRaw([]), null);
  });
}

test('the relayed names, values and order, spelled out', () => {
  assert.deepEqual(relayedFromRaw(raw([['X-RateLimit-Remaining-Requests', '7'], ['x-request-id', 'r1'], ['x-request-id', 'r2']])), [
    'llm_provider-x-request-id', 'r1',
    'llm_provider-x-ratelimit-remaining-requests', '7', 'x-ratelimit-remaining-requests', '7',
  ]);
});

test('rawValue: the first value of a name in any case; undefined when absent', () => {
  const r = raw([['content-type', 'text/plain'], ['Retry-After', '17'], ['retry-after', '99']]);
  assert.equal(rawValue(r, rawName('retry-after')), '17');
  assert.equal(rawValue(r, rawName('content-type')), 'text/plain');
  assert.equal(rawValue(r, rawName('x-request-id')), undefined);
  assert.equal(rawValue([], rawName('retry-after')), undefined);
});

const CT = rawName('content-type');

test('rawFind: the index of each name in any case, from a given one on; -1 past the last', () => {
  const r = raw([['Content-Type', 'a'], ['content-typf', 'b'], ['CONTENT-TYPE', 'c'], ['content-typ', 'd']]);
  assert.equal(rawFind(r, CT), 0);
  assert.equal(rawFind(r, CT, 2), 4);
  assert.equal(rawFind(r, CT, 6), -1);
  assert.equal(rawFind([], CT), -1);
});

const EVENT_STREAM = Buffer.from('text/event-stream', 'latin1');
const contentTypes: ReadonlyArray<{ name: string; pairs: Pairs }> = [
  { name: 'an SSE type', pairs: [['content-type', 'text/event-stream']] },
  { name: 'with parameters, name in another case', pairs: [['Content-Type', 'text/event-stream; charset=utf-8']] },
  { name: 'JSON', pairs: [['content-type', 'application/json']] },
  { name: 'none', pairs: [['x-content-type', 'text/event-stream']] },
  { name: 'the value in another case (not a stream, as before)', pairs: [['content-type', 'Text/Event-Stream']] },
  { name: 'sent twice, the stream second', pairs: [['content-type', 'application/json'], ['Content-Type', 'text/event-stream']] },
  { name: 'sent twice, neither a stream', pairs: [['content-type', 'text/event'], ['content-type', '-stream']] },
  { name: 'a near miss, then the type at the very end', pairs: [['content-type', 'text/event-strea; text/event-stream']] },
  { name: 'cut one byte short', pairs: [['content-type', 'x; text/event-strea']] },
  { name: 'empty', pairs: [['content-type', '']] },
];
for (const c of contentTypes) {
  test(`rawIncludes is String(parsed).includes: ${c.name}`, () => {
    const want = String(parsed(c.pairs)['content-type'] ?? '').includes('text/event-stream');
    assert.equal(rawIncludes(raw(c.pairs), CT, EVENT_STREAM), want);
  });
}

test('rawName: only a lower-case header name', () => {
  assert.deepEqual(rawName('retry-after'), Buffer.from('retry-after'));
  assert.throws(() => rawName('Retry-After'));
  assert.throws(() => rawName('x_id'));
});
