/**
 * "No request can crash the proxy": malformed path escapes, exceptions inside request
 * handling, deeply nested JSON, HTTP framing tricks, pipelining, and what uWebSockets.js
 * decides on its own (header-field limit, broken header lines, the keep-alive idle timeout).
 * Raw `node:net` sockets wherever a client library would not send the bytes.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfigText } from '../src/config/load.js';
import type { RunningProxy } from '../src/index.js';
import { createLogger } from '../src/log.js';
import { RequestContext, Router, type ApiRequest, type Reply, type StreamConsumer } from '../src/router/router.js';
import { ProxyServer } from '../src/server/app.js';
import { KEEP_ALIVE_HINT, uwsBuild } from '../src/server/uws.js';
import { createDispatcher, type Dispatcher } from '../src/upstream/dispatch.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { eventually, http, post, startTestProxy } from './support/proxy.js';

/**
 * Which uWebSockets.js decides the cases uWS owns (see the README's HTTP limits): the 20.30
 * build (Node 20) closes silently on its idle timer; the 20.57 build (Node 22+ on newer glibc)
 * answers at once with a status of its own.
 */
const legacyUws = uwsBuild?.includes('trufflesuite') ?? false;

interface RawResult {
  /** Everything the server sent, as latin1. */
  text: string;
  /** Whether the server closed the connection before `waitMs`. */
  closed: boolean;
  /** Milliseconds from the last byte written to the close (or to giving up). */
  ms: number;
  /** Date.now() at the close (or at giving up). */
  at: number;
}

/** Writes raw bytes on a fresh connection and collects the answer until the server closes or `waitMs` passes. */
function raw(port: number, bytes: string, waitMs = 2000, onData?: (text: string) => void): Promise<RawResult> {
  return new Promise((resolve) => {
    let text = '';
    let t0 = Date.now();
    const sock = connect(port, '127.0.0.1', () => {
      sock.write(Buffer.from(bytes, 'latin1'), () => {
        t0 = Date.now();
      });
    });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text, closed: false, ms: Date.now() - t0, at: Date.now() });
    }, waitMs);
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      onData?.(text);
    });
    // A reset after the server closes is still a close.
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true, ms: Date.now() - t0, at: Date.now() });
    });
  });
}

function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

function bodyOf(text: string): unknown {
  const i = text.indexOf('\r\n\r\n');
  return JSON.parse(text.slice(i + 4));
}

function assertEnvelope(json: unknown, status: number, type?: string): { message: string; type: string } {
  assert.ok(json !== null && typeof json === 'object' && 'error' in json, `expected an error envelope, got ${JSON.stringify(json)}`);
  const e = (json as { error: { message: string; type: string; param: unknown; code: unknown } }).error;
  assert.equal(typeof e.message, 'string');
  assert.ok('param' in e);
  assert.equal(e.code, String(status));
  if (type) assert.equal(e.type, type);
  return e;
}

const chat = (model: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

function postBytes(path: string, body: string, headers: string[] = []): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers.map((h) => `${h}\r\n`).join('')}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

