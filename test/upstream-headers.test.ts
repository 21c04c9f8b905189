/**
 * The upstream's x-request-id, openai-processing-ms and x-ratelimit-* come back as
 * `llm_provider-<name>` (LiteLLM's prefix), streaming or not and on errors; an upstream's own
 * x-ratelimit-* are passed through and replace the group's computed ones of the same name;
 * nothing else of the upstream's headers is relayed, and a key echoed in one is cut out.
 * Names count in any case; a header sent twice counts with its first value. An upstream
 * error's Retry-After comes back to the client. All of it alike for streams, including an
 * upstream that answers a stream request with JSON, and the final answer after a 103.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { post, startTestProxy } from './support/proxy.js';
import { deployment, TEST_API_KEY } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(rpm: number | null, extra = ''): Promise<{ up: MockUpstream; url: string }> {
  const up = await startMockUpstream();
  cleanups.push(() => up.close());
  const proxy = await startTestProxy(`model_list:${deployment('g', up, rpm === null ? {} : { params: { rpm } })}${extra}`);
  cleanups.push(() => proxy.close());
  return { up, url: proxy.url };
}

const upstreamHeaders = {
  'x-request-id': 'req_upstream_123',
  'openai-processing-ms': '42',
  'x-ratelimit-remaining-requests': '4999',
  'x-ratelimit-limit-requests': '5000',
  'x-internal-thing': 'not-relayed',
};

test('non-stream: llm_provider-* relayed, upstream x-ratelimit-* passed through over the group\'s, other headers not relayed', async () => {
  const { up, url } = await setup(10);
  up.setBehavior({ kind: 'ok', headers: upstreamHeaders });
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('llm_provider-x-request-id'), 'req_upstream_123');
  assert.equal(r.headers.get('llm_provider-openai-processing-ms'), '42');
  assert.equal(r.headers.get('llm_provider-x-ratelimit-remaining-requests'), '4999');
  // The upstream's own, not the group's computed 10 − 1.
  assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '4999');
  assert.equal(r.headers.get('x-ratelimit-limit-requests'), '5000');
  assert.equal(r.headers.get('llm_provider-x-internal-thing'), null);
  assert.equal(r.headers.get('x-internal-thing'), null);
});

test('without upstream rate-limit headers the group\'s computed x-ratelimit-* stay', async () => {
  const { up, url } = await setup(10);
  up.setBehavior({ kind: 'ok', headers: { 'x-request-id': 'req_2' } });
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(r.headers.get('llm_provider-x-request-id'), 'req_2');
  assert.equal(r.headers.get('x-ratelimit-limit-requests'), '10');
  assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '9');
  assert.equal(r.headers.get('llm_provider-x-ratelimit-remaining-requests'), null);
});

test('stream: the relayed headers arrive with the 200', async () => {
  const { up, url } = await setup(null);
  up.setBehavior({ kind: 'stream', chunks: 2, headers: upstreamHeaders });
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg, stream: true });
  assert.equal(r.status, 200);
  assert.match(r.text, /\[DONE\]/);
  assert.equal(r.headers.get('llm_provider-x-request-id'), 'req_upstream_123');
  assert.equal(r.headers.get('llm_provider-openai-processing-ms'), '42');
  assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '4999');
});

test('an upstream error relays them too; a key echoed in one is cut out', async () => {
  const { up, url } = await setup(null);
  up.setBehavior({ kind: 'status', status: 400, headers: { 'x-request-id': `echo-${TEST_API_KEY}`, 'openai-processing-ms': '7' } });
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('llm_provider-openai-processing-ms'), '7');
  const id = r.headers.get('llm_provider-x-request-id') ?? '';
  assert.ok(id.startsWith('echo-') && !id.includes(TEST_API_KEY), id);
  for (const [, v] of r.headers) assert.ok(!v.includes(TEST_API_KEY));
});

test('names in any case count; a header sent twice is relayed once, with its first value', async () => {
  const { up, url } = await setup(null);
  up.setBehavior({
    kind: 'ok',
    headers: {
      'X-Request-ID': ['req_first', 'req_second'],
      'OpenAI-Processing-Ms': '9',
      'X-RateLimit-Remaining-Tokens': ['123', '456'],
      'X-RATELIMIT-RESET-REQUESTS': '6ms',
      // Same lengths as relayed names, not relayed.
      'x-request-ix': 'no',
      'x-ratelimit-limit-requestz': 'no',
    },
  });
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('llm_provider-x-request-id'), 'req_first');
  assert.equal(r.headers.get('llm_provider-openai-processing-ms'), '9');
  assert.equal(r.headers.get('llm_provider-x-ratelimit-remaining-tokens'), '123');
  assert.equal(r.headers.get('x-ratelimit-remaining-tokens'), '123');
  assert.equal(r.headers.get('llm_provider-x-ratelimit-reset-requests'), '6ms');
  assert.equal(r.headers.get('x-ratelimit-reset-requests'), '6ms');
  assert.equal(r.headers.get('llm_provider-x-ratelimit-limit-requests'), null);
  assert.equal(r.headers.get('x-request-ix'), null);
  assert.equal(r.headers.get('llm_provider-x-request-ix'), null);
});

test("an upstream 429's Retry-After, in any case, reaches the client; sent twice, its first value counts", async () => {
  const { up, url } = await setup(null, '\nrouter_settings:\n  num_retries: 0\n');
  up.setBehavior({ kind: 'status', status: 429, headers: { 'Retry-After': ['17', '99'], 'X-Request-Id': 'req_429' } });
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(r.status, 429);
  assert.equal(r.headers.get('retry-after'), '17');
  assert.equal(r.headers.get('llm_provider-x-request-id'), 'req_429');
  assert.equal(up.requests.length, 1);
});

test('an upstream error without Retry-After gets none from it', async () => {
  const { up, url } = await setup(null, '\nrouter_settings:\n  num_retries: 0\n');
  up.setBehavior({ kind: 'status', status: 400, headers: { 'x-retry-after': '17' } });
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('retry-after'), null);
});

test('stream: names in any case count; a header sent twice is relayed once, with its first value', async () => {
  const { up, url } = await setup(null);
  up.setBehavior({
    kind: 'stream',
    chunks: 2,
    headers: { 'X-Request-ID': ['req_first', 'req_second'], 'OpenAI-Processing-Ms': '9', 'X-RateLimit-Remaining-Tokens': ['123', '456'], 'x-request-ix': 'no' },
  });
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg, stream: true });
  assert.equal(r.status, 200);
  assert.match(r.text, /tok1 [\s\S]*\[DONE\]/);
  assert.equal(r.headers.get('llm_provider-x-request-id'), 'req_first');
  assert.equal(r.headers.get('llm_provider-openai-processing-ms'), '9');
  assert.equal(r.headers.get('llm_provider-x-ratelimit-remaining-tokens'), '123');
  assert.equal(r.headers.get('x-ratelimit-remaining-tokens'), '123');
  assert.equal(r.headers.get('llm_provider-x-request-ix'), null);
});

test("stream: an upstream 429's Retry-After, in any case, reaches the client with the relayed headers; sent twice, its first value counts", async () => {
  const { up, url } = await setup(null, '\nrouter_settings:\n  num_retries: 0\n');
  up.setBehavior({ kind: 'status', status: 429, headers: { 'Retry-After': ['17', '99'], 'X-Request-Id': 'req_429', 'OPENAI-PROCESSING-MS': '3' } });
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg, stream: true });
  assert.equal(r.status, 429);
  assert.equal(r.headers.get('retry-after'), '17');
  assert.equal(r.headers.get('llm_provider-x-request-id'), 'req_429');
  assert.equal(r.headers.get('llm_provider-openai-processing-ms'), '3');
  assert.equal(up.requests.length, 1);
});

/** An upstream answering every request with `answer`; closed after the tests. */
async function plainUpstream(answer: (res: import('node:http').ServerResponse) => void): Promise<string> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function proxyTo(base: string): Promise<string> {
  const proxy = await startTestProxy(`model_list:${deployment('g', base)}`);
  cleanups.push(() => proxy.close());
  return proxy.url;
}

