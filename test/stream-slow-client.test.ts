/**
 * A slow client against a steady upstream: while the client reads nothing, the proxy stops
 * reading the upstream (TCP holds it back) instead of buffering without bound, and that pause
 * is not an upstream stall: stream_timeout bounds gaps in what the upstream sends, so a
 * client that holds a stream longer than stream_timeout still gets all of it, then [DONE].
 */
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import type { RunningProxy } from '../src/index.js';
import { deployment } from './support/deployments.js';
import { dispatchModes, eventually, startTestProxy } from './support/proxy.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Each content chunk's text: big, so a client that reads nothing fills every buffer on the way. */
const TEXT = 'x'.repeat(256 * 1024);
const CHUNKS = 60;
/** The upstream's pace: 60 chunks take about 1.2 s, four times the stream_timeout below. */
const CHUNK_GAP_MS = 20;
const STREAM_TIMEOUT_S = 0.3;

interface SteadyUpstream {
  url: string;
  /** The most bytes its socket held unsent: about one chunk while the proxy reads, megabytes once it stops. */
  maxQueued: number;
  /** Resolves once the upstream has written its last chunk and [DONE] (into its own buffers), or was cut off. */
  finished: Promise<void>;
  /** Whether the proxy closed the upstream request before its last chunk. */
  cut: boolean;
}

/** An SSE upstream that sends CHUNKS chunks CHUNK_GAP_MS apart whatever its reader does. */
async function steadyUpstream(): Promise<SteadyUpstream> {
  let finish!: () => void;
  const u: SteadyUpstream = { url: '', maxQueued: 0, cut: false, finished: new Promise((r) => (finish = r)) };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // A proxy that cut the stream ends it too: the client then reads what it was sent.
      res.on('close', () => {
        if (i < CHUNKS) u.cut = true;
        finish();
      });
      let i = 0;
      const step = (): void => {
        if (res.destroyed) return;
        if (i === CHUNKS) {
          // Resolved as the last write is issued: it is flushed only once the proxy reads on.
          res.end('data: [DONE]\n\n');
          finish();
          return;
        }
        const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: TEXT }, finish_reason: null }] };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
        u.maxQueued = Math.max(u.maxQueued, res.socket?.writableLength ?? 0);
        i++;
        setTimeout(step, CHUNK_GAP_MS);
      };
      step();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return u;
}

async function proxyFor(yaml: string, workers: number): Promise<RunningProxy> {
  const p = await startTestProxy(yaml, { workers });
  cleanups.push(() => p.close());
  return p;
}

/**
 * Starts a stream and reads nothing of it until `until` resolves; then reads it all.
 * `leave`: the client goes away once that resolves instead.
 */
function slowStream(url: string, until: Promise<void>, leave?: Promise<void>): Promise<{ status: number; text: string }> {
  const u = new URL(`${url}/v1/chat/completions`);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res: IncomingMessage) => {
      res.pause();
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
      void until.then(() => res.resume());
      void leave?.then(() => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'g', messages: [{ role: 'user', content: 'hi' }], stream: true }));
  });
}

for (const mode of dispatchModes) {
  describe(`a slow client (${mode.label})`, () => {
    test('holding a stream longer than stream_timeout is not cut while the upstream keeps sending', { timeout: 20_000 }, async () => {
      const up = await steadyUpstream();
      const proxy = await proxyFor(`model_list:${deployment('g', up, { params: { stream_timeout: STREAM_TIMEOUT_S } })}
router_settings:
  num_retries: 0
`, mode.workers);
      const r = await slowStream(proxy.url, up.finished);
      assert.equal(r.status, 200);
      assert.ok(up.maxQueued > 4 * TEXT.length, `the proxy stopped reading the upstream while the client read nothing (${up.maxQueued} bytes queued)`);
      const events = r.text.split('\n\n').filter(Boolean);
      assert.ok(!r.text.includes('"error"'), `no error event: ${events.at(-1)?.slice(0, 200)}`);
      assert.equal(events.at(-1), 'data: [DONE]');
      const content = events.slice(0, -1).map((e) => (JSON.parse(e.slice(6)) as { choices: Array<{ delta: { content: string } }> }).choices[0]!.delta.content).join('');
      assert.equal(content.length, CHUNKS * TEXT.length);
    });

    test('a client that leaves while its stream is held cancels the upstream request', { timeout: 20_000 }, async () => {
      const up = await steadyUpstream();
      const proxy = await proxyFor(`model_list:${deployment('g', up, { params: { stream_timeout: STREAM_TIMEOUT_S } })}
router_settings:
  num_retries: 0
`, mode.workers);
      const held = eventually(() => up.maxQueued > 4 * TEXT.length, 10_000, 'the proxy to stop reading the upstream');
      const r = await slowStream(proxy.url, up.finished, held);
      assert.equal(r.status, 200);
      await up.finished;
      assert.ok(up.cut, 'the upstream request was closed before its last chunk');
      await eventually(() => proxy.router.snapshot().inFlight === 0, 3000, 'in-flight back to zero');
    });
  });
}
