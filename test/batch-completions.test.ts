/**
 * Batch completions (LiteLLM's `model: "a,b"` on /chat/completions): a JSON list with one
 * answer per group, or with `fastest_response: true` the first to succeed while the others'
 * upstream calls are cancelled, which the recording mock upstreams see.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { RunningProxy } from '../src/index.js';
import { MAX_BATCH_MODELS } from '../src/router/batch.js';
import { startMockUpstreams, type MockUpstream } from './support/mock-upstream.js';
import { eventually, post, startTestProxy, type RawResponse } from './support/proxy.js';
import { deployment, TEST_API_KEY } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];
type Completion = { model: string; choices: Array<{ message: { content: string } }> };
type Envelope = { error: { message: string; type: string; code: string } };

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function chat(url: string, model: string, extra: Record<string, unknown> = {}): Promise<RawResponse> {
  return post(`${url}/v1/chat/completions`, { model, messages: msg, ...extra });
}

describe('batch completions', () => {
  let ups: MockUpstream[];
  let proxy: RunningProxy;

  before(async () => {
    ups = await startMockUpstreams(3, cleanups);
    proxy = await startTestProxy(`model_list:${deployment('a', ups[0]!)}${deployment('b', ups[1]!)}${deployment('c', ups[2]!)}${deployment('x,y', ups[2]!, { info: { id: 'comma-group' } })}
router_settings:
  num_retries: 0
`);
    cleanups.push(() => proxy.close());
  });

  function reset(): void {
    for (const u of ups) u.reset();
    ups[0]!.setBehavior({ kind: 'ok', content: 'from a' });
    ups[1]!.setBehavior({ kind: 'ok', content: 'from b' });
    ups[2]!.setBehavior({ kind: 'ok', content: 'from c' });
  }

  test('model "a, b" answers a JSON list, one completion per group in the order given', async () => {
    reset();
    const r = await chat(proxy.url, ' b , a', { fastest_response: false });
    assert.equal(r.status, 200);
    const list = r.json as Completion[];
    assert.ok(Array.isArray(list));
    assert.deepEqual(list.map((c) => [c.model, c.choices[0]!.message.content]), [['b', 'from b'], ['a', 'from a']]);
    assert.equal(ups[0]!.requests.length, 1);
    assert.equal(ups[1]!.requests.length, 1);
    // Each group gets the request as its own, with its own upstream model and no batch fields.
    const body = ups[0]!.requests[0]!.body as Record<string, unknown>;
    assert.equal(body.model, 'm');
    assert.equal('fastest_response' in body, false);
  });

  test('a group that fails has its error envelope in its place; the others still answer', async () => {
    reset();
    ups[1]!.setBehavior({ kind: 'status', status: 400, body: { error: { message: 'bad thing', type: 'invalid_request_error', param: null, code: null } } });
    const r = await chat(proxy.url, 'a,b,nope');
    assert.equal(r.status, 200);
    const [a, b, nope] = r.json as [Completion, Envelope, Envelope];
    assert.equal(a.choices[0]!.message.content, 'from a');
    assert.equal(b.error.code, '400');
    assert.match(b.error.message, /bad thing/);
    assert.match(nope.error.message, /Invalid model name passed in model=nope/);
    assert.doesNotMatch(r.text, new RegExp(TEST_API_KEY));
  });

  test('every group failing is an error with the first group\'s status and every cause', async () => {
    reset();
    ups[0]!.setBehavior({ kind: 'status', status: 503 });
    ups[1]!.setBehavior({ kind: 'status', status: 400 });
    const r = await chat(proxy.url, 'a,b');
    assert.equal(r.status, 503);
    const e = (r.json as Envelope).error;
    assert.match(e.message, /^All 2 models of the batch failed: 1\. a: 503 .*; 2\. b: 400 /);
  });

  test('fastest_response: the first group to answer wins; the slower one is cancelled upstream', async () => {
    reset();
    ups[0]!.setBehavior({ kind: 'hang' });
    ups[1]!.setBehavior({ kind: 'ok', content: 'from b', delayMs: 50 });
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'a,b', messages: [{ role: 'user', content: 'hi' }], fastest_response: true } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    assert.equal(data.choices[0]!.message.content, 'from b');
    assert.equal(data.model, 'b');
    assert.equal(response.headers.get('x-litellm-fastest_response_batch_completion'), 'True');
    assert.equal(response.headers.get('x-litellm-model-group'), 'b');
    await ups[0]!.waitForRequests(1);
    await ups[0]!.waitForAbort(0);
    await eventually(() => proxy.router.inFlight() === 0, 3000, 'leases released');
    // A cancel is not the deployment's fault: a is not cooling down.
    assert.equal(proxy.router.snapshot().groups.a!.deployments[0]!.cooldownUntil, 0);
  });

  test('fastest_response: a failing group does not win; all failing is "All tasks failed" with the first group\'s status', async () => {
    reset();
    ups[0]!.setBehavior({ kind: 'status', status: 500 });
    ups[1]!.setBehavior({ kind: 'ok', content: 'from b', delayMs: 100 });
    const won = await chat(proxy.url, 'a,b', { fastest_response: true });
    assert.equal(won.status, 200);
    assert.equal((won.json as Completion).choices[0]!.message.content, 'from b');
    ups[1]!.setBehavior({ kind: 'status', status: 429 });
    const lost = await chat(proxy.url, 'a,b', { fastest_response: 'true' });
    assert.equal(lost.status, 500);
    assert.match((lost.json as Envelope).error.message, /^All tasks failed: 1\. a: 500 .*; 2\. b: 429 /);
  });

  test('fastest_response with stream: the first stream to start is relayed whole; the other is cancelled', async () => {
    reset();
    ups[0]!.setBehavior({ kind: 'hang' });
    ups[1]!.setBehavior({ kind: 'stream', chunks: 4, chunkDelayMs: 10 });
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions.create({ model: 'a,b', messages: [{ role: 'user', content: 'hi' }], stream: true, fastest_response: true } as OpenAI.ChatCompletionCreateParamsStreaming).withResponse();
    assert.equal(response.headers.get('x-litellm-fastest_response_batch_completion'), 'True');
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      assert.equal(c.model, 'b');
    }
    assert.ok(chunks >= 4, `${chunks} chunks`);
    await ups[0]!.waitForAbort(0);
    await eventually(() => proxy.router.inFlight() === 0, 3000, 'leases released');
  });

  test('a client that leaves cancels every group\'s upstream call', async () => {
    reset();
    ups[0]!.setBehavior({ kind: 'hang' });
    ups[1]!.setBehavior({ kind: 'hang' });
    const ac = new AbortController();
    const pending = fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'a,b', messages: msg }), signal: ac.signal }).catch(() => null);
    await ups[0]!.waitForRequests(1);
    await ups[1]!.waitForRequests(1);
    ac.abort();
    await pending;
    await ups[0]!.waitForAbort(0);
    await ups[1]!.waitForAbort(0);
    await eventually(() => proxy.router.inFlight() === 0, 3000, 'leases released');
  });

  test('refused before any call: an empty name, too many names, a list of streams', async () => {
    reset();
    const empty = await chat(proxy.url, 'a,');
    assert.equal(empty.status, 400);
    assert.match((empty.json as Envelope).error.message, /empty name/);
    const many = await chat(proxy.url, Array(MAX_BATCH_MODELS + 1).fill('a').join(','));
    assert.equal(many.status, 400);
    const streams = await chat(proxy.url, 'a,b', { stream: true });
    assert.equal(streams.status, 400);
    assert.match((streams.json as Envelope).error.message, /fastest_response/);
    assert.equal(ups[0]!.requests.length + ups[1]!.requests.length, 0);
  });

  test('a group whose name holds a comma is routed as that group, not batched', async () => {
    reset();
    const r = await chat(proxy.url, 'x,y');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-model-id'), 'comma-group');
    assert.equal((r.json as Completion).model, 'x,y');
  });

  test('only chat completions batch: elsewhere "a,b" is a model name like any other', async () => {
    const r = await post(`${proxy.url}/v1/embeddings`, { model: 'a,b', input: 'hi' });
    assert.equal(r.status, 400);
    assert.match((r.json as Envelope).error.message, /Invalid model name passed in model=a,b/);
  });
});
