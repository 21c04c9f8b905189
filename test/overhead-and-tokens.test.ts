/**
 * What the proxy reports about a deployment's answer beside it: the overhead header (the time
 * in the proxy that was not the deployment's) and the tokens in the access line.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { loadConfigText } from '../src/config/load.js';
import { startProxy } from '../src/index.js';
import { createLogger } from '../src/log.js';
import { deployment } from './support/deployments.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';

/** One deployment on a mock upstream, inline, with JSON log lines collected. */
async function loggedProxy(t: TestContext): Promise<{ up: MockUpstream; proxy: { url: string }; lines: string[] }> {
  const up = await startMockUpstream();
  t.after(() => up.close());
  const loaded = loadConfigText(`model_list:${deployment('g', up)}\n`, 'test.yaml', {});
  assert.ok(loaded.ok);
  const lines: string[] = [];
  const proxy = await startProxy({ config: loaded.config, port: 0, workers: 0, log: createLogger({ level: 'info', json: true, write: (l) => lines.push(l) }) });
  t.after(() => proxy.close());
  return { up, proxy, lines };
}

/** The first log line matching `pick`, once it has been written (lines go out once per turn of the event loop). */
async function accessLine(lines: string[], pick: (o: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const end = Date.now() + 5000;
  for (;;) {
    const found = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find(pick);
    if (found) return found;
    assert.ok(Date.now() < end, `no such log line in:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('x-litellm-overhead-duration-ms excludes the upstream time; the access line carries the tokens', async (t) => {
  const { up, proxy, lines } = await loggedProxy(t);
  up.setBehavior({ kind: 'ok', delayMs: 150, usage: { prompt_tokens: 11, completion_tokens: 7 } });
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'g', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  const total = Number(res.headers.get('x-litellm-response-duration-ms'));
  const overhead = Number(res.headers.get('x-litellm-overhead-duration-ms'));
  assert.ok(total >= 150, `total ${total} ms includes the upstream's 150 ms`);
  assert.ok(overhead >= 0 && overhead < total - 100, `overhead ${overhead} ms leaves the upstream's time out of ${total} ms`);
  const access = await accessLine(lines, (o) => o.route === '/v1/chat/completions');
  assert.equal(access.prompt_tokens, 11);
  assert.equal(access.completion_tokens, 7);
});

test('a stream: the overhead header leaves out the upstream time to headers; the access line carries its end frame tokens and ttfb', async (t) => {
  const { up, proxy, lines } = await loggedProxy(t);
  up.setBehavior({ kind: 'stream', chunks: 4, firstByteDelayMs: 150, usage: true });
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'stream-tokens-1' },
    body: JSON.stringify({ model: 'g', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  const total = Number(res.headers.get('x-litellm-response-duration-ms'));
  const overhead = Number(res.headers.get('x-litellm-overhead-duration-ms'));
  assert.ok(total >= 150, `response duration ${total} ms (to the committed headers) includes the upstream's 150 ms to its head`);
  assert.ok(res.headers.get('x-litellm-overhead-duration-ms') !== null, 'a stream carries the overhead header');
  assert.ok(overhead >= 0 && overhead < total - 100, `overhead ${overhead} ms leaves the upstream's time to headers out of ${total} ms`);
  assert.match(await res.text(), /\[DONE\]/);
  const access = await accessLine(lines, (o) => o.request_id === 'stream-tokens-1');
  assert.equal(access.prompt_tokens, 7, 'prompt tokens from the usage frame');
  assert.equal(access.completion_tokens, 4, 'completion tokens from the usage frame');
  assert.equal(typeof access.ttfb_ms, 'number');
  assert.ok((access.ttfb_ms as number) >= 150, `time to first token ${String(access.ttfb_ms)} ms`);
});

test('a stream answered on a retry: the failed attempt counts as overhead', async (t) => {
  const failing = await startMockUpstream();
  const streaming = await startMockUpstream();
  t.after(() => failing.close());
  t.after(() => streaming.close());
  // order: the failing deployment is tried first; it fails after 120 ms, the retry streams at once.
  const loaded = loadConfigText(`model_list:${deployment('g', failing, { params: { order: 1 } })}${deployment('g', streaming, { params: { order: 2 } })}\nrouter_settings:\n  num_retries: 1\n`, 'test.yaml', {});
  assert.ok(loaded.ok);
  const proxy = await startProxy({ config: loaded.config, port: 0, workers: 0, log: createLogger({ level: 'error', write: () => {} }) });
  t.after(() => proxy.close());
  failing.setBehavior({ kind: 'status', status: 500, delayMs: 120 });
  streaming.setBehavior({ kind: 'stream', chunks: 2 });
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'g', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-litellm-attempted-retries'), '1');
  const overhead = Number(res.headers.get('x-litellm-overhead-duration-ms'));
  assert.ok(overhead >= 120, `overhead ${overhead} ms includes the failed attempt's 120 ms`);
  await res.text();
});
