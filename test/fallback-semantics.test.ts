/**
 * LiteLLM's retry and fallback details through HTTP against recording mock upstreams (issue
 * #12): the mock switches and a deployment's num_retries, the response `model` after a
 * fallback, the "No deployments available" error's text and fields, and what a request gets
 * when every deployment is at its rpm limit (on an injected clock).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { RunningProxy } from '../src/index.js';
import type { RouterOptions } from '../src/router/types.js';
import { type MockUpstream, startMockUpstreams } from './support/mock-upstream.js';
import { post, startTestProxy, type RawResponse } from './support/proxy.js';
import { deployment } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const upstreams = (n: number): Promise<MockUpstream[]> => startMockUpstreams(n, cleanups);

async function proxyFor(yaml: string, router?: RouterOptions): Promise<RunningProxy> {
  const p = await startTestProxy(yaml, { router });
  cleanups.push(() => p.close());
  return p;
}

function chat(url: string, model: string, extra: Record<string, unknown> = {}): Promise<RawResponse> {
  return post(`${url}/v1/chat/completions`, { model, messages: msg, ...extra });
}

interface Envelope { error: { message: string; type: string; param: string | null; code: string } }

/** The `model` of every JSON chunk of an SSE body. */
function chunkModels(text: string): string[] {
  return text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => (JSON.parse(e.slice(6)) as { model: string }).model);
}

describe('mock switches and the deployment num_retries', () => {
  test('mock_testing_rate_limit_error on a one-deployment group retries by the deployment num_retries (x-litellm-max-retries shows it)', async () => {
    const [a] = await upstreams(1);
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { num_retries: 5 } })}
router_settings:
  num_retries: 1
`);
    const r = await chat(proxy.url, 'g', { mock_testing_rate_limit_error: true });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-attempted-retries'), '1');
    assert.equal(r.headers.get('x-litellm-max-retries'), '5');
    assert.equal(a!.requests.length, 1, 'the mocked failure never reached the upstream');
  });

  test('without a deployment num_retries the router setting counts', async () => {
    const [a] = await upstreams(1);
    const proxy = await proxyFor(`model_list:${deployment('g', a!)}
router_settings:
  num_retries: 4
`);
    const r = await chat(proxy.url, 'g', { mock_testing_rate_limit_error: true });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-max-retries'), '4');
  });

  test('a deployment num_retries of 0 leaves the mocked rate limit unretried', async () => {
    const [a] = await upstreams(1);
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { num_retries: 0 } })}`);
    const r = await chat(proxy.url, 'g', { mock_testing_rate_limit_error: true });
    assert.equal(r.status, 429);
    assert.equal(a!.requests.length, 0);
  });

  test("the docs' name mock_testing_context_window_fallbacks works like mock_testing_context_fallbacks, and stays out of the upstream body", async () => {
    const [a, b] = await upstreams(2);
    const proxy = await proxyFor(`model_list:${deployment('A', a!)}${deployment('B', b!)}
router_settings:
  context_window_fallbacks: [{"A": ["B"]}]
`);
    const r = await chat(proxy.url, 'A', { mock_testing_context_window_fallbacks: true });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '1');
    assert.equal(a!.requests.length, 0);
    assert.equal(b!.requests.length, 1);
    assert.equal((b!.requests[0]!.body as Record<string, unknown>).mock_testing_context_window_fallbacks, undefined);
  });
});

describe('the response model after a fallback', () => {
  const config = (a: MockUpstream, b: MockUpstream): string => `model_list:${deployment('A', a, { model: 'openai/model-a' })}${deployment('B', b, { model: 'openai/model-b' })}
  - model_name: M
    litellm_params:
      model: openai/mocked-model
      mock_response: "from the mock"
router_settings:
  num_retries: 0
  fallbacks: [{"A": ["B"]}, {"C": ["M"]}]
`;

  test('non-stream: the requested name without a fallback, the answering model after one', async () => {
    const [a, b] = await upstreams(2);
    const proxy = await proxyFor(config(a!, b!));
    const plain = await chat(proxy.url, 'A');
    assert.equal(plain.headers.get('x-litellm-attempted-fallbacks'), '0');
    assert.equal((plain.json as { model: string }).model, 'A');
    a!.setBehavior({ kind: 'status', status: 500 });
    const rescued = await chat(proxy.url, 'A');
    assert.equal(rescued.status, 200);
    assert.equal(rescued.headers.get('x-litellm-attempted-fallbacks'), '1');
    assert.equal((rescued.json as { model: string }).model, 'model-b', 'what the fallback upstream answered');
  });

  test('stream: every chunk carries the requested name, or the answering model after a fallback', async () => {
    const [a, b] = await upstreams(2);
    const proxy = await proxyFor(config(a!, b!));
    const plain = await chat(proxy.url, 'A', { stream: true });
    assert.deepEqual([...new Set(chunkModels(plain.text))], ['A']);
    a!.setBehavior({ kind: 'status', status: 503 });
    const rescued = await chat(proxy.url, 'A', { stream: true });
    assert.equal(rescued.headers.get('x-litellm-attempted-fallbacks'), '1');
    const models = chunkModels(rescued.text);
    assert.ok(models.length >= 3);
    assert.deepEqual([...new Set(models)], ['model-b']);
  });

  test('mock_testing_fallbacks onto a mock_response deployment: its own model name', async () => {
    const [a, b, c] = await upstreams(3);
    const proxy = await proxyFor(config(a!, b!).replace('\nrouter_settings:', `${deployment('C', c!)}\nrouter_settings:`));
    const r = await chat(proxy.url, 'C', { mock_testing_fallbacks: true });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '1');
    assert.equal((r.json as { model: string }).model, 'mocked-model');
    const s = await chat(proxy.url, 'C', { mock_testing_fallbacks: true, stream: true });
    assert.deepEqual([...new Set(chunkModels(s.text))], ['mocked-model']);
    assert.equal(c!.requests.length, 0);
  });
});

