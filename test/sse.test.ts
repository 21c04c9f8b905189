import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseRestamper } from '../src/upstream/sse.js';

const ev = (o: unknown): string => `data: ${JSON.stringify(o)}\n\n`;

test('SSE restamper: events split across reads are joined, restamped, and usage picked up', () => {
  const s = new SseRestamper('my-group');
  const whole = ev({ model: 'gpt-4o-2024', choices: [{ delta: { content: 'Hi' } }] }) + ev({ model: 'x', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }) + 'data: [DONE]\n\n';
  let out = '';
  for (let i = 0; i < whole.length; i += 7) out += s.push(whole.slice(i, i + 7));
  out += s.flush();
  const events = out.split('\n\n').filter(Boolean);
  assert.equal(events.length, 3);
  assert.equal(JSON.parse(events[0]!.slice(6)).model, 'my-group');
  assert.equal(events[2], 'data: [DONE]');
  assert.deepEqual(s.usage, { promptTokens: 3, completionTokens: 2, totalTokens: 5 });
  assert.equal(s.done, true);
});

test('SSE restamper: CRLF line endings and comments', () => {
  const s = new SseRestamper('g');
  const out = s.push(': keep-alive\r\n\r\ndata: {"model":"m"}\r\n\r\n');
  assert.equal(out, ': keep-alive\n\ndata: {"model":"g"}\n\n');
  assert.equal(s.done, false);
});

/** An OpenAI-like chunk: every chunk of one stream starts with the same id, object, created and model. */
const chunk = (rest: string, model = '"gpt-4o-2024"'): string =>
  `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":${model},"system_fingerprint":"fp"${rest}}`;
const data = (payload: string): string => `data: ${payload}\n\n`;

test('SSE restamper: chunks after the first of a stream relay their own bytes, model restamped', () => {
  const s = new SseRestamper('g');
  const rests = [
    ',"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]',
    ',"choices":[{"index":0,"delta":{"content":"He said \\"model\\": 1 \\\\ 2"},"finish_reason":null}]',
    ',"choices":[{"index":0,"delta":{"content":"usage error model"},"finish_reason":null}]',
    ', "choices" : [ {"index":0,"delta":{},"finish_reason":"stop"} ]',
  ];
  for (const r of rests) {
    const out = s.push(data(chunk(r)));
    assert.equal(out, data(chunk(r, '"g"')), r);
  }
});

test('SSE restamper: after the prefix is known, chunks that carry usage, an error or a second model still take the careful path', () => {
  // Each case runs on a restamper that has seen one chunk (so knows the prefix) and on a fresh
  // one (which does not): the two must relay the same text and read the same usage and failure.
  const learn = data(chunk(',"choices":[{"index":0,"delta":{"content":"a"}}]'));
  const cases = [
    chunk(',"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}'),
    chunk(',"choices":[],"us\\u0061ge":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}'),
    chunk(',"error":{"message":"boom","code":500}'),
    chunk(',"\\u0065rror":{"message":"escaped","code":429}'),
    chunk(',"choices":[],"model":"second"'),
    chunk(',"choices":[{"index":0,"delta":{"model":"nested","content":"x"}}]'),
    chunk(',"choices":[{"index":0,"delta":{"content":"\\u00e9t\\u00e9"}}]'),
  ];
  for (const c of cases) {
    const warm = new SseRestamper('g');
    warm.push(learn);
    const fresh = new SseRestamper('g');
    assert.equal(warm.push(data(c)), fresh.push(data(c)), c);
    assert.deepEqual(warm.usage, fresh.usage, c);
    assert.equal(warm.failure, fresh.failure, c);
  }
  // And the values themselves, for the usage and error cases.
  const u = new SseRestamper('g');
  u.push(learn);
  u.push(data(cases[1]!));
  assert.deepEqual(u.usage, { promptTokens: 4, completionTokens: 1, totalTokens: 5 });
  const e = new SseRestamper(null);
  e.push(learn);
  assert.equal(e.push(data(cases[2]!)), '');
  assert.equal(e.failure, cases[2]);
});

test('SSE restamper: a prefix is only reused when the model is the same string', () => {
  const s = new SseRestamper('g');
  // A number model: `12` is a prefix of `123`; the second must not become `g3`.
  assert.equal(s.push(data('{"model":12,"choices":[]}')), data('{"model":"g","choices":[]}'));
  assert.equal(s.push(data('{"model":123,"choices":[]}')), data('{"model":"g","choices":[]}'));
  const t = new SseRestamper('g');
  t.push(data(chunk(',"choices":[]')));
  assert.equal(t.push(data(chunk(',"choices":[]', '"gpt-4o-2024-mini"'))), data(chunk(',"choices":[]', '"g"')));
  // Keeping the upstream's model (a fallback answered): the chunk's bytes as they came.
  const k = new SseRestamper(null);
  k.push(data(chunk(',"choices":[]')));
  assert.equal(k.push(data(chunk(',"choices":[1]'))), data(chunk(',"choices":[1]')));
});
