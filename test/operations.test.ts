/**
 * Day-2 operations through a running proxy: the access log, request ids, the common response
 * headers, CORS and `x-should-retry`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfigText } from '../src/config/load.js';
import { startProxy, type RunningProxy } from '../src/index.js';
import { createLogger, jsonLogsFromEnv, logLevelFromEnv } from '../src/log.js';
import { deployment } from './support/deployments.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { eventually, http, post } from './support/proxy.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const MASTER_KEY = 'sk-master-ops-test-1234';
const fresh = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
const auth = { authorization: `Bearer ${MASTER_KEY}` };

interface Started {
  proxy: RunningProxy;
  lines: string[];
  /** The parsed JSON access lines (those with a `request_id` and a `status`). */
  access(): Array<Record<string, unknown>>;
}

async function start(yaml: string, opts: { json?: boolean; workers?: number } = {}): Promise<Started> {
  const loaded = loadConfigText(yaml, 'ops.yaml', {});
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  const lines: string[] = [];
  const proxy = await startProxy({
    config: loaded.config,
    port: 0,
    workers: opts.workers ?? 1,
    log: createLogger({ level: 'info', json: opts.json ?? true, write: (l) => lines.push(l) }),
  });
  return {
    proxy,
    lines,
    access: () =>
      lines
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((o) => typeof o.request_id === 'string' && typeof o.status === 'number'),
  };
}

function assertCommonHeaders(h: Headers, what: string): string {
  const id = h.get('x-request-id');
  assert.ok(id !== null && id !== '', `${what}: x-request-id`);
  assert.equal(h.get('x-litellm-call-id'), id, `${what}: x-litellm-call-id is the request id`);
  assert.equal(h.get('x-litellm-version'), version, `${what}: x-litellm-version`);
  const d = Number(h.get('x-litellm-response-duration-ms'));
  assert.ok(Number.isFinite(d) && d >= 0, `${what}: x-litellm-response-duration-ms = ${h.get('x-litellm-response-duration-ms')}`);
  assert.equal(h.get('access-control-allow-origin'), '*', `${what}: CORS allows every origin by default`);
  return id!;
}

