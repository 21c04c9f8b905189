/**
 * Hardening: what a client or a config may ask for is bounded (issue "no request can crash
 * the proxy, leak a credential, or run unbounded", items 4 and 5). Everything goes through
 * HTTP against a running proxy; attempt counts are what the upstream side saw.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfigText } from '../src/config/load.js';
import type { RunningProxy } from '../src/index.js';
import { MAX_REQUEST_FALLBACKS, MAX_REQUEST_NUM_RETRIES } from '../src/router/request-limits.js';
import { MAX_TIMER_MS } from '../src/timer-delay.js';
import { startMockUpstreams, type MockUpstream } from './support/mock-upstream.js';
import { eventually, http, post, startTestProxy, type RawResponse } from './support/proxy.js';
import { deployment, TEST_API_KEY } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function upstreams(n: number): Promise<MockUpstream[]> {
  return startMockUpstreams(n, cleanups);
}

async function proxyFor(yaml: string): Promise<RunningProxy> {
  const p = await startTestProxy(yaml);
  cleanups.push(() => p.close());
  return p;
}

/** A TCP server that accepts and at once resets every connection, counting them: an upstream that refuses to talk. */
interface Resetter {
  readonly url: string;
  connections: number;
}

async function resetters(n: number): Promise<Resetter[]> {
  const out: Resetter[] = [];
  for (let i = 0; i < n; i++) {
    const r = { url: '', connections: 0 };
    const server: Server = createServer((sock) => {
      r.connections++;
      sock.resetAndDestroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    out.push(r);
  }
  return out;
}

/** A port nothing listens on: connections are refused (ECONNREFUSED). */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

function chat(url: string, model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<RawResponse> {
  return post(`${url}/v1/chat/completions`, { model, messages: msg, ...extra }, headers);
}

type Envelope = { error: { message: string; type: string; param: string | null; code: string } };

function attemptsIn(r: RawResponse): number {
  const m = /all (\d+) attempts failed/.exec((r.json as Envelope).error.message);
  return m ? Number(m[1]) : 1;
}

describe('item 4: a client cannot ask for unbounded retries or fallbacks', () => {
  test('item 4: num_retries 100000 against refusing deployments answers within seconds after the capped attempts, with backoff between rounds', async () => {
    const ports = await Promise.all(Array.from({ length: 4 }, () => closedPort()));
    const proxy = await proxyFor(`model_list:${ports.map((p) => deployment('g', p)).join('')}`);
    const t0 = Date.now();
    const r = await chat(proxy.url, 'g', { num_retries: 100000 });
    const took = Date.now() - t0;
    assert.equal(r.status, 502);
    assert.equal(attemptsIn(r), MAX_REQUEST_NUM_RETRIES + 1);
    assert.ok(took < 8000, `answered in ${took} ms`);
    // 11 attempts over 4 deployments: two full rounds, each followed by a wait (0.5 s, then 1 s, plus jitter).
    assert.ok(took >= 1400, `rounds were backed off (${took} ms)`);
    assert.doesNotMatch(r.text, new RegExp(TEST_API_KEY));
  });

  test('item 4: x-litellm-num-retries: 100000 → the upstreams see exactly the capped number of connections', async () => {
    const rs = await resetters(4);
    const proxy = await proxyFor(`model_list:${rs.map((x) => deployment('g', x.url)).join('')}`);
    const r = await chat(proxy.url, 'g', {}, { 'x-litellm-num-retries': '100000' });
    assert.equal(r.status, 502);
    assert.equal(rs.reduce((n, x) => n + x.connections, 0), MAX_REQUEST_NUM_RETRIES + 1);
    // Round by round: every deployment is tried before any is tried again.
    for (const x of rs) assert.ok(x.connections >= 2 && x.connections <= 3, `spread over the deployments: ${rs.map((y) => y.connections).join(', ')}`);
  });

  test('item 4: a configured num_retries above the request cap raises the cap to it', async () => {
    // One round over 13 deployments: every attempt goes to a new one, so nothing waits.
    const rs = await resetters(13);
    const proxy = await proxyFor(`model_list:${rs.map((x) => deployment('g', x.url)).join('')}
router_settings:
  num_retries: 12
`);
    const r = await chat(proxy.url, 'g', { num_retries: 100000 });
    assert.equal(r.status, 502);
    assert.equal(rs.reduce((n, x) => n + x.connections, 0), 13);
    for (const x of rs) assert.equal(x.connections, 1);
  });

  test('item 4: max_fallbacks 100000 with 50 fallback entries runs at most the capped number of fallbacks', async () => {
    const rs = await resetters(1);
    const proxy = await proxyFor(`model_list:${deployment('g', rs[0]!.url)}`);
    const fallbacks = Array.from({ length: 50 }, (_, i) => ({ model: 'g', temperature: i / 100 }));
    const r = await chat(proxy.url, 'g', { num_retries: 0, max_fallbacks: 100000, fallbacks });
    assert.equal(r.status, 502);
    assert.equal(rs[0]!.connections, 1 + MAX_REQUEST_FALLBACKS);
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), String(MAX_REQUEST_FALLBACKS));
  });

  test('item 4: litellm_settings.num_retries_per_request bounds retries and fallbacks together across groups', async () => {
    const [g1, g2, h] = await resetters(3);
    const proxy = await proxyFor(`model_list:${deployment('g', g1!.url)}${deployment('g', g2!.url)}${deployment('h', h!.url)}
litellm_settings:
  num_retries_per_request: 2
router_settings:
  fallbacks: [{"g": ["h"]}]
`);
    // g: two attempts (its one retry), then the fallback h: one attempt, and the budget of 2 is spent.
    const r = await chat(proxy.url, 'g', { num_retries: 1 });
    assert.equal(r.status, 502);
    assert.equal(g1!.connections + g2!.connections, 2);
    assert.equal(h!.connections, 1);
    assert.equal(attemptsIn(r), 3);
  });

  test('item 4: a request cooldown_time of 1e9 s cools a deployment no longer than the configured cooldown_time', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 429 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!.url, { params: { order: 1 } })}${deployment('g', b!.url, { params: { order: 2 } })}
router_settings:
  cooldown_time: 2
`);
    const r = await chat(proxy.url, 'g', { cooldown_time: 1e9 });
    assert.equal(r.status, 200);
    // a is listed first; the snapshot keeps config order.
    const d = proxy.router.snapshot().groups.g!.deployments[0]!;
    const left = d.cooldownUntil - Date.now();
    assert.ok(left > 0 && left <= 2000, `cooled for ${left} ms`);
  });

  const badCounts: readonly { name: string; body?: Record<string, unknown>; headers?: Record<string, string>; param: string | null; text: RegExp }[] = [
    { name: 'num_retries -1', body: { num_retries: -1 }, param: 'num_retries', text: /num_retries must be a non-negative integer, got -1/ },
    { name: 'num_retries 1.5', body: { num_retries: 1.5 }, param: 'num_retries', text: /num_retries must be a non-negative integer/ },
    { name: 'num_retries "lots"', body: { num_retries: 'lots' }, param: 'num_retries', text: /num_retries must be a non-negative integer, got "lots"/ },
    { name: 'x-litellm-num-retries: three', headers: { 'x-litellm-num-retries': 'three' }, param: null, text: /header x-litellm-num-retries must be a non-negative integer/ },
    { name: 'max_fallbacks -2', body: { max_fallbacks: -2 }, param: 'max_fallbacks', text: /max_fallbacks must be a non-negative integer/ },
    { name: 'cooldown_time -5', body: { cooldown_time: -5 }, param: 'cooldown_time', text: /cooldown_time must be a non-negative number of seconds/ },
  ];
  for (const c of badCounts) {
    test(`item 4: ${c.name} → a clear 400 and no upstream call`, async () => {
      const [a] = await upstreams(1);
      const proxy = await proxyFor(`model_list:${deployment('g', a!.url)}`);
      const r = await chat(proxy.url, 'g', c.body ?? {}, c.headers ?? {});
      assert.equal(r.status, 400);
      const e = (r.json as Envelope).error;
      assert.equal(e.type, 'invalid_request_error');
      assert.equal(e.code, '400');
      assert.equal(e.param, c.param);
      assert.match(e.message, c.text);
      assert.equal(a!.requests.length, 0);
    });
  }
});

describe('item 5: huge timeouts do not fire at once; bad ones are a 400', () => {
  test('item 5: deployment timeout 3000000 s → the loader warns and clamps; a 300 ms call succeeds instead of a 408', async () => {
    const [a] = await upstreams(1);
    a!.setBehavior({ kind: 'ok', delayMs: 300 });
    const yaml = `model_list:${deployment('g', a!.url, { params: { timeout: 3000000 } })}
router_settings:
  num_retries: 0
`;
    const loaded = loadConfigText(yaml, 'test.yaml', {});
    assert.ok(loaded.ok);
    assert.ok(loaded.config.warnings.some((w) => /litellm_params\.timeout \(line \d+\): 3000000 s is longer than a timer can hold; clamped to 2147483\.647 s/.test(w)), loaded.config.warnings.join('\n'));
    assert.equal(loaded.config.deployments[0]!.timeoutMs, MAX_TIMER_MS);
    const proxy = await proxyFor(yaml);
    const r = await chat(proxy.url, 'g');
    assert.equal(r.status, 200, r.text);
  });

  test('item 5: router_settings.stream_timeout 3000000 s → a stream with gaps still completes', async () => {
    const [a] = await upstreams(1);
    a!.setBehavior({ kind: 'stream', chunks: 3, firstByteDelayMs: 200, chunkDelayMs: 100 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!.url)}
router_settings:
  num_retries: 0
  stream_timeout: 3000000
`);
    const r = await chat(proxy.url, 'g', { stream: true });
    assert.equal(r.status, 200);
    assert.ok(r.text.includes('[DONE]'), r.text);
  });

  const huge: readonly { name: string; body?: Record<string, unknown>; headers?: Record<string, string> }[] = [
    { name: 'body timeout 1e9', body: { timeout: 1e9 } },
    { name: 'body request_timeout "1e9"', body: { request_timeout: '1e9' } },
    { name: 'header x-litellm-timeout: 1e9', headers: { 'x-litellm-timeout': '1e9' } },
    { name: 'body stream_timeout 1e9 (stream)', body: { stream: true, stream_timeout: 1e9 } },
    { name: 'header x-litellm-stream-timeout: 1e9 (stream)', body: { stream: true }, headers: { 'x-litellm-stream-timeout': '1e9' } },
  ];
  for (const c of huge) {
    test(`item 5: ${c.name} → treated as the longest timeout, not an instant 408`, async () => {
      const [a] = await upstreams(1);
      a!.setBehavior(c.body?.stream === true ? { kind: 'stream', chunks: 2, firstByteDelayMs: 200 } : { kind: 'ok', delayMs: 200 });
      const proxy = await proxyFor(`model_list:${deployment('g', a!.url)}
router_settings:
  num_retries: 0
`);
      const r = await chat(proxy.url, 'g', c.body ?? {}, c.headers ?? {});
      assert.equal(r.status, 200, r.text);
      assert.equal(a!.requests.length, 1);
    });
  }

  const bad: readonly { name: string; body?: Record<string, unknown>; headers?: Record<string, string>; param: string | null; text: RegExp }[] = [
    { name: 'timeout -1', body: { timeout: -1 }, param: 'timeout', text: /timeout must be a positive number of seconds, got -1/ },
    { name: 'timeout 0', body: { timeout: 0 }, param: 'timeout', text: /timeout must be a positive number of seconds, got 0/ },
    { name: 'timeout "NaN"', body: { timeout: 'NaN' }, param: 'timeout', text: /timeout must be a positive number of seconds, got "NaN"/ },
    { name: 'timeout "soon"', body: { timeout: 'soon' }, param: 'timeout', text: /got "soon"/ },
    { name: 'timeout true', body: { timeout: true }, param: 'timeout', text: /got true/ },
    { name: 'request_timeout {}', body: { request_timeout: {} }, param: 'request_timeout', text: /request_timeout must be a positive number of seconds, got an object/ },
    { name: 'stream_timeout -3 (stream)', body: { stream: true, stream_timeout: -3 }, param: 'stream_timeout', text: /stream_timeout must be a positive number/ },
    { name: 'x-litellm-timeout: abc', headers: { 'x-litellm-timeout': 'abc' }, param: null, text: /header x-litellm-timeout must be a positive number of seconds, got "abc"/ },
    { name: 'x-litellm-stream-timeout: -1', headers: { 'x-litellm-stream-timeout': '-1' }, param: null, text: /header x-litellm-stream-timeout must be a positive number/ },
  ];
  for (const c of bad) {
    test(`item 5: ${c.name} → a clear 400 and no upstream call`, async () => {
      const [a] = await upstreams(1);
      const proxy = await proxyFor(`model_list:${deployment('g', a!.url)}`);
      const r = await chat(proxy.url, 'g', c.body ?? {}, c.headers ?? {});
      assert.equal(r.status, 400, r.text);
      const e = (r.json as Envelope).error;
      assert.equal(e.type, 'invalid_request_error');
      assert.equal(e.code, '400');
      assert.equal(e.param, c.param);
      assert.match(e.message, c.text);
      assert.equal(a!.requests.length, 0);
    });
  }

  test('item 5: graceful_shutdown_seconds 1e9 → clamped with a warning; shutdown waits for the call in flight instead of cutting it', async () => {
    const [a] = await upstreams(1);
    a!.setBehavior({ kind: 'ok', delayMs: 400 });
    const yaml = `model_list:${deployment('g', a!.url)}
general_settings:
  graceful_shutdown_seconds: 1000000000
`;
    const loaded = loadConfigText(yaml, 'test.yaml', {});
    assert.ok(loaded.ok);
    assert.equal(loaded.config.server.shutdownGraceMs, MAX_TIMER_MS);
    assert.ok(loaded.config.warnings.some((w) => /graceful_shutdown_seconds \(line \d+\): 1000000000 s is longer than a timer can hold/.test(w)));
    const proxy = await startTestProxy(yaml);
    const pending = chat(proxy.url, 'g');
    await a!.waitForRequests(1);
    await proxy.close();
    assert.equal((await pending).status, 200);
  });

  test('item 5: health_check_interval 1e9 → the background check runs once, not every millisecond', async () => {
    const [a] = await upstreams(1);
    const yaml = `model_list:${deployment('g', a!.url)}
general_settings:
  background_health_checks: true
  health_check_interval: 1000000000
`;
    const loaded = loadConfigText(yaml, 'test.yaml', {});
    assert.ok(loaded.ok);
    assert.ok(loaded.config.warnings.some((w) => /health_check_interval \(line \d+\): 1000000000 s is longer than a timer can hold/.test(w)));
    await proxyFor(yaml);
    await eventually(() => a!.requests.length >= 1, 3000, 'the first background check');
    await sleep(300);
    assert.equal(a!.requests.length, 1);
  });

  test('item 5: model_info.health_check_timeout 0 or 1e9 → /health waits the default or the longest, not an instant timeout', async () => {
    const [a] = await upstreams(1);
    a!.setBehavior({ kind: 'ok', delayMs: 200 });
    const proxy = await proxyFor(`model_list:
  - model_name: zero
    litellm_params: { model: openai/m, api_base: "${a!.url}/v1", api_key: sk-limits-key }
    model_info: { health_check_timeout: 0 }
  - model_name: huge
    litellm_params: { model: openai/m, api_base: "${a!.url}/v1", api_key: sk-limits-key }
    model_info: { health_check_timeout: 1000000000 }
`);
    const r = await http(`${proxy.url}/health`);
    assert.equal(r.status, 200);
    const body = r.json as { healthy_count: number; unhealthy_count: number };
    assert.equal(body.healthy_count, 2, r.text);
    assert.equal(body.unhealthy_count, 0);
  });

  test('item 5: health_check_interval that is not a positive number is a config problem', () => {
    const loaded = loadConfigText('general_settings:\n  health_check_interval: -5\n', 'test.yaml', {});
    assert.equal(loaded.ok, false);
    assert.ok(!loaded.ok && loaded.problems.some((p) => p.path === 'general_settings.health_check_interval' && /positive number of seconds/.test(p.message)));
  });
});
