/**
 * A client that goes away cancels its upstream call, and the actor's in-flight count returns
 * to zero: for non-stream and stream requests, on both dispatch paths. Also: an upstream that
 * refuses connections gets an error naming the deployment, never its key.
 */
import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfigText } from '../src/config/load.js';
import { startProxy, type RunningProxy } from '../src/index.js';
import { createLogger } from '../src/log.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { dispatchModes, eventually, post, startTestProxy } from './support/proxy.js';

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Sends a chat request with node:http and returns the request, so the test can destroy it. */
function sendChat(url: string, stream: boolean, onFirstData?: () => void): ClientRequest {
  const u = new URL(`${url}/v1/chat/completions`);
  const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
    res.once('data', () => onFirstData?.());
    res.resume();
  });
  req.on('error', () => undefined);
  req.end(JSON.stringify({ model: 'g', stream, messages: [{ role: 'user', content: 'hi' }] }));
  return req;
}

for (const mode of dispatchModes) {
  describe(`client disconnect (${mode.label} dispatch)`, () => {
    let upstream: MockUpstream;
    let proxy: RunningProxy;
    let deadPort: number;
    before(async () => {
      upstream = await startMockUpstream();
      deadPort = await closedPort();
      proxy = await startTestProxy(
        `
model_list:
  - model_name: g
    litellm_params: { model: openai/m, api_base: "${upstream.url}/v1", api_key: sk-live-key-abc }
  - model_name: dead
    litellm_params: { model: openai/m, api_base: "http://127.0.0.1:${deadPort}/v1", api_key: sk-dead-key-xyz }
    model_info: { id: dead-dep }
`,
        { workers: mode.workers },
      );
    });
    after(async () => {
      await proxy.close();
      await upstream.close();
    });

    test('non-stream: the upstream call is cancelled and in-flight returns to zero', async () => {
      upstream.reset();
      upstream.setBehavior({ kind: 'hang' });
      const req = sendChat(proxy.url, false);
      await upstream.waitForRequests(1);
      assert.equal(proxy.router.inFlight(), 1);
      req.destroy();
      await upstream.waitForAbort(0, 2000);
      await eventually(() => proxy.router.inFlight() === 0, 2000, 'in-flight back to zero');
      const d = proxy.router.snapshot().groups.g!.deployments[0]!;
      assert.equal(d.failures, 0, 'a client abort never counts against the deployment');
    });

    test('stream: leaving mid-stream cancels the upstream stream within a second', async () => {
      upstream.reset();
      upstream.setBehavior({ kind: 'stream', chunks: 100, chunkDelayMs: 50 });
      let gotData!: () => void;
      const firstData = new Promise<void>((r) => (gotData = r));
      const req = sendChat(proxy.url, true, () => gotData());
      await firstData;
      assert.equal(proxy.router.inFlight(), 1, 'a stream counts until its last byte');
      req.destroy();
      await upstream.waitForAbort(0, 1000);
      await eventually(() => proxy.router.inFlight() === 0, 1000, 'in-flight back to zero');
    });

    test('refused connection: an error naming the deployment, never its key', async () => {
      const res = await post(`${proxy.url}/v1/chat/completions`, { model: 'dead', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(res.status, 502);
      const msg = (res.json as { error: { message: string } }).error.message;
      assert.match(msg, /dead\/dead-dep/);
      assert.match(msg, /ECONNREFUSED/);
      assert.doesNotMatch(res.text, /sk-dead-key-xyz/);
      assert.equal(res.headers.get('x-litellm-model-id'), 'dead-dep');
      assert.equal(proxy.router.inFlight(), 0);
    });
  });
}

test('a client that leaves just before shutdown: its cancelled call is not reported as a failed upstream (pool dispatch)', async (t) => {
  const upstream = await startMockUpstream();
  t.after(() => upstream.close());
  const loaded = loadConfigText(`
model_list:
  - model_name: g
    litellm_params: { model: openai/m, api_base: "${upstream.url}/v1", api_key: sk-live-key-abc }
`, 'test.yaml', {});
  assert.ok(loaded.ok);
  const lines: string[] = [];
  const proxy = await startProxy({ config: loaded.config, port: 0, workers: 1, log: createLogger({ level: 'warn', write: (l) => lines.push(l) }) });
  upstream.setBehavior({ kind: 'hang' });
  const req = sendChat(proxy.url, false);
  await upstream.waitForRequests(1);
  // The client leaves and the proxy shuts down at once: the cancel reaches the worker, whose
  // answer to it never comes back before the channel closes.
  req.destroy();
  await proxy.close();
  assert.deepEqual(lines.filter((l) => l.includes('failed')), [], 'no failure is logged for a request whose client left');
  const d = proxy.router.snapshot().groups.g!.deployments[0]!;
  assert.equal(d.failures, 0, 'and nothing counts against the deployment');
});
