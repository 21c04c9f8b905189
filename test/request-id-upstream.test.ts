/**
 * A request's id (ApiRequest.requestId, which the server fills) goes upstream as
 * `x-request-id` on every attempt, streaming or not, beside the deployment's own headers, and
 * is named in the router's failed-attempt log line. Without one, nothing is added.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadConfigText } from '../src/config/load.js';
import { startProxy, type RunningProxy } from '../src/index.js';
import { createLogger } from '../src/log.js';
import { RequestContext, type ApiRequest, type StreamConsumer } from '../src/router/types.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { deployment, TEST_API_KEY } from './support/deployments.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function apiRequest(model: string, requestId: string | undefined, stream = false): ApiRequest {
  const json = { model, messages: [{ role: 'user', content: 'hi' }], stream };
  return {
    endpoint: 'chat', model, stream, json, requestId,
    body: new TextEncoder().encode(JSON.stringify(json)).buffer as ArrayBuffer,
    hints: { numRetries: '', timeout: '', streamTimeout: '' },
  };
}

async function setup(workers: number): Promise<{ up: MockUpstream; proxy: RunningProxy; lines: string[] }> {
  const up = await startMockUpstream();
  cleanups.push(() => up.close());
  const loaded = loadConfigText(`model_list:${deployment('g', up)}\nrouter_settings:\n  num_retries: 1\n`, 'test.yaml', {});
  assert.ok(loaded.ok);
  const lines: string[] = [];
  const proxy = await startProxy({ config: loaded.config, port: 0, workers, log: createLogger({ level: 'warn', write: (l) => lines.push(l) }) });
  cleanups.push(() => proxy.close());
  return { up, proxy, lines };
}

for (const workers of [1, 0]) {
  test(`x-request-id goes upstream on each attempt and names the failed attempt in the log (workers: ${workers})`, async () => {
    const { up, proxy, lines } = await setup(workers);
    let n = 0;
    up.setBehavior(() => (n++ === 0 ? { kind: 'status', status: 500 } : { kind: 'ok' }));
    const reply = await proxy.router.call(apiRequest('g', 'req-abc-123'), new RequestContext());
    assert.equal(reply?.status, 200);
    assert.equal(up.requests.length, 2, 'one retry');
    for (const r of up.requests) {
      assert.equal(r.headers['x-request-id'], 'req-abc-123');
      assert.equal(r.headers.authorization, `Bearer ${TEST_API_KEY}`, 'the deployment\'s own headers are still sent');
    }
    assert.ok(lines.some((l) => l.includes('[request req-abc-123]') && l.includes('failed (500)')), lines.join('\n'));

    // A stream carries it too.
    up.setBehavior({ kind: 'stream', chunks: 2 });
    let done!: () => void;
    const ended = new Promise<void>((r) => (done = r));
    const consumer: StreamConsumer = { bind() {}, start() {}, data() {}, end: () => done(), error: () => done(), reply: () => done() };
    await proxy.router.stream(apiRequest('g', 'req-stream-9', true), new RequestContext(), consumer);
    await ended;
    assert.equal(up.requests.at(-1)!.headers['x-request-id'], 'req-stream-9');

    // No id, no header.
    up.setBehavior({ kind: 'ok' });
    await proxy.router.call(apiRequest('g', undefined), new RequestContext());
    assert.equal(up.requests.at(-1)!.headers['x-request-id'], undefined);
  });
}

test('over HTTP: the id the client sent, or the one the proxy made, is the one the upstream receives', async () => {
  const { up, proxy } = await setup(1);
  const body = JSON.stringify({ model: 'g', messages: [{ role: 'user', content: 'hi' }] });
  const given = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'client-id-77' }, body });
  assert.equal(given.status, 200);
  assert.equal(given.headers.get('x-request-id'), 'client-id-77');
  assert.equal(up.requests.at(-1)!.headers['x-request-id'], 'client-id-77');
  const made = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(made.status, 200);
  const id = made.headers.get('x-request-id');
  assert.ok(id !== null && id !== '' && id !== 'client-id-77');
  assert.equal(up.requests.at(-1)!.headers['x-request-id'], id, 'the upstream gets the id the client was told');
});
