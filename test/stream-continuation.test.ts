/**
 * A stream that breaks after its first byte continues on the group's fallback (LiteLLM's
 * mid-stream fallback), and the client reads one coherent stream: one id, one role chunk, no
 * repeated text, one [DONE]. Through HTTP and the official openai client against recording
 * mock upstreams, which show what the fallback was asked.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { RunningProxy } from '../src/index.js';
import { CONTINUATION_PROMPT } from '../src/router/plan.js';
import { type MockUpstream, startMockUpstreams } from './support/mock-upstream.js';
import { dispatchModes, eventually, post, startTestProxy, type RawResponse } from './support/proxy.js';
import { deployment } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const upstreams = (n: number): Promise<MockUpstream[]> => startMockUpstreams(n, cleanups);

async function proxyFor(yaml: string, workers = 1): Promise<RunningProxy> {
  const p = await startTestProxy(yaml, { workers });
  cleanups.push(() => p.close());
  return p;
}

function stream(url: string, model: string, extra: Record<string, unknown> = {}): Promise<RawResponse> {
  return post(`${url}/v1/chat/completions`, { model, messages: msg, stream: true, ...extra });
}

interface Chunk {
  id: string;
  created: number;
  model: string;
  choices: Array<{ index: number; delta: { role?: string; content?: string }; finish_reason: string | null }>;
  error?: unknown;
}

/** The SSE body as the client reads it: JSON events, the count of [DONE], and the text. */
function read(text: string): { chunks: Chunk[]; done: number; content: string; roles: number; errors: number } {
  const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
  const chunks = events.filter((e) => e !== 'data: [DONE]').map((e) => JSON.parse(e.slice(6)) as Chunk);
  const content = chunks.map((c) => c.choices?.map((ch) => ch.delta?.content ?? '').join('') ?? '').join('');
  return {
    chunks,
    done: events.filter((e) => e === 'data: [DONE]').length,
    content,
    roles: chunks.filter((c) => c.choices?.some((ch) => ch.delta?.role !== undefined)).length,
    errors: chunks.filter((c) => c.error !== undefined).length,
  };
}

/** A (model-a) falls back to B (model-b), which falls back to C. */
function config(a: MockUpstream, b: MockUpstream, c?: MockUpstream, fallbacks = '[{"A": ["B"]}, {"B": ["C"]}]'): string {
  return `model_list:${deployment('A', a, { model: 'openai/model-a', info: { id: 'dep-a' } })}${deployment('B', b, { model: 'openai/model-b' })}${c ? deployment('C', c, { model: 'openai/model-c' }) : ''}
router_settings:
  num_retries: 0
  fallbacks: ${fallbacks}
`;
}