describe('access log, request ids and common headers', () => {
  let upstream: MockUpstream;
  let s: Started;
  before(async () => {
    upstream = await startMockUpstream();
    s = await start(`model_list:${deployment('g', upstream, { info: { id: 'dep-g' } })}
general_settings:
  master_key: ${MASTER_KEY}
router_settings:
  num_retries: 1
`);
  });
  after(async () => {
    await s.proxy.close();
    await upstream.close();
  });

  test('one JSON access line per request, with what the router did, after real traffic', async () => {
    upstream.reset();
    const res = await post(`${s.proxy.url}/v1/chat/completions`, chat('g'), { ...auth, 'x-request-id': 'client-id-1' });
    assert.equal(res.status, 200);
    assert.equal(assertCommonHeaders(res.headers, 'chat'), 'client-id-1');
    assert.equal(res.headers.get('x-should-retry'), null, 'no x-should-retry on a success');
    await eventually(() => s.access().some((l) => l.request_id === 'client-id-1'), 2000, 'the access line');
    const line = s.access().filter((l) => l.request_id === 'client-id-1');
    assert.equal(line.length, 1, 'exactly one line');
    const l = line[0]!;
    assert.equal(l.level, 'info');
    assert.equal(typeof l.time, 'string');
    assert.equal(l.method, 'POST');
    assert.equal(l.route, '/v1/chat/completions');
    assert.equal(l.status, 200);
    assert.equal(l.model_group, 'g');
    assert.equal(l.deployment_id, 'dep-g');
    assert.equal(l.attempted_retries, 0);
    assert.equal(l.attempted_fallbacks, 0);
    assert.equal(typeof l.duration_ms, 'number');
    assert.ok((l.duration_ms as number) >= 0);
    assert.equal(l.ttfb_ms, undefined, 'no time to first byte for a non-stream');
    assert.equal(l.msg, 'POST /v1/chat/completions 200');
  });

  test('a stream: headers on the 200, time to first byte in its access line', async () => {
    upstream.reset();
    upstream.setBehavior({ kind: 'stream', chunks: 3, chunkDelayMs: 10 });
    const res = await post(`${s.proxy.url}/v1/chat/completions`, chat('g', { stream: true }), { ...auth, 'x-litellm-call-id': 'stream-id-1' });
    assert.equal(res.status, 200);
    assert.match(res.text, /\[DONE\]/);
    assert.equal(assertCommonHeaders(res.headers, 'stream'), 'stream-id-1');
    await eventually(() => s.access().some((l) => l.request_id === 'stream-id-1'), 2000, 'the access line');
    const l = s.access().find((x) => x.request_id === 'stream-id-1')!;
    assert.equal(l.status, 200);
    assert.equal(l.deployment_id, 'dep-g');
    assert.equal(typeof l.ttfb_ms, 'number');
    assert.ok((l.ttfb_ms as number) <= (l.duration_ms as number));
  });

  test('an SSE error event carries the request id', async () => {
    upstream.reset();
    upstream.setBehavior({ kind: 'stream', chunks: 10, chunkDelayMs: 10, dieAfter: 1 });
    const res = await post(`${s.proxy.url}/v1/chat/completions`, chat('g', { stream: true }), { ...auth, 'x-request-id': 'sse-err-1' });
    assert.equal(res.status, 200);
    const last = res.text.split('\n\n').filter(Boolean).at(-1)!;
    assert.match(last, /^data: \{"error"/);
    const event = JSON.parse(last.slice('data: '.length)) as { error: { code: string }; request_id: string };
    assert.equal(event.request_id, 'sse-err-1');
    assert.equal(typeof event.error.code, 'string');
  });

  test('every kind of response carries the request id and the common headers', async () => {
    const u = s.proxy.url;
    upstream.reset();
    upstream.setBehavior({ kind: 'status', status: 500, body: { error: { message: 'boom' } } });
    const cases: Array<[string, Promise<{ status: number; headers: Headers }>, number]> = [
      ['404', http(`${u}/nope`, { headers: auth }), 404],
      ['401', post(`${u}/v1/chat/completions`, chat('g')), 401],
      ['400', post(`${u}/v1/chat/completions`, '{"model":', auth), 400],
      ['liveliness', http(`${u}/health/liveliness`), 200],
      ['readiness', http(`${u}/health/readiness`), 200],
      ['models', http(`${u}/v1/models`, { headers: auth }), 200],
      ['upstream 500', post(`${u}/v1/chat/completions`, chat('g'), auth), 500],
      ['stream refused before its first byte', post(`${u}/v1/chat/completions`, chat('g', { stream: true }), auth), 500],
      ['metrics', http(`${u}/metrics`), 200],
      ['routes', http(`${u}/routes`), 200],
      ['health', http(`${u}/health`, { headers: auth }), 200],
      ['config reload refused', http(`${u}/config/reload`, { method: 'POST', headers: auth }), 400],
      ['preflight', http(`${u}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } }), 204],
    ];
    const ids = new Set<string>();
    for (const [what, p, status] of cases) {
      const r = await p;
      assert.equal(r.status, status, what);
      const id = assertCommonHeaders(r.headers, what);
      assert.match(id, fresh, `${what}: a fresh id when the client sent none`);
      ids.add(id);
    }
    assert.equal(ids.size, cases.length, 'fresh ids are unique');
    await eventually(() => s.access().some((l) => l.route === '/metrics'), 2000, 'the access line of /metrics');
    const metricsLine = s.access().find((l) => l.route === '/metrics')!;
    assert.equal(metricsLine.status, 200);
    assert.ok(ids.has(metricsLine.request_id as string), 'the /metrics line names the id it answered with');
  });

  test('a client id that is too long, has a space or a control character is replaced', async () => {
    for (const bad of ['a'.repeat(129), 'has space', 'tab\there']) {
      const r = await http(`${s.proxy.url}/health/liveliness`, { headers: { 'x-request-id': bad } });
      const id = r.headers.get('x-request-id')!;
      assert.notEqual(id, bad);
      assert.match(id, fresh);
    }
    const ok = 'A'.repeat(128);
    assert.equal((await http(`${s.proxy.url}/health/liveliness`, { headers: { 'x-request-id': ok } })).headers.get('x-request-id'), ok);
  });

  test('x-should-retry: false on proxy 4xx and on upstream failures once retries are spent', async () => {
    const u = s.proxy.url;
    upstream.reset();
    upstream.setBehavior({ kind: 'status', status: 503, body: { error: { message: 'down' } } });
    const failed = await post(`${u}/v1/chat/completions`, chat('g'), auth);
    assert.equal(failed.status, 503);
    assert.equal(upstream.requests.length, 2, 'the proxy retried itself (num_retries: 1)');
    assert.equal(failed.headers.get('x-should-retry'), 'false');
    assert.equal((await post(`${u}/v1/chat/completions`, chat('g'))).headers.get('x-should-retry'), 'false', '401');
    assert.equal((await post(`${u}/v1/chat/completions`, chat('nope'), auth)).headers.get('x-should-retry'), 'false', '400 unknown model');
    assert.equal((await http(`${u}/nope`)).headers.get('x-should-retry'), 'false', '404');
  });

  test('a secret in a client-sent request id is redacted from the log line, not from the reply', async () => {
    const r = await http(`${s.proxy.url}/health/liveliness`, { headers: { 'x-request-id': MASTER_KEY } });
    assert.equal(r.headers.get('x-request-id'), MASTER_KEY, 'the client gets back what it sent');
    await eventually(() => s.lines.some((l) => l.includes('/health/liveliness') && l.includes('[redacted]')), 2000, 'the redacted line');
    assert.ok(!s.lines.some((l) => l.includes(MASTER_KEY)), 'the master key never reaches the log');
  });
});

describe('x-should-retry with Retry-After', () => {
  test('429 "No deployments available" carries Retry-After and x-should-retry: true', async () => {
    const upstream = await startMockUpstream();
    const s = await start(`model_list:${deployment('g', upstream, { params: { rpm: 1 } })}\n`);
    try {
      assert.equal((await post(`${s.proxy.url}/v1/chat/completions`, chat('g'))).status, 200);
      const r = await post(`${s.proxy.url}/v1/chat/completions`, chat('g'));
      assert.equal(r.status, 429);
      assert.ok(Number(r.headers.get('retry-after')) > 0, `retry-after: ${r.headers.get('retry-after')}`);
      assert.equal(r.headers.get('x-should-retry'), 'true');
    } finally {
      await s.proxy.close();
      await upstream.close();
    }
  });
});

describe('CORS', () => {
  test('preflights are answered 204 without auth; responses allow every origin by default', async () => {
    const s = await start(`model_list:\n  - model_name: m\n    litellm_params: { model: openai/x, mock_response: "ok" }\ngeneral_settings:\n  master_key: ${MASTER_KEY}\n`);
    try {
      const pre = await http(`${s.proxy.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.text, '');
      assert.equal(pre.headers.get('access-control-allow-origin'), '*');
      assert.match(pre.headers.get('access-control-allow-methods')!, /POST/);
      assert.equal(pre.headers.get('access-control-allow-headers'), 'authorization, content-type');
      assert.equal(pre.headers.get('access-control-max-age'), '600');
      assert.ok(pre.headers.get('x-request-id'));
      const r = await post(`${s.proxy.url}/v1/chat/completions`, chat('m'), { ...auth, origin: 'https://app.example.com' });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      assert.match(r.headers.get('access-control-expose-headers')!, /x-request-id/);
    } finally {
      await s.proxy.close();
    }
  });

  test('a browser may read every header the proxy sets or relays: each is named in Access-Control-Expose-Headers', async () => {
    const upstream = await startMockUpstream();
    const s = await start(`model_list:${deployment('g', upstream, { params: { rpm: 100 } })}\n`);
    try {
      upstream.setBehavior({ kind: 'ok', headers: { 'x-request-id': 'up-req-1', 'openai-processing-ms': '12', 'x-ratelimit-remaining-tokens': '999' } });
      const r = await post(`${s.proxy.url}/v1/chat/completions`, chat('g'), { origin: 'https://app.example.com' });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('llm_provider-x-request-id'), 'up-req-1', 'the upstream headers were relayed');
      assert.ok(r.headers.get('x-litellm-overhead-duration-ms') !== null);
      const exposed = new Set(r.headers.get('access-control-expose-headers')!.split(',').map((x) => x.trim()));
      const ours = [...r.headers.keys()].filter((k) => /^(x-litellm-|llm_provider-|x-ratelimit-|x-request-id$|x-should-retry$)/.test(k));
      assert.ok(ours.length >= 12, `headers seen: ${ours.join(', ')}`);
      for (const k of ours) assert.ok(exposed.has(k), `${k} is exposed`);
    } finally {
      await s.proxy.close();
      await upstream.close();
    }
  });

  test('general_settings.allowed_origins: a listed origin is echoed with Vary: Origin, another gets no allow header', async () => {
    const s = await start(`model_list:\n  - model_name: m\n    litellm_params: { model: openai/x, mock_response: "ok" }\ngeneral_settings:\n  allowed_origins: ["https://app.example.com"]\n`);
    try {
      const ok = await post(`${s.proxy.url}/v1/chat/completions`, chat('m'), { origin: 'https://app.example.com' });
      assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.com');
      assert.equal(ok.headers.get('vary'), 'Origin');
      const other = await post(`${s.proxy.url}/v1/chat/completions`, chat('m'), { origin: 'https://evil.example.com' });
      assert.equal(other.status, 200);
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      assert.equal(other.headers.get('vary'), 'Origin');
      const pre = await http(`${s.proxy.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' } });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get('access-control-allow-origin'), null);
      assert.equal(pre.headers.get('access-control-allow-methods'), null);
    } finally {
      await s.proxy.close();
    }
  });
});

describe('log format and level switches', () => {
  test('human lines by default: the access line reads as text with key=value fields', async () => {
    const s = await start(`model_list:\n  - model_name: m\n    litellm_params: { model: openai/x, mock_response: "ok" }\n`, { json: false, workers: 0 });
    try {
      const r = await post(`${s.proxy.url}/v1/chat/completions`, chat('m'), { 'x-request-id': 'human-1' });
      assert.equal(r.status, 200);
      await eventually(() => s.lines.some((l) => l.includes('request_id=human-1')), 2000, 'the human access line');
      const line = s.lines.find((l) => l.includes('request_id=human-1'))!;
      assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z info  POST \/v1\/chat\/completions 200 request_id=human-1 method=POST route=\/v1\/chat\/completions status=200 model_group=m .*duration_ms=[\d.]+/);
    } finally {
      await s.proxy.close();
    }
  });

  test('levels and JSON from the environment: SWITCHYARD_LOG_LEVEL, LiteLLM\'s LITELLM_LOG and JSON_LOGS', () => {
    assert.equal(logLevelFromEnv({}), 'info');
    assert.equal(logLevelFromEnv({ LITELLM_LOG: 'DEBUG' }), 'debug');
    assert.equal(logLevelFromEnv({ LITELLM_LOG: 'ERROR' }), 'error');
    assert.equal(logLevelFromEnv({ SWITCHYARD_LOG_LEVEL: 'warn', LITELLM_LOG: 'DEBUG' }), 'warn');
    assert.equal(jsonLogsFromEnv({ JSON_LOGS: 'true' }), true);
    assert.equal(jsonLogsFromEnv({ JSON_LOGS: 'False' }), false);
    assert.equal(jsonLogsFromEnv({}), false);
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', json: true, write: (l) => lines.push(l) });
    log.addSecrets(['sk-field-secret-99']);
    log.info('dropped below the level');
    log.warn('upstream said sk-field-secret-99', { detail: 'echo sk-field-secret-99', n: 1 });
    assert.equal(lines.length, 1);
    const o = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(o.level, 'warn');
    assert.equal(o.msg, 'upstream said [redacted]');
    assert.equal(o.detail, 'echo [redacted]');
    assert.equal(o.n, 1);
  });
});

describe('raw client', () => {
  test('a request id with bytes fetch cannot send (DEL) is replaced', async () => {
    const s = await start(`model_list:\n  - model_name: m\n    litellm_params: { model: openai/x, mock_response: "ok" }\n`, { workers: 0 });
    try {
      const port = Number(new URL(s.proxy.url).port);
      const head = await new Promise<string>((resolve, reject) => {
        const sock = connect(port, '127.0.0.1', () => {
          sock.write(Buffer.from(`GET /health/liveliness HTTP/1.1\r\nHost: x\r\nx-request-id: bad\x7fid\r\nConnection: close\r\n\r\n`, 'latin1'));
        });
        let buf = '';
        sock.on('data', (d) => (buf += d.toString('latin1')));
        sock.on('end', () => resolve(buf));
        sock.on('error', reject);
      });
      const m = /\r\nx-request-id: ([^\r]*)\r\n/i.exec(head);
      assert.ok(m, JSON.stringify(head));
      assert.match(m[1]!, fresh);
    } finally {
      await s.proxy.close();
    }
  });
});
