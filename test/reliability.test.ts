/**
 * Retries, fallbacks, cooldowns, timeouts and stream failover through HTTP against recording
 * mock upstreams. Attempt counts are read from the upstream logs, so "retried" and "not
 * retried" mean exactly what the upstreams saw.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, test } from 'node:test';
import type { RunningProxy } from '../src/index.js';
import type { DeploymentSnapshot } from '../src/router/deployment-state.js';
import type { RouterOptions } from '../src/router/types.js';
import { type MockUpstream, startMockUpstreams } from './support/mock-upstream.js';
import { eventually, post, startTestProxy, type RawResponse } from './support/proxy.js';
import { deployment, TEST_API_KEY } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** One deployment's state now, read through the router's snapshot (never live actor fields). */
function snapshotOf(proxy: RunningProxy, group: string, id?: string): DeploymentSnapshot {
  const ds = proxy.router.snapshot().groups[group]!.deployments;
  return id === undefined ? ds[0]! : ds.find((x) => x.id === id)!;
}

/** A clock the test moves by hand: cooldowns end when the test says, not after a real sleep. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = Date.now();
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const upstreams = (n: number): Promise<MockUpstream[]> => startMockUpstreams(n, cleanups);

async function proxyFor(yaml: string, router?: RouterOptions): Promise<RunningProxy> {
  const p = await startTestProxy(yaml, { router });
  cleanups.push(() => p.close());
  return p;
}

function chat(url: string, model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<RawResponse> {
  return post(`${url}/v1/chat/completions`, { model, messages: msg, ...extra }, headers);
}

function errorMessage(r: RawResponse): string {
  return (r.json as { error: { message: string } }).error.message;
}

describe('retries', () => {
  // A (order 1) fails with the status; B (order 2) answers. Tiers make the first pick A every time.
  const retried = [429, 500, 502, 503, 408];
  const notRetried = [400, 404, 422];
  for (const status of retried) {
    test(`${status} is retried on another deployment`, async () => {
      const [a, b] = await upstreams(2);
      a!.setBehavior({ kind: 'status', status });
      const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { order: 1 } })}${deployment('g', b!, { params: { order: 2 } })}`);
      const r = await chat(proxy.url, 'g');
      assert.equal(r.status, 200);
      assert.equal(a!.requests.length, 1);
      assert.equal(b!.requests.length, 1);
      assert.equal(r.headers.get('x-litellm-attempted-retries'), '1');
      assert.equal(r.headers.get('x-litellm-max-retries'), '2');
    });
  }
  for (const status of notRetried) {
    test(`${status} is never retried: the client gets it after exactly one attempt`, async () => {
      const [a, b] = await upstreams(2);
      a!.setBehavior({ kind: 'status', status, body: { error: { message: `mock ${status}`, type: 'invalid_request_error', param: null, code: null } } });
      const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { order: 1 } })}${deployment('g', b!, { params: { order: 2 } })}`);
      const r = await chat(proxy.url, 'g');
      assert.equal(r.status, status);
      assert.equal(a!.requests.length + b!.requests.length, 1);
      assert.match(errorMessage(r), new RegExp(`mock ${status}`));
    });
  }

  test('401 is retried only when another deployment exists', async () => {
    const [a, b, c] = await upstreams(3);
    a!.setBehavior({ kind: 'status', status: 401 });
    c!.setBehavior({ kind: 'status', status: 401 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { order: 1 } })}${deployment('g', b!, { params: { order: 2 } })}${deployment('single', c!)}`);
    assert.equal((await chat(proxy.url, 'g')).status, 200);
    assert.equal(b!.requests.length, 1);
    const r = await chat(proxy.url, 'single');
    assert.equal(r.status, 401);
    assert.equal(c!.requests.length, 1);
  });

  test('num_retries from the body and the x-litellm-num-retries header bound the attempts', async () => {
    const ups = await upstreams(4);
    for (const u of ups) u.setBehavior({ kind: 'status', status: 503 });
    const proxy = await proxyFor(`model_list:${ups.map((u) => deployment('g', u)).join('')}
router_settings:
  num_retries: 3
`);
    const total = (): number => ups.reduce((n, u) => n + u.requests.length, 0);
    assert.equal((await chat(proxy.url, 'g', { num_retries: 1 })).status, 503);
    assert.equal(total(), 2);
    for (const u of ups) u.reset(), u.setBehavior({ kind: 'status', status: 503 });
    assert.equal((await chat(proxy.url, 'g', {}, { 'x-litellm-num-retries': '0' })).status, 503);
    assert.equal(total(), 1);
  });

  test('when everything fails: the first error status, every attempt cause, no key', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 503, body: { error: { message: 'first is overloaded', type: 'server_error', param: null, code: null } } });
    b!.setBehavior({ kind: 'status', status: 500, body: { error: { message: 'second broke', type: 'server_error', param: null, code: null } } });
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { order: 1 }, info: { id: 'dep-a' } })}${deployment('g', b!, { params: { order: 2 }, info: { id: 'dep-b' } })}
router_settings:
  num_retries: 1
`);
    const r = await chat(proxy.url, 'g');
    assert.equal(r.status, 503);
    const m = errorMessage(r);
    assert.match(m, /first is overloaded/);
    assert.match(m, /second broke/);
    assert.match(m, /g\/dep-a/);
    assert.match(m, /g\/dep-b/);
    assert.doesNotMatch(r.text, new RegExp(TEST_API_KEY));
  });
});

describe('fallbacks', () => {
  test('chains A → B → C: each group runs its own retries; the response names what served it', async () => {
    const [a, b, c] = await upstreams(3);
    a!.setBehavior({ kind: 'status', status: 500 });
    b!.setBehavior({ kind: 'status', status: 500 });
    const proxy = await proxyFor(`model_list:${deployment('A', a!)}${deployment('B', b!)}${deployment('C', c!)}
router_settings:
  num_retries: 0
  fallbacks: [{"A": ["B"]}, {"B": ["C"]}]
`);
    const r = await chat(proxy.url, 'A');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '2');
    // After a fallback the response keeps the model the upstream answered with (LiteLLM), here C's `openai/m`.
    assert.equal((r.json as { model: string }).model, 'm');
    assert.equal(r.headers.get('x-litellm-model-group'), 'C');
    assert.deepEqual([a!.requests.length, b!.requests.length, c!.requests.length], [1, 1, 1]);
  });

  test('cycles terminate', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 500 });
    b!.setBehavior({ kind: 'status', status: 502 });
    const proxy = await proxyFor(`model_list:${deployment('A', a!)}${deployment('B', b!)}
router_settings:
  num_retries: 0
  fallbacks: [{"A": ["B"]}, {"B": ["A"]}]
`);
    const r = await chat(proxy.url, 'A');
    assert.equal(r.status, 500, 'the first error status');
    assert.equal(a!.requests.length, 1);
    assert.equal(b!.requests.length, 1);
  });

  test('context-window errors go to context_window_fallbacks, content-policy errors to content_policy_fallbacks', async () => {
    const [a, cw, cp, gen] = await upstreams(4);
    a!.setBehavior((req) => {
      const content = ((req.body as { messages: Array<{ content: string }> }).messages[0]!.content);
      return content === 'long'
        ? { kind: 'status', status: 400, body: { error: { message: "This model's maximum context length is 10 tokens", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } } }
        : { kind: 'status', status: 400, body: { error: { message: 'flagged', type: 'invalid_request_error', param: null, code: 'content_policy_violation' } } };
    });
    const proxy = await proxyFor(`model_list:${deployment('A', a!)}${deployment('big', cw!)}${deployment('lenient', cp!)}${deployment('general', gen!)}
router_settings:
  fallbacks: [{"A": ["general"]}]
  context_window_fallbacks: [{"A": ["big"]}]
  content_policy_fallbacks: [{"A": ["lenient"]}]
`);
    const long = await post(`${proxy.url}/v1/chat/completions`, { model: 'A', messages: [{ role: 'user', content: 'long' }] });
    assert.equal(long.status, 200);
    assert.equal(long.headers.get('x-litellm-model-group'), 'big');
    const bad = await post(`${proxy.url}/v1/chat/completions`, { model: 'A', messages: [{ role: 'user', content: 'bad' }] });
    assert.equal(bad.status, 200);
    assert.equal(bad.headers.get('x-litellm-model-group'), 'lenient');
    assert.equal(gen!.requests.length, 0);
    assert.equal(a!.requests.length, 2, 'a 400 is never retried');
  });

  test('finish_reason content_filter goes to content_policy_fallbacks', async () => {
    const [b] = await upstreams(1);
    const proxy = await proxyFor(`model_list:
  - model_name: A
    litellm_params:
      model: openai/x
      mock_response: { choices: [ { index: 0, message: { role: assistant, content: "" }, finish_reason: content_filter } ] }
${deployment('B', b!)}
router_settings:
  content_policy_fallbacks: [{"A": ["B"]}]
`);
    const r = await chat(proxy.url, 'A');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-model-group'), 'B');
  });

  test('default_fallbacks, request-body fallbacks, disable_fallbacks, and a fallback naming a deployment id', async () => {
    const [a, b, c] = await upstreams(3);
    a!.setBehavior({ kind: 'status', status: 500 });
    const proxy = await proxyFor(`model_list:${deployment('A', a!)}${deployment('B', b!)}${deployment('C', c!, { info: { id: 'dep-c' } })}
router_settings:
  num_retries: 0
  default_fallbacks: ["B"]
`);
    const viaDefault = await chat(proxy.url, 'A');
    assert.equal(viaDefault.headers.get('x-litellm-model-group'), 'B');
    const viaBody = await chat(proxy.url, 'A', { fallbacks: ['dep-c'] });
    assert.equal(viaBody.status, 200);
    assert.equal(viaBody.headers.get('x-litellm-model-id'), 'dep-c');
    const disabled = await chat(proxy.url, 'A', { disable_fallbacks: true });
    assert.equal(disabled.status, 500);
  });

  test('malformed request-body fallbacks are a 400 before any attempt', async () => {
    const [a] = await upstreams(1);
    const proxy = await proxyFor(`model_list:${deployment('A', a!)}`);
    const r = await chat(proxy.url, 'A', { fallbacks: [42] });
    assert.equal(r.status, 400);
    assert.equal((r.json as { error: { param: string } }).error.param, 'fallbacks');
    assert.equal(a!.requests.length, 0);
  });

  test('a fallback entry may carry its own messages', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 500 });
    const proxy = await proxyFor(`model_list:${deployment('A', a!)}${deployment('B', b!)}
router_settings:
  num_retries: 0
`);
    const r = await chat(proxy.url, 'A', { fallbacks: [{ model: 'B', messages: [{ role: 'user', content: 'shorter' }] }] });
    assert.equal(r.status, 200);
    assert.deepEqual((b!.requests[0]!.body as { messages: unknown }).messages, [{ role: 'user', content: 'shorter' }]);
  });
});

describe('cooldowns', () => {
  test('a 429 cools the deployment; Retry-After sets the length; then a half-open probe, and a failed probe cools for longer', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const clock = manualClock();
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { order: 1 }, info: { id: 'dep-a' } })}${deployment('g', b!, { params: { order: 2 }, info: { id: 'dep-b' } })}`, { now: clock.now });
    assert.equal((await chat(proxy.url, 'g')).status, 200);
    assert.equal(a!.requests.length, 1);
    const coolMs = snapshotOf(proxy, 'g', 'dep-a').cooldownUntil - clock.now();
    assert.equal(coolMs, 1000, 'cooldown from Retry-After');
    clock.advance(999);
    for (let i = 0; i < 5; i++) assert.equal((await chat(proxy.url, 'g')).status, 200);
    assert.equal(a!.requests.length, 1, 'no traffic while cooling, up to its last millisecond');
    clock.advance(1);
    // The cooldown is over: one probe goes to A; it fails again, so A cools for longer than before.
    assert.equal((await chat(proxy.url, 'g')).status, 200);
    assert.equal(a!.requests.length, 2, 'exactly one probe');
    assert.ok(snapshotOf(proxy, 'g', 'dep-a').cooldownUntil - clock.now() > 1000, 'a failed probe cools for longer');
    for (let i = 0; i < 3; i++) assert.equal((await chat(proxy.url, 'g')).status, 200);
    assert.equal(a!.requests.length, 2, 'cooling again after the failed probe');
    a!.setBehavior({ kind: 'ok' });
  });

  test('a successful half-open probe restores full traffic', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const clock = manualClock();
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { weight: 1 }, info: { id: 'dep-a' } })}${deployment('g', b!, { params: { weight: 1 }, info: { id: 'dep-b' } })}`, { now: clock.now });
    while (a!.requests.length === 0) await chat(proxy.url, 'g');
    assert.ok(snapshotOf(proxy, 'g', 'dep-a').cooldownUntil > clock.now(), 'A cooled');
    a!.setBehavior({ kind: 'ok' });
    clock.advance(1100);
    for (let i = 0; i < 40; i++) await chat(proxy.url, 'g');
    assert.equal(snapshotOf(proxy, 'g', 'dep-a').halfOpen, false, 'the probe closed the circuit');
    assert.ok(a!.requests.length > 10, `A is back in rotation (${a!.requests.length})`);
  });

  test('401 cools even a single-deployment group; 400 never cools', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 401 });
    b!.setBehavior({ kind: 'status', status: 400 });
    const proxy = await proxyFor(`model_list:${deployment('auth', a!)}${deployment('bad', b!)}`);
    assert.equal((await chat(proxy.url, 'auth')).status, 401);
    const r = await chat(proxy.url, 'auth');
    assert.equal(r.status, 429);
    assert.match(errorMessage(r), /No deployments available for selected model, Try again in \d+ seconds/);
    for (let i = 0; i < 6; i++) assert.equal((await chat(proxy.url, 'bad')).status, 400);
    assert.equal(b!.requests.length, 6);
  });

  test('more than half of at least 5 requests failing within a minute cools a deployment', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 500 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { info: { id: 'dep-a' } })}${deployment('g', b!, { info: { id: 'dep-b' } })}
router_settings:
  num_retries: 0
  cooldown_time: 30
`);
    while (snapshotOf(proxy, 'g', 'dep-a').cooldownUntil === 0 && a!.requests.length < 50) await chat(proxy.url, 'g');
    assert.ok(snapshotOf(proxy, 'g', 'dep-a').cooldownUntil > Date.now() + 20_000, 'cooled for cooldown_time');
    assert.ok(a!.requests.length >= 5, `not before 5 requests (${a!.requests.length})`);
  });

  test('every deployment cooling: 429 with Retry-After, and fallbacks still run', async () => {
    const [a, b, f] = await upstreams(3);
    a!.setBehavior({ kind: 'status', status: 429, headers: { 'retry-after': '20' } });
    b!.setBehavior({ kind: 'status', status: 429, headers: { 'retry-after': '20' } });
    const proxy = await proxyFor(`model_list:${deployment('g', a!)}${deployment('g', b!)}${deployment('h', f!)}`);
    await chat(proxy.url, 'g');
    const r = await chat(proxy.url, 'g');
    assert.equal(r.status, 429);
    assert.match(errorMessage(r), /No deployments available for selected model, Try again in \d+ seconds/);
    const retryAfter = Number(r.headers.get('retry-after'));
    assert.ok(retryAfter >= 15 && retryAfter <= 20, `retry-after ${retryAfter}`);
    const withFallback = await chat(proxy.url, 'g', { fallbacks: ['h'] });
    assert.equal(withFallback.status, 200);
    assert.equal(withFallback.headers.get('x-litellm-model-group'), 'h');
  });

  test('cooldown_time: 0 disables cooldowns', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 429 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { order: 1, cooldown_time: 0 } })}${deployment('g', b!, { params: { order: 2 } })}`);
    for (let i = 0; i < 3; i++) await chat(proxy.url, 'g');
    assert.equal(a!.requests.length, 3);
  });
});

describe('timeouts', () => {
  test('non-stream: 408 with x-litellm-timeout, and the upstream request is cancelled', async () => {
    const [a] = await upstreams(1);
    a!.setBehavior({ kind: 'ok', delayMs: 3000 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { timeout: 0.3 } })}
router_settings:
  num_retries: 0
`);
    const t0 = Date.now();
    const r = await chat(proxy.url, 'g');
    assert.equal(r.status, 408);
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(r.headers.get('x-litellm-timeout'), '0.3');
    await a!.waitForAbort(0, 2000);
  });

  test('stream: first byte too late → 408 before any byte; a gap too long → SSE error event, no [DONE]', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'stream', chunks: 3, firstByteDelayMs: 2000 });
    b!.setBehavior({ kind: 'stream', chunks: 5, chunkDelayMs: 800 });
    const proxy = await proxyFor(`model_list:${deployment('slow-start', a!, { params: { stream_timeout: 0.3 } })}${deployment('gappy', b!, { params: { stream_timeout: 0.3 } })}
router_settings:
  num_retries: 0
`);
    const first = await chat(proxy.url, 'slow-start', { stream: true });
    assert.equal(first.status, 408);
    assert.equal(first.headers.get('x-litellm-timeout'), '0.3');
    const gap = await chat(proxy.url, 'gappy', { stream: true });
    assert.equal(gap.status, 200);
    const events = gap.text.split('\n\n').filter(Boolean);
    assert.ok(!gap.text.includes('[DONE]'));
    assert.match(events.at(-1)!, /^data: \{"error"/);
    await b!.waitForAbort(0, 2000);
  });

  test('request timeout from the x-litellm-timeout header', async () => {
    const [a] = await upstreams(1);
    a!.setBehavior({ kind: 'ok', delayMs: 3000 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!)}
router_settings:
  num_retries: 0
`);
    const r = await chat(proxy.url, 'g', {}, { 'x-litellm-timeout': '0.2' });
    assert.equal(r.status, 408);
  });
});

describe('streams fail over before the first byte only', () => {
  test('an upstream that dies before its first byte is replaced, unseen by the client', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'destroy' });
    b!.setBehavior({ kind: 'stream', chunks: 3 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { order: 1 } })}${deployment('g', b!, { params: { order: 2 } })}`);
    const r = await chat(proxy.url, 'g', { stream: true });
    assert.equal(r.status, 200);
    assert.match(r.text, /tok0 .*tok2 /s);
    assert.match(r.text, /data: \[DONE\]/);
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '1');
    assert.equal(a!.requests.length, 1);
  });

  test('an upstream status error before the first byte fails over too', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 503 });
    b!.setBehavior({ kind: 'stream', chunks: 2 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { order: 1 } })}${deployment('g', b!, { params: { order: 2 } })}`);
    const r = await chat(proxy.url, 'g', { stream: true });
    assert.equal(r.status, 200);
    assert.match(r.text, /data: \[DONE\]/);
  });

  test('after the first byte: a final error event, no [DONE], and it counts against the deployment', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'stream', chunks: 10, chunkDelayMs: 20, dieAfter: 2 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { order: 1 }, info: { id: 'dep-a' } })}${deployment('g', b!, { params: { order: 2 } })}`);
    const r = await chat(proxy.url, 'g', { stream: true });
    assert.equal(r.status, 200);
    assert.match(r.text, /tok0/);
    assert.ok(!r.text.includes('[DONE]'));
    assert.match(r.text.split('\n\n').filter(Boolean).at(-1)!, /^data: \{"error"/);
    assert.equal(b!.requests.length, 0, 'no failover after the first byte');
    await eventually(() => snapshotOf(proxy, 'g', 'dep-a').failures === 1, 2000, 'the failure counted');
    assert.equal(proxy.router.snapshot().inFlight, 0);
  });

  test('a client that leaves a failing-over stream cancels it; in-flight returns to zero', async () => {
    const [a] = await upstreams(1);
    a!.setBehavior({ kind: 'stream', chunks: 100, chunkDelayMs: 50 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!)}`);
    const u = new URL(`${proxy.url}/v1/chat/completions`);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ model: 'g', messages: msg, stream: true }));
    req.on('response', (res) => res.once('data', () => req.destroy()));
    await a!.waitForAbort(0, 2000);
    await eventually(() => proxy.router.inFlight() === 0, 1000, 'in-flight back to zero');
    assert.equal(snapshotOf(proxy, 'g').failures, 0);
  });
});

describe("LiteLLM's mock switches", () => {
  test('mock_response text and error strings; mock_timeout', async () => {
    const [a] = await upstreams(1);
    const proxy = await proxyFor(`model_list:${deployment('g', a!)}
router_settings:
  num_retries: 0
`);
    const ok = await chat(proxy.url, 'g', { mock_response: 'mocked!' });
    assert.equal((ok.json as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content, 'mocked!');
    const limited = await chat(proxy.url, 'g', { mock_response: 'litellm.RateLimitError' });
    assert.equal(limited.status, 429);
    const t = await chat(proxy.url, 'g', { mock_timeout: true, timeout: 0.2 });
    assert.equal(t.status, 408);
    assert.equal(a!.requests.length, 0, 'mocks never reach the upstream');
  });

  test('mock_testing_rate_limit_error: the first attempt fails, the retry succeeds', async () => {
    const [a, b] = await upstreams(2);
    const proxy = await proxyFor(`model_list:${deployment('g', a!)}${deployment('g', b!)}`);
    const r = await chat(proxy.url, 'g', { mock_testing_rate_limit_error: true });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '1');
    assert.equal(a!.requests.length + b!.requests.length, 1);
  });

  const switches = [
    { flag: 'mock_testing_fallbacks', setting: 'fallbacks' },
    { flag: 'mock_testing_context_fallbacks', setting: 'context_window_fallbacks' },
    { flag: 'mock_testing_content_policy_fallbacks', setting: 'content_policy_fallbacks' },
  ];
  for (const s of switches) {
    test(`${s.flag} goes straight to ${s.setting}`, async () => {
      const [a, b] = await upstreams(2);
      const proxy = await proxyFor(`model_list:${deployment('A', a!)}${deployment('B', b!)}
router_settings:
  ${s.setting}: [{"A": ["B"]}]
`);
      const r = await chat(proxy.url, 'A', { [s.flag]: true });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '1');
      assert.equal(a!.requests.length, 0);
      assert.equal(b!.requests.length, 1);
      const without = await chat(proxy.url, 'A', { [s.flag]: 'true', disable_fallbacks: true });
      assert.ok(without.status >= 400);
    });
  }
});