describe('"No deployments available" in LiteLLM\'s words', () => {
  test('the shortest cooldown, the pre-call-check flag and the cooldown list; type and param "None"', async () => {
    const [a, b] = await upstreams(2);
    a!.setBehavior({ kind: 'status', status: 429 });
    b!.setBehavior({ kind: 'status', status: 429 });
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { order: 1 }, info: { id: 'dep-a' } })}${deployment('g', b!, { params: { order: 2, cooldown_time: 12 }, info: { id: 'dep-b' } })}
router_settings:
  cooldown_time: 30
`);
    assert.equal((await chat(proxy.url, 'g')).status, 429, 'both deployments answer 429 and cool');
    const r = await chat(proxy.url, 'g');
    assert.equal(r.status, 429);
    const e = (r.json as Envelope).error;
    assert.equal(e.message, "No deployments available for selected model, Try again in 12 seconds. Passed model=g. pre-call-checks=False, cooldown_list=['dep-a', 'dep-b']");
    assert.equal(e.type, 'None');
    assert.equal(e.param, 'None');
    assert.equal(e.code, '429');
    assert.ok(Number(r.headers.get('retry-after')) >= 11, 'retry-after: until the first deployment is back');
  });

  test('enable_pre_call_checks shows as True; the router cooldown_time when that is the cooldown', async () => {
    const [a] = await upstreams(1);
    a!.setBehavior({ kind: 'status', status: 401 });
    const proxy = await proxyFor(`model_list:${deployment('solo', a!, { info: { id: 'dep-x' } })}
router_settings:
  enable_pre_call_checks: true
`);
    assert.equal((await chat(proxy.url, 'solo')).status, 401, '401 cools even a one-deployment group');
    const r = await chat(proxy.url, 'solo');
    assert.equal(r.status, 429);
    assert.equal((r.json as Envelope).error.message, "No deployments available for selected model, Try again in 5 seconds. Passed model=solo. pre-call-checks=True, cooldown_list=['dep-x']");
  });
});

describe('every deployment at its rpm limit', () => {
  /** A clock the test moves by hand, starting on a whole second. */
  function manualClock(): { now: () => number; advance: (ms: number) => void } {
    let t = Math.floor(Date.now() / 1000) * 1000;
    return { now: () => t, advance: (ms) => { t += ms; } };
  }

  test('a one-deployment group answers 429 at once with the seconds until the window frees, however many retries are allowed', { timeout: 10_000 }, async () => {
    const [a] = await upstreams(1);
    const clock = manualClock();
    const proxy = await proxyFor(`model_list:${deployment('g', a!, { params: { rpm: 2, num_retries: 3 } })}
router_settings:
  num_retries: 3
`, { now: clock.now });
    assert.equal((await chat(proxy.url, 'g')).status, 200);
    assert.equal((await chat(proxy.url, 'g')).status, 200);
    clock.advance(20_000);
    // The clock stands still: a proxy that waited for the window would never answer.
    const r = await chat(proxy.url, 'g');
    assert.equal(r.status, 429);
    const retryAfter = Number(r.headers.get('retry-after'));
    assert.ok(retryAfter >= 39 && retryAfter <= 41, `retry-after ${retryAfter}`);
    assert.equal(r.headers.get('x-should-retry'), 'true');
    assert.match((r.json as Envelope).error.message, /^No deployments available for selected model, Try again in \d+ seconds\. Passed model=g\. pre-call-checks=False, cooldown_list=\[\] Every deployment is at its rpm\/tpm limit/);
    assert.equal(a!.requests.length, 2, 'the upstream never saw the third request');
    clock.advance(retryAfter * 1000);
    const later = await chat(proxy.url, 'g');
    assert.equal(later.status, 200);
    assert.equal(a!.requests.length, 3);
  });
});