describe('hardening: malformed percent-escapes (issue item 1)', () => {
  let proxy: RunningProxy;
  before(async () => {
    proxy = await startTestProxy(`
model_list:
  - model_name: m
    litellm_params: { model: openai/x, mock_response: "ok" }
general_settings: { master_key: sk-master-test }
`);
  });
  after(() => proxy.close());

  const escapes = ['%zz', '%', '%ff', '%E0%A4%A'];
  const paths = escapes.flatMap((e) => [
    ['GET', `/v1/models/${e}`],
    ['GET', `/models/${e}`],
    ['POST', `/openai/deployments/${e}/chat/completions`],
    ['POST', `/openai/deployments/${e}/completions`],
    ['POST', `/openai/deployments/${e}/embeddings`],
    ['POST', `/engines/${e}/completions`],
    ['POST', `/v1/engines/${e}/chat/completions`],
  ] as const);

  test('malformed percent-escape in the path → 400 before the key check, and the process keeps serving', async () => {
    for (const [method, path] of paths) {
      // No key: the crash was before the auth check, so an anonymous client could take the proxy down.
      const req = method === 'GET'
        ? `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`
        : postBytes(path, chat('m'), ['Connection: close']);
      const r = await raw(proxy.port, req);
      assert.deepEqual(statuses(r.text).slice(0, 1), [400], `${method} ${path}: ${r.text}`);
      const e = assertEnvelope(bodyOf(r.text), 400, 'invalid_request_error');
      assert.match(e.message, /malformed percent-escape/);
    }
    const alive = await http(`${proxy.url}/health/liveliness`);
    assert.equal(alive.status, 200);
    // A well-formed escape still decodes: the model named in the path is found.
    const ok = await post(`${proxy.url}/openai/deployments/%6D/chat/completions`, { messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer sk-master-test' });
    assert.equal(ok.status, 200, ok.text);
  });
});

/** A real Router that throws on purpose for chosen model names, at each stage of a request. */
class ThrowingRouter extends Router {
  failModelList = false;
  failHealth = false;
  /** `user` of every request handed to call/stream: what work the server started. */
  readonly seen: string[] = [];

  override modelList(): string {
    if (this.failModelList) throw new Error('boom in modelList (secret sk-should-not-leak)');
    return super.modelList();
  }

  override healthCheck(filter: { model?: string; modelId?: string } = {}): ReturnType<Router['healthCheck']> {
    if (this.failHealth) return Promise.reject(new Error('boom in healthCheck'));
    return super.healthCheck(filter);
  }

  override call(req: ApiRequest, ctx: RequestContext): Promise<Reply | null> {
    this.seen.push(String(req.json.user));
    if (req.model === 'boom-sync') throw new Error('boom after the body was read (secret sk-should-not-leak)');
    if (req.model === 'boom-async') return Promise.reject(new Error('boom in a promise continuation'));
    // A header value that is not a string is refused: the throw comes halfway through writing the response (after its status).
    if (req.model === 'boom-write') return Promise.resolve({ status: 200, body: '{}', headers: ['x-fine', 'yes', 'x-bad', 42 as unknown as string] });
    if (req.model === 'boom-abort') {
      ctx.setAbort(() => {
        throw new Error('boom in onAborted');
      });
      return new Promise(() => undefined);
    }
    return super.call(req, ctx);
  }

  override stream(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer): Promise<void> {
    if (req.model === 'boom-stream-now') {
      // Started, a frame in, and a throw in the same turn: before the relay has written anything.
      consumer.start([]);
      consumer.data('data: {"partial":"now"}\n\n');
      throw new Error('boom in the same turn');
    }
    return this.#stream(req, ctx, consumer);
  }

  async #stream(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer): Promise<void> {
    this.seen.push(String(req.json.user));
    if (req.model === 'boom-stream') {
      consumer.start([]);
      consumer.data('data: {"partial":true}\n\n');
      await new Promise((r) => setTimeout(r, 10));
      throw new Error('boom mid-stream');
    }
    return super.stream(req, ctx, consumer);
  }
}

describe('hardening: an exception while handling one request (issue item 1)', () => {
  let upstream: MockUpstream;
  let dispatcher: Dispatcher;
  let router: ThrowingRouter;
  let server: ProxyServer;
  let url: string;
  let port: number;
  const logLines: string[] = [];
  before(async () => {
    upstream = await startMockUpstream();
    const loaded = loadConfigText(`
model_list:
  - model_name: g
    litellm_params: { model: openai/m, api_base: "${upstream.url}/v1", api_key: sk-upstream-key }
  - { model_name: boom-sync, litellm_params: { model: openai/x, mock_response: "never" } }
  - { model_name: boom-async, litellm_params: { model: openai/x, mock_response: "never" } }
  - { model_name: boom-abort, litellm_params: { model: openai/x, mock_response: "never" } }
  - { model_name: boom-write, litellm_params: { model: openai/x, mock_response: "never" } }
  - { model_name: boom-stream, litellm_params: { model: openai/x, mock_response: "never" } }
  - { model_name: boom-stream-now, litellm_params: { model: openai/x, mock_response: "never" } }
`, 'test.yaml', {});
    if (!loaded.ok) throw new Error('config refused');
    dispatcher = await createDispatcher(1);
    router = new ThrowingRouter(loaded.config, dispatcher);
    server = new ProxyServer({
      router,
      dispatcher,
      masterKey: null,
      maxBodyBytes: 1 << 20,
      shutdownGraceMs: 1000,
      log: createLogger({ level: 'debug', write: (l) => logLines.push(l) }),
    });
    port = await server.listen('127.0.0.1', 0);
    await dispatcher.ready();
    server.setReady(true);
    url = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await server.close();
    await dispatcher.close();
    await upstream.close();
  });

  test('a throw answers that request with a 500 envelope; other requests, a live stream and the process are untouched', async () => {
    upstream.setBehavior((r) => (r.body && typeof r.body === 'object' && (r.body as { stream?: boolean }).stream ? { kind: 'stream', chunks: 6, chunkDelayMs: 60 } : { kind: 'ok' }));
    // A stream in flight through the whole episode.
    let streamText = '';
    const streamDone = fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat('g', { stream: true }) })
      .then(async (res) => {
        assert.equal(res.status, 200);
        streamText = await res.text();
      });
    await upstream.waitForRequests(1);

    // In the request handler itself (synchronous, before any body).
    router.failModelList = true;
    const list = await http(`${url}/v1/models`);
    router.failModelList = false;
    assert.equal(list.status, 500);
    assert.doesNotMatch(list.text, /sk-should-not-leak|boom/);
    assertEnvelope(list.json, 500, 'internal_server_error');

    // After the body was read (inside uWS's data callback and the dispatch it schedules).
    const sync = await post(`${url}/v1/chat/completions`, chat('boom-sync'));
    assert.equal(sync.status, 500);
    assert.doesNotMatch(sync.text, /sk-should-not-leak|boom/);
    assertEnvelope(sync.json, 500, 'internal_server_error');

    // In a promise continuation.
    const asyncFail = await post(`${url}/v1/chat/completions`, chat('boom-async'));
    assert.equal(asyncFail.status, 500);
    assertEnvelope(asyncFail.json, 500, 'internal_server_error');

    // Halfway through writing the answer: the status line is out, so the response is cut off
    // (the client sees a broken response, never a completed one with the wrong status).
    const halfway = await raw(port, postBytes('/v1/chat/completions', chat('boom-write')), 3000);
    assert.equal(halfway.closed, true);
    assert.ok(halfway.ms < 1000);
    assert.ok(!halfway.text.includes('\r\n\r\n'), `a half-written response was completed: ${JSON.stringify(halfway.text)}`);

    router.failHealth = true;
    const health = await http(`${url}/health`);
    router.failHealth = false;
    assert.equal(health.status, 500);
    assertEnvelope(health.json, 500, 'internal_server_error');

    // After the stream committed its 200: a last SSE error event, and the stream ends.
    const broken = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat('boom-stream', { stream: true }) });
    assert.equal(broken.status, 200);
    const brokenText = await broken.text();
    assert.match(brokenText, /"partial":true/);
    assert.match(brokenText, /data: \{"error":\{"message":"The proxy failed while handling this request[^"]*","type":"internal_server_error","param":null,"code":"500"\},"request_id":"[^"]+"\}/);
    assert.doesNotMatch(brokenText, /\[DONE\]/);
    // The same, thrown in the turn the stream started: its head and frame still go out first.
    const now = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat('boom-stream-now', { stream: true }) });
    assert.equal(now.status, 200);
    assert.equal(now.headers.get('content-type'), 'text/event-stream');
    const nowText = await now.text();
    assert.match(nowText, /^data: \{"partial":"now"\}\n\ndata: \{"error":\{"message":"The proxy failed while handling this request/);

    // In uWS's onAborted callback: the client goes away and the cancel hook throws.
    const before = server.activeRequests;
    const gone = await raw(port, postBytes('/v1/chat/completions', chat('boom-abort')), 150);
    assert.equal(gone.closed, false);
    await eventually(() => server.activeRequests === before, 3000, 'the aborted request to be released');

    // Everything else kept working: a plain request, and the stream that was in flight finished whole.
    const ok = await post(`${url}/v1/chat/completions`, chat('g'));
    assert.equal(ok.status, 200, ok.text);
    await streamDone;
    assert.equal((streamText.match(/"content":/g) ?? []).length, 6, streamText);
    assert.match(streamText, /data: \[DONE\]/);
    // Each failure was logged with its cause (the log redacts configured secrets itself).
    for (const cause of ['boom in modelList', 'boom after the body was read', 'the value must be a string', 'boom in a promise continuation', 'boom in healthCheck', 'boom mid-stream', 'boom in onAborted']) {
      assert.ok(logLines.some((l) => l.includes(cause)), `log line for ${cause}: ${logLines.join('\n')}`);
    }
  });

  test('two pipelined POSTs on one connection: closed before any work is started for either', async () => {
    upstream.reset();
    router.seen.length = 0;
    const one = postBytes('/v1/chat/completions', chat('g', { user: 'first' }));
    const two = postBytes('/v1/chat/completions', chat('g', { user: 'second' }));
    const r = await raw(port, one + two, 3000);
    assert.equal(r.closed, true);
    assert.ok(r.ms < 1000, `closed after ${r.ms} ms`);
    // uWS drops a connection that sends a request while one is pending (it cannot queue them).
    assert.deepEqual(statuses(r.text), [], r.text);
    // A request after it on a fresh connection is the first thing the router and the upstream see.
    const ok = await post(`${url}/v1/chat/completions`, chat('g', { user: 'third' }));
    assert.equal(ok.status, 200);
    assert.deepEqual(router.seen, ['third']);
    assert.deepEqual(upstream.requests.map((q) => (q.body as { user?: string }).user), ['third']);
    await eventually(() => server.activeRequests === 0, 3000, 'no request left in flight');
  });
});

