/**
 * What reaches the upstream is the client's body with only `model` (and the proxy's own keys)
 * changed: the hot path forwards the bytes it does not read (src/providers/upstream-body.ts),
 * and restamps the answer's `model` without re-serialising it (src/upstream/restamp.ts).
 * Checked over HTTP with bodies on both sides of the whole-parse threshold, in both dispatch
 * modes, and malformed large bodies are still refused by the proxy, not forwarded; answers on
 * both sides of the restamp's threshold reach the client as written but for their `model`.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startMockUpstream } from './support/mock-upstream.js';
import { deployment } from './support/deployments.js';
import { dispatchModes, post, startTestProxy } from './support/proxy.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const up = await startMockUpstream();
cleanups.push(() => up.close());
const yaml = `model_list:${deployment('g', up, { model: 'openai/upstream-model' })}\n`;
// Every proxy starts before the first test is declared: a top-level await between tests lets
// the runner finish (and run `after`) while later ones are still being declared.
const slabProxy = await startTestProxy(yaml, { workers: 1 });
cleanups.push(() => slabProxy.close());
const modeProxies = new Map<number, Awaited<ReturnType<typeof startTestProxy>>>();
for (const mode of dispatchModes) {
  const p = await startTestProxy(yaml, { workers: mode.workers });
  cleanups.push(() => p.close());
  modeProxies.set(mode.workers, p);
}

/** A prompt of about `bytes` bytes with escapes, non-ASCII and JSON-looking text inside strings. */
function prompt(bytes: number): string {
  const piece = 'a "quoted" {"model":"evil"} \\ back\\slash é ✓ 😀\n\t';
  return piece.repeat(Math.ceil(bytes / piece.length));
}

for (const mode of dispatchModes) {
  const proxy = modeProxies.get(mode.workers)!;

  for (const size of [100, 200 * 1024]) {
    test(`${mode.label}: a ${size}-byte prompt reaches the upstream intact, model rewritten, proxy keys dropped`, async () => {
      up.reset();
      const messages = [{ role: 'system', content: 'be brief' }, { role: 'user', content: prompt(size) }];
      const body = { model: 'g', messages, temperature: 0.5, num_retries: 0, metadata: { big: prompt(2000) }, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] };
      const res = await post(`${proxy.url}/v1/chat/completions`, body);
      assert.equal(res.status, 200, res.text);
      assert.equal((res.json as { model: string }).model, 'g');
      assert.equal(up.requests.length, 1);
      assert.deepEqual(up.requests[0]!.body, { model: 'upstream-model', messages, temperature: 0.5, tools: body.tools });
      // The client's bytes for messages are forwarded as they were written.
      assert.ok(up.requests[0]!.rawBody.includes(`"messages":${JSON.stringify(messages)}`));
    });
  }

  test(`${mode.label}: a large body that is malformed outside its strings is refused with 400 and never forwarded`, async () => {
    up.reset();
    const good = JSON.stringify({ model: 'g', messages: [{ role: 'user', content: prompt(50_000) }] });
    for (const bad of [good.slice(0, -1), `${good.slice(0, -2)},}`, good.replace('"messages":', '"messages"'), `${good}x`]) {
      const res = await post(`${proxy.url}/v1/chat/completions`, bad);
      assert.equal(res.status, 400, res.text);
      assert.match((res.json as { error: { message: string } }).error.message, /not valid JSON/);
    }
    const empty = await post(`${proxy.url}/v1/chat/completions`, JSON.stringify({ model: 'g', messages: [], pad: prompt(20_000) }));
    assert.equal(empty.status, 400);
    assert.match((empty.json as { error: { message: string } }).error.message, /messages/);
    assert.equal(up.requests.length, 0);
  });

  test(`${mode.label}: a large body's small members are read by the proxy (mock_response answers without an upstream call)`, async () => {
    up.reset();
    const res = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: [{ role: 'user', content: prompt(50_000) }], mock_response: 'from the proxy' });
    assert.equal(res.status, 200, res.text);
    assert.equal((res.json as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content, 'from the proxy');
    assert.equal(up.requests.length, 0);
  });
  for (const size of [300, 20_000]) {
    test(`${mode.label}: a ${size}-byte answer reaches the client as the upstream wrote it, only its top-level model restamped`, async () => {
      up.reset();
      const content = prompt(size).slice(0, size);
      const answer = ` {\n  "id" : "chatcmpl-1", "created":1.70e9,"model" :"upstream-model",\t"choices":[{"index":0,"model":"nested","message":{"role":"assistant","content":${JSON.stringify(content)}},"finish_reason":"stop"}],\r\n"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7},"x":"caf\\u00e9"}\n`;
      up.setBehavior({ kind: 'status', status: 200, body: answer });
      const res = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, answer.replace('"model" :"upstream-model"', '"model" :"g"'));
      // Not JSON outside its strings (cut short, or with something after it): a protocol failure, not forwarded.
      for (const bad of [answer.slice(0, -30), `${answer}x`]) {
        up.setBehavior({ kind: 'status', status: 200, body: bad });
        const refused = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: [{ role: 'user', content: 'hi' }], num_retries: 0 });
        assert.equal(refused.status, 502, refused.text);
        assert.match(refused.text, /not JSON/);
      }
    });
  }
}

// Pool mode writes bodies into memory shared with the workers, in blocks that are reused
// (src/upstream/body-slab.ts): every upstream must get its own request's bytes, whatever else
// ran before or beside it, and a body too large for any block still goes through whole.

test('pool: 200 concurrent requests of mixed sizes, in waves that reuse blocks, each reach the upstream as their own', async () => {
  up.reset();
  const sizes = [50, 300, 5_000, 70_000];
  const sent: Array<{ tag: string; content: string }> = [];
  for (let wave = 0; wave < 4; wave++) {
    const batch = Array.from({ length: 50 }, (_, i) => {
      const tag = `w${wave}-r${i}`;
      // Shorter bodies after longer ones in the same size class: a reused block's tail must not leak in.
      const content = `${tag}:${'x'.repeat(sizes[(i + wave) % sizes.length]! - (wave % 2) * 20)}`;
      sent.push({ tag, content });
      return post(`${slabProxy.url}/v1/chat/completions`, { model: 'g', messages: [{ role: 'user', content }], user: tag });
    });
    for (const res of await Promise.all(batch)) assert.equal(res.status, 200, res.text);
  }
  assert.equal(up.requests.length, sent.length);
  const byTag = new Map(up.requests.map((r) => [(r.body as { user: string }).user, r]));
  for (const s of sent) {
    const got = byTag.get(s.tag);
    assert.ok(got, `no upstream request for ${s.tag}`);
    assert.deepEqual(got.body, { model: 'upstream-model', messages: [{ role: 'user', content: s.content }], user: s.tag });
    assert.equal(got.rawBody, JSON.stringify(got.body));
  }
});

test('pool: a 3 MiB body (larger than any shared block) reaches the upstream intact', async () => {
  up.reset();
  const content = prompt(3 << 20);
  const res = await post(`${slabProxy.url}/v1/chat/completions`, { model: 'g', messages: [{ role: 'user', content }] });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(up.requests[0]!.body, { model: 'upstream-model', messages: [{ role: 'user', content }] });
});