describe('a stream that breaks after its first byte continues on the fallback', () => {
  for (const mode of dispatchModes) {
    test(`one coherent stream; the fallback gets LiteLLM's continuation prompt and the text so far (${mode.label} dispatch)`, async () => {
      const [a, b] = await upstreams(2);
      a!.setBehavior({ kind: 'stream', chunks: 5, dieAfter: 2 });
      b!.setBehavior({ kind: 'stream', chunks: 2, texts: ['tok2 ', 'end.'] });
      const proxy = await proxyFor(config(a!, b!), mode.workers);
      const r = await stream(proxy.url, 'A');
      assert.equal(r.status, 200);
      const s = read(r.text);
      assert.equal(s.content, 'tok0 tok1 tok2 end.');
      assert.equal(s.errors, 0, r.text);
      assert.equal(s.done, 1);
      assert.ok(r.text.endsWith('data: [DONE]\n\n'));
      assert.equal(s.roles, 1, 'one role chunk');
      assert.deepEqual([...new Set(s.chunks.map((c) => c.id))], [s.chunks[0]!.id], 'one id on every chunk');
      assert.deepEqual([...new Set(s.chunks.map((c) => c.created))], [s.chunks[0]!.created]);
      assert.equal(s.chunks.filter((c) => c.choices.some((ch) => ch.finish_reason !== null)).length, 1);
      // The first chunks were A's (the requested name); the rest come from the fallback, named as it answered.
      assert.equal(s.chunks[0]!.model, 'A');
      assert.equal(s.chunks.at(-1)!.model, 'model-b');
      assert.equal(b!.requests.length, 1);
      const sent = b!.requests[0]!.body as { messages: unknown[]; model: string };
      assert.equal(sent.model, 'model-b');
      assert.deepEqual(sent.messages, [
        ...msg,
        { role: 'system', content: CONTINUATION_PROMPT },
        { role: 'assistant', content: 'tok0 tok1 ', prefix: true },
      ]);
      await eventually(() => proxy.router.snapshot().groups.A!.deployments[0]!.failures === 1, 2000, 'the break counted against A');
      await eventually(() => proxy.router.snapshot().inFlight === 0, 2000, 'in-flight back to zero');
    });
  }

  test('a fallback that repeats the text the client already has is cut to what is new', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'stream', chunks: 5, dieAfter: 2 });
    b!.setBehavior({ kind: 'stream', chunks: 4, texts: ['tok0 ', 'tok1 ', 'tok2 ', 'tok3'] });
    const proxy = await proxyFor(config(a!, b!));
    const s = read((await stream(proxy.url, 'A')).text);
    assert.equal(s.content, 'tok0 tok1 tok2 tok3');
    assert.equal(s.roles, 1);
    assert.equal(s.done, 1);
  });

  test('chains: the fallback breaks too and its own fallback continues from everything sent so far', async () => {
    const [a, b, c] = await upstreams(3);
    a!.setBehavior({ kind: 'stream', chunks: 5, dieAfter: 2 });
    b!.setBehavior({ kind: 'stream', chunks: 3, texts: ['tok2 ', 'lost', 'lost'], dieAfter: 1 });
    c!.setBehavior({ kind: 'stream', chunks: 1, texts: ['tok3.'] });
    const proxy = await proxyFor(config(a!, b!, c!));
    const r = await stream(proxy.url, 'A');
    const s = read(r.text);
    assert.equal(s.content, 'tok0 tok1 tok2 tok3.');
    assert.equal(s.errors, 0, r.text);
    assert.equal(s.done, 1);
    assert.equal(new Set(s.chunks.map((ch) => ch.id)).size, 1);
    const toC = c!.requests[0]!.body as { messages: Array<{ content: string }> };
    assert.equal(toC.messages.at(-1)!.content, 'tok0 tok1 tok2 ');
    assert.equal(toC.messages.length, 3, 'one continuation prompt, not one per break');
  });

  test("after a fallback before the first byte, a break continues on the requested group's next fallback", async () => {
    const [a, b, c] = await upstreams(3);
    a!.setBehavior({ kind: 'status', status: 503 });
    b!.setBehavior({ kind: 'stream', chunks: 5, dieAfter: 2 });
    c!.setBehavior({ kind: 'stream', chunks: 1, texts: ['tok2.'] });
    const proxy = await proxyFor(config(a!, b!, c!, '[{"A": ["B", "C"]}]'));
    const r = await stream(proxy.url, 'A');
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '1');
    const s = read(r.text);
    assert.equal(s.content, 'tok0 tok1 tok2.');
    assert.equal(s.done, 1);
    assert.equal(s.roles, 1);
    assert.deepEqual([a!.requests.length, b!.requests.length, c!.requests.length], [1, 1, 1]);
    assert.equal((c!.requests[0]!.body as { messages: Array<{ content: string }> }).messages.at(-1)!.content, 'tok0 tok1 ');
  });

  test("an upstream's mid-stream error event (5xx) continues too; a 4xx one does not", async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'stream', chunks: 5, errorAfter: { chunks: 1, status: 503 } });
    b!.setBehavior({ kind: 'stream', chunks: 1, texts: ['rest'] });
    const proxy = await proxyFor(config(a!, b!));
    const ok = read((await stream(proxy.url, 'A')).text);
    assert.equal(ok.content, 'tok0 rest');
    assert.equal(ok.done, 1);
    a!.setBehavior({ kind: 'stream', chunks: 5, errorAfter: { chunks: 1, status: 400 } });
    const r = await stream(proxy.url, 'A');
    const bad = read(r.text);
    assert.equal(bad.done, 0);
    assert.equal(bad.errors, 1);
    assert.match(r.text.split('\n\n').filter(Boolean).at(-1)!, /^data: \{"error".*mock mid-stream failure 400/);
    assert.equal(b!.requests.length, 1, 'only the 5xx reached the fallback');
  });

  test('a fallback that fails before its first byte leaves the original error event, no [DONE]', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'stream', chunks: 5, dieAfter: 2 });
    b!.setBehavior({ kind: 'status', status: 503 });
    const proxy = await proxyFor(config(a!, b!));
    const r = await stream(proxy.url, 'A');
    const s = read(r.text);
    assert.equal(s.content, 'tok0 tok1 ');
    assert.equal(s.done, 0);
    assert.equal(s.errors, 1);
    assert.equal(b!.requests.length, 1);
    await eventually(() => proxy.router.snapshot().inFlight === 0, 2000, 'in-flight back to zero');
  });

  test('without a fallback the break ends the stream with an error event, as before', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'stream', chunks: 5, dieAfter: 2 });
    const proxy = await proxyFor(config(a!, b!, undefined, '[{"B": ["A"]}]'));
    const s = read((await stream(proxy.url, 'A')).text);
    assert.equal(s.done, 0);
    assert.equal(s.errors, 1);
    assert.equal(b!.requests.length, 0);
    const off = read((await stream(proxy.url, 'B', { fallbacks: [] })).text);
    assert.equal(off.done, 1, 'a healthy stream is untouched');
  });

  test('disable_fallbacks turns the continuation off; a healthy stream with a fallback passes unchanged', async () => {
    const [a, b] = await upstreams(2);
    const proxy = await proxyFor(config(a!, b!));
    const healthy = read((await stream(proxy.url, 'A')).text);
    assert.equal(healthy.content, 'tok0 tok1 tok2 ');
    assert.equal(healthy.done, 1);
    assert.equal(b!.requests.length, 0);
    a!.setBehavior({ kind: 'stream', chunks: 5, dieAfter: 2 });
    const s = read((await stream(proxy.url, 'A', { disable_fallbacks: true })).text);
    assert.equal(s.errors, 1);
    assert.equal(b!.requests.length, 0);
  });

  test('the openai client reads the continued stream as one, without an error', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'stream', chunks: 5, dieAfter: 3, usage: true });
    b!.setBehavior({ kind: 'stream', chunks: 2, texts: ['and ', 'done'] });
    const proxy = await proxyFor(config(a!, b!));
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const s = await client.chat.completions.create({ model: 'A', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    const ids = new Set<string>();
    let usage: unknown = null;
    for await (const chunk of s) {
      ids.add(chunk.id);
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'tok0 tok1 tok2 and done');
    assert.equal(ids.size, 1);
    assert.ok(usage !== null, "the fallback's usage chunk reaches the client");
  });
});