const CHUNK = (text: string): string => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;

test('stream: an upstream that answers JSON instead relays its headers, and its body as one event', async () => {
  const body = JSON.stringify({ id: 'x1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'whole answer' }, finish_reason: 'stop' }] });
  const url = await proxyTo(await plainUpstream((res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'X-Request-Id': 'req_json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }));
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg, stream: true });
  assert.equal(r.status, 200);
  assert.match(r.text, /^data: \{.*"whole answer".*\}\n\ndata: \[DONE\]\n\n$/s);
  assert.equal(r.headers.get('llm_provider-x-request-id'), 'req_json');
});

test('stream: after an informational 103 the final answer counts: its stream, its headers', async () => {
  const url = await proxyTo(await plainUpstream((res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'X-Request-Id': 'req_after_103' });
    res.write(CHUNK('one '));
    setTimeout(() => res.end(`${CHUNK('two')}data: [DONE]\n\n`), 20);
  }));
  const r = await post(`${url}/v1/chat/completions`, { model: 'g', messages: msg, stream: true });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('llm_provider-x-request-id'), 'req_after_103');
  const events = r.text.split('\n\n').filter((e) => e !== '');
  assert.equal(events.length, 3, r.text);
  assert.match(events[0]!, /"content":"one "/);
  assert.match(events[1]!, /"content":"two"/);
  assert.equal(events[2], 'data: [DONE]');
});