describe('hardening: request bodies and framing (issue items 6, 7a, 7b)', () => {
  let upstream: MockUpstream;
  let proxy: RunningProxy;
  before(async () => {
    upstream = await startMockUpstream();
    proxy = await startTestProxy(`
model_list:
  - model_name: g
    litellm_params: { model: openai/m, api_base: "${upstream.url}/v1", api_key: sk-upstream-key }
router_settings: { num_retries: 3 }
`);
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  test('deeply nested JSON → 400 invalid_request_error before any attempt, never retried, upstream untouched', async () => {
    upstream.reset();
    const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
    const body = `{"model":"g","messages":[{"role":"user","content":"hi"}],"x":${deep(100_000)}}`;
    const res = await post(`${proxy.url}/v1/chat/completions`, body);
    assert.equal(res.status, 400, res.text);
    const e = assertEnvelope(res.json, 400, 'invalid_request_error');
    assert.match(e.message, /more than 128 levels/);
    assert.equal(res.headers.get('x-litellm-attempted-retries'), null);
    // Just over the limit (the body object is level 1).
    const over = await post(`${proxy.url}/v1/chat/completions`, `{"model":"g","messages":[{"role":"user","content":"hi"}],"x":${deep(128)}}`);
    assert.equal(over.status, 400, over.text);
    assert.equal(upstream.requests.length, 0, 'nothing reached the upstream');
    // The deployment was not blamed: the next request goes straight through.
    const ok = await post(`${proxy.url}/v1/chat/completions`, `{"model":"g","messages":[{"role":"user","content":"hi"}],"x":${deep(127)}}`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(upstream.requests.length, 1);
  });

  test('brackets and escaped quotes inside strings do not count as nesting', async () => {
    upstream.reset();
    // An escaped quote, then brackets still inside the string, then an escaped backslash and quote.
    const content = `say \\"${'['.repeat(5000)}\\\\\\" and ${'{'.repeat(5000)}`;
    const body = `{"model":"g","messages":[{"role":"user","content":"${content}"}]}`;
    const res = await post(`${proxy.url}/v1/chat/completions`, body);
    assert.equal(res.status, 200, res.text);
    assert.equal(upstream.requests.length, 1);
    const sent = upstream.requests[0]!.body as { messages: Array<{ content: string }> };
    assert.equal(sent.messages[0]!.content, JSON.parse(`"${content}"`));
  });

  const smuggled = 'GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n';
  const b = chat('g');
  const len = Buffer.byteLength(b);
  const framing: Array<{ name: string; headers: string; body: string; answered: boolean }> = [
    // Ours to answer: uWS hands us the request and we refuse it with a 400 and a close.
    { name: 'two different Content-Length', headers: `Content-Length: ${len}\r\nContent-Length: ${len + 10}`, body: b, answered: true },
    { name: 'the same Content-Length twice', headers: `Content-Length: ${len}\r\nContent-Length: ${len}`, body: b, answered: true },
    { name: 'an empty Content-Length before a real one', headers: `Content-Length: \r\nContent-Length: ${len}`, body: b, answered: true },
    { name: 'Transfer-Encoding: chunked twice', headers: 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked', body: `${len.toString(16)}\r\n${b}\r\n0\r\n\r\n`, answered: true },
    // A request smuggled behind an ambiguous length is never served: the connection is dropped at once.
    { name: 'two Content-Length with a request smuggled behind the first', headers: `Content-Length: ${len}\r\nContent-Length: ${len + smuggled.length}`, body: b + smuggled, answered: false },
    { name: 'an empty Content-Length with a request smuggled behind it', headers: `Content-Length: \r\nContent-Length: ${smuggled.length}`, body: smuggled, answered: false },
    // uWS itself drops these at once, without a status line: what we promise is that it is immediate and does no work.
    { name: 'Content-Length with Transfer-Encoding', headers: `Content-Length: ${len}\r\nTransfer-Encoding: chunked`, body: `${len.toString(16)}\r\n${b}\r\n0\r\n\r\n`, answered: false },
    { name: 'Transfer-Encoding then Content-Length', headers: `Transfer-Encoding: chunked\r\nContent-Length: ${len}`, body: b, answered: false },
    { name: 'Transfer-Encoding: gzip', headers: 'Transfer-Encoding: gzip', body: b, answered: false },
    ...['abc', '-1', '1e3', '0x10', `${len}, ${len}`, '+5', '99999999999999999999'].map((v) => ({ name: `Content-Length: ${v}`, headers: `Content-Length: ${v}`, body: b, answered: false })),
  ];

  test('ambiguous or invalid framing → 400 and close (or an immediate close), never an upstream call', async () => {
    upstream.reset();
    for (const c of framing) {
      const r = await raw(proxy.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${c.headers}\r\n\r\n${c.body}`, 3000);
      assert.equal(r.closed, true, `${c.name}: connection left open; got ${JSON.stringify(r.text)}`);
      assert.ok(r.ms < 1000, `${c.name}: closed only after ${r.ms} ms`);
      if (c.answered && legacyUws) {
        assert.deepEqual(statuses(r.text), [400], `${c.name}: ${r.text}`);
        assert.match(r.text, /\r\nConnection: close\r\n/i);
        assert.match(assertEnvelope(bodyOf(r.text), 400, 'invalid_request_error').message, /Content-Length|Transfer-Encoding/);
      } else if (c.answered) {
        // 20.57 refuses some of these itself before we see them: a 400 either way, and one only.
        assert.deepEqual(statuses(r.text), [400], `${c.name}: ${r.text}`);
      } else if (legacyUws) {
        assert.deepEqual(statuses(r.text), [], `${c.name}: ${r.text}`);
      } else {
        // 20.57 answers its own 400 where 20.30 only dropped the connection; a smuggled request is never served.
        assert.ok([[], [400]].some((x) => JSON.stringify(x) === JSON.stringify(statuses(r.text))), `${c.name}: ${r.text}`);
      }
    }
    // The same checks guard every route, not just the API ones.
    const get = await raw(proxy.port, `GET /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n`);
    assert.deepEqual(statuses(get.text), [400], get.text);
    const getSmuggled = await raw(proxy.port, `GET /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
    assert.equal(getSmuggled.closed, true);
    assert.deepEqual(statuses(getSmuggled.text), [], getSmuggled.text);
    assert.equal(upstream.requests.length, 0, 'no framing case reached the upstream');
    const ok = await post(`${proxy.url}/v1/chat/completions`, chat('g'));
    assert.equal(ok.status, 200);
  });

  test('connections that declare a large body and send none reserve at most 1 MiB each', async () => {
    const base = proxy.server.activeRequests;
    const before = process.memoryUsage().arrayBuffers;
    const socks = Array.from({ length: 20 }, () => connect(proxy.port, '127.0.0.1', function (this: ReturnType<typeof connect>) {
      this.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 30000000\r\n\r\n{"model":');
    }));
    for (const s of socks) s.on('error', () => undefined);
    try {
      await eventually(() => proxy.server.activeRequests === base + 20, 3000, 'all 20 bodies to be awaited');
      const grew = process.memoryUsage().arrayBuffers - before;
      assert.ok(grew < 100 * 1024 * 1024, `20 stalled 30 MB uploads reserved ${Math.round(grew / 1048576)} MiB`);
    } finally {
      for (const s of socks) s.destroy();
    }
    await eventually(() => proxy.server.activeRequests === base, 3000, 'the abandoned uploads to be released');
    const ok = await post(`${proxy.url}/v1/chat/completions`, chat('g'));
    assert.equal(ok.status, 200);
  });

  test('a body larger than the up-front reservation still arrives whole', async () => {
    upstream.reset();
    const content = 'y'.repeat(3_000_000);
    const res = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: [{ role: 'user', content }] });
    assert.equal(res.status, 200);
    assert.equal((upstream.requests[0]!.body as { messages: Array<{ content: string }> }).messages[0]!.content, content);
  });

  test('pipelined requests answered synchronously are all answered, in order', async () => {
    const r = await raw(proxy.port, 'GET /health/liveliness HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000);
    assert.deepEqual(statuses(r.text), [200, 200, 404]);
    assert.equal(r.closed, true);
  });
});

describe('hardening: what uWebSockets.js decides (issue items 7c, 7d, 9)', () => {
  let proxy: RunningProxy;
  before(async () => {
    proxy = await startTestProxy(`
model_list:
  - model_name: m
    litellm_params: { model: openai/x, mock_response: "ok" }
`);
  });
  after(() => proxy.close());

  const headers = (n: number): string => `GET /health/liveliness HTTP/1.1\r\nHost: x\r\n${Array.from({ length: n - 1 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`;

  test('48 header fields are served at once; 49+ fields, broken header lines and idle keep-alive connections are closed by uWS\'s 10 s timer, others unaffected', async () => {
    // All at once, so the one timer wait covers every case.
    const broken: Array<[string, string]> = [
      ['49 header fields', headers(49)],
      ['60 header fields', headers(60)],
      ['NUL in a header value', 'GET /health/liveliness HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'],
      ['bare CR in a header value', 'GET /health/liveliness HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n'],
      ['space in a header name', 'GET /health/liveliness HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n'],
      ['missing colon', 'GET /health/liveliness HTTP/1.1\r\nHost: x\r\nXAb\r\n\r\n'],
      ['bare LF line ends', 'GET /health/liveliness HTTP/1.1\nHost: x\n\n'],
      ['HTTP/1.0', 'GET /health/liveliness HTTP/1.0\r\nHost: x\r\n\r\n'],
      ['no Host', 'GET /health/liveliness HTTP/1.1\r\n\r\n'],
    ];
    const pending = broken.map(([name, bytes]) => raw(proxy.port, bytes, legacyUws ? 16_000 : 36_000).then((r) => ({ name, r })));
    // A keep-alive connection that answers once, then sits idle.
    let answeredAt = 0;
    const idle = raw(proxy.port, postBytes('/v1/chat/completions', chat('m')), legacyUws ? 15_000 : 36_000, (t) => {
      if (answeredAt === 0 && t.includes('"chat.completion"')) answeredAt = Date.now();
    });

    const at48 = await raw(proxy.port, headers(48).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n').replace('X-H0: v\r\n', ''), 2000);
    assert.deepEqual(statuses(at48.text), [200], 'the 48th field still fits');
    // Meanwhile other connections are served normally, again and again.
    for (let i = 0; i < 5; i++) {
      const ok = await post(`${proxy.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('keep-alive'), legacyUws ? 'timeout=7' : 'timeout=27', 'responses announce less than the idle timeout');
    }

    // What the 20.57 build answers at once (it has 98 header slots and checks header syntax);
    // undefined: it, too, leaves the connection to a timer (for a half-read head, about 30 s).
    const modern: Record<string, number | undefined> = {
      '49 header fields': 200, '60 header fields': 200, 'NUL in a header value': 400, 'bare CR in a header value': undefined,
      'space in a header name': 400, 'missing colon': 400, 'bare LF line ends': 505, 'HTTP/1.0': 505, 'no Host': 400,
    };
    for (const { name, r } of await Promise.all(pending)) {
      const status = legacyUws ? undefined : modern[name];
      if (status === undefined) {
        assert.equal(r.text, '', `${name}: uWS sends no status line`);
        assert.equal(r.closed, true, `${name}: never closed`);
        assert.ok(r.ms <= (legacyUws ? 14_500 : 34_000), `${name}: closed after ${r.ms} ms`);
      } else {
        assert.deepEqual(statuses(r.text), [status], `${name}: ${r.text}`);
      }
    }
    const kept = await idle;
    assert.deepEqual(statuses(kept.text), [200]);
    assert.equal(kept.closed, true);
    const idleMs = kept.at - answeredAt;
    const announcedMs = Number(KEEP_ALIVE_HINT.slice('timeout='.length)) * 1000;
    assert.ok(idleMs >= announcedMs, `idle keep-alive closed after only ${idleMs} ms; we announce ${KEEP_ALIVE_HINT}`);
    assert.ok(idleMs <= (legacyUws ? 14_500 : 34_000), `idle keep-alive still open after ${idleMs} ms`);
    const alive = await http(`${proxy.url}/health/liveliness`);
    assert.equal(alive.status, 200);
  });
});
