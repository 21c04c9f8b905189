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
