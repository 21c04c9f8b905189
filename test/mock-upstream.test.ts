/**
 * The mock upstream is what every end-to-end test trusts, so its own behaviors get a check:
 * shapes the OpenAI clients parse, statuses with headers, SSE framing, abort recording, Azure paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMockUpstream } from './support/mock-upstream.js';
import type { MockUpstream } from './support/mock-upstream.js';

async function mock(t: { after: (fn: () => Promise<void>) => void }): Promise<MockUpstream> {
  const m = await startMockUpstream();
  t.after(() => m.close());
  return m;
}

function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' }, body: JSON.stringify(body), ...init });
}

/** The JSON payloads of an SSE body, with the terminal [DONE] kept as a string. */
function sseData(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => f.slice(6))
    .map((d) => (d === '[DONE]' ? d : (JSON.parse(d) as unknown)));
}

test('ok answers a chat.completion echoing the model and records the request', async (t) => {
  const m = await mock(t);
  const res = await post(`${m.url}/v1/chat/completions`, { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { object: string; model: string; choices: { message: { content: string } }[]; usage: { total_tokens: number } };
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.model, 'gpt-x');
  assert.equal(body.choices[0]?.message.content, 'Hello from mock');
  assert.equal(body.usage.total_tokens, 12);
  assert.equal(m.requests.length, 1);
  const r = m.requests[0]!;
  assert.equal(r.method, 'POST');
  assert.equal(r.path, '/v1/chat/completions');
  assert.equal(r.headers.authorization, 'Bearer sk-test');
  assert.deepEqual(r.body, { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.aborted, false);
});

test('completions, embeddings and unknown routes', async (t) => {
  const m = await mock(t);
  m.setBehavior({ kind: 'ok', content: 'custom' });
  const c = (await (await post(`${m.url}/completions`, { model: 'm', prompt: 'x' })).json()) as { object: string; choices: { text: string }[] };
  assert.equal(c.object, 'text_completion');
  assert.equal(c.choices[0]?.text, 'custom');

  const e = (await (await post(`${m.url}/v1/embeddings`, { model: 'm', input: ['a', 'b'] })).json()) as { data: { embedding: number[] }[] };
  assert.equal(e.data.length, 2);
  assert.equal(e.data[0]?.embedding.length, 3);

  const nf = await post(`${m.url}/v1/nope`, {});
  assert.equal(nf.status, 404);
  const err = (await nf.json()) as { error: { type: string } };
  assert.equal(err.error.type, 'invalid_request_error');
  assert.equal(m.requests.length, 3, 'unknown routes are recorded too');
});

test('status answers the given status, body and headers; a function picks per request', async (t) => {
  const m = await mock(t);
  m.setBehavior((r) => (m.requests.indexOf(r) === 0 ? { kind: 'status', status: 429, headers: { 'retry-after': '3' } } : { kind: 'ok' }));
  const first = await post(`${m.url}/v1/chat/completions`, { model: 'm', messages: [] });
  assert.equal(first.status, 429);
  assert.equal(first.headers.get('retry-after'), '3');
  const err = (await first.json()) as { error: { message: string } };
  assert.equal(err.error.message, 'mock failure');
  const second = await post(`${m.url}/v1/chat/completions`, { model: 'm', messages: [] });
  assert.equal(second.status, 200);
  await second.arrayBuffer();

  m.reset();
  assert.equal(m.requests.length, 0);
  const third = await post(`${m.url}/v1/chat/completions`, { model: 'm', messages: [] });
  assert.equal(third.status, 200, 'reset restores ok');
  await third.arrayBuffer();
});

test('stream: true on ok streams chunks, a stop chunk, usage when asked, then [DONE]', async (t) => {
  const m = await mock(t);
  const res = await post(`${m.url}/v1/chat/completions`, { model: 'm', messages: [], stream: true, stream_options: { include_usage: true } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const frames = sseData(await res.text());
  assert.equal(frames.at(-1), '[DONE]');
  const chunks = frames.slice(0, -1) as { object: string; choices: { delta: { content?: string }; finish_reason: string | null }[]; usage?: unknown }[];
  assert.equal(chunks.length, 5, '3 content + stop + usage');
  assert.deepEqual(
    chunks.slice(0, 3).map((c) => c.choices[0]?.delta.content),
    ['tok0 ', 'tok1 ', 'tok2 '],
  );
  assert.equal(chunks[3]?.choices[0]?.finish_reason, 'stop');
  assert.deepEqual(chunks[4]?.usage, { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 }, 'the ok behavior usage, streamed or not');
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
});

test('stream kind with dieAfter cuts the connection mid-stream without marking an abort', async (t) => {
  const m = await mock(t);
  m.setBehavior({ kind: 'stream', chunks: 5, chunkDelayMs: 5, dieAfter: 2 });
  const res = await post(`${m.url}/v1/chat/completions`, { model: 'm', messages: [], stream: true });
  assert.equal(res.status, 200);
  let text = '';
  await assert.rejects(async () => {
    for await (const part of res.body!) text += Buffer.from(part).toString('utf8');
  });
  assert.equal(sseData(text).length, 2);
  assert.equal(m.requests[0]?.aborted, false);
});

test('hang never answers; the client going away sets aborted', async (t) => {
  const m = await mock(t);
  m.setBehavior({ kind: 'hang' });
  const ac = new AbortController();
  const pending = post(`${m.url}/v1/chat/completions`, { model: 'm', messages: [] }, { signal: ac.signal });
  await m.waitForRequests(1);
  assert.equal(m.requests[0]?.aborted, false);
  ac.abort();
  await assert.rejects(pending);
  await m.waitForAbort(0);
  assert.equal(m.requests[0]?.aborted, true);
});

test('client abort mid-stream sets aborted', async (t) => {
  const m = await mock(t);
  m.setBehavior({ kind: 'stream', chunks: 100, chunkDelayMs: 20 });
  const ac = new AbortController();
  const res = await post(`${m.url}/v1/chat/completions`, { model: 'm', messages: [], stream: true }, { signal: ac.signal });
  const reader = res.body!.getReader();
  await reader.read();
  ac.abort();
  await m.waitForAbort(0);
});

test('destroy closes the socket without a response', async (t) => {
  const m = await mock(t);
  m.setBehavior({ kind: 'destroy' });
  await assert.rejects(post(`${m.url}/v1/chat/completions`, { model: 'm', messages: [] }));
  assert.equal(m.requests.length, 1);
  assert.equal(m.requests[0]?.aborted, false);
});

test('azure deployment paths answer with the query recorded', async (t) => {
  const m = await mock(t);
  const res = await post(`${m.url}/openai/deployments/my-gpt4/chat/completions?api-version=2024-06-01`, { messages: [] });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { model: string };
  assert.equal(body.model, 'my-gpt4', 'model falls back to the deployment name');
  const r = m.requests[0]!;
  assert.equal(r.path, '/openai/deployments/my-gpt4/chat/completions');
  assert.equal(r.query.get('api-version'), '2024-06-01');

  const e = await post(`${m.url}/openai/deployments/emb/embeddings?api-version=x`, { input: 'a' });
  assert.equal(((await e.json()) as { data: unknown[] }).data.length, 1);
});
