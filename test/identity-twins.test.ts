/**
 * Two `model_list` entries with identical params hash to one id (LiteLLM `_generate_model_id`)
 * and, as in LiteLLM, share one state: a 429 or 401 on either cools the id, so the twin is not
 * tried next; the client gets the error, or the fallback. Entries that differ (another key) are
 * two deployments, and the second one is tried: the control that makes the twin case mean something.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startMockUpstreams, type MockUpstream } from './support/mock-upstream.js';
import { post, startTestProxy } from './support/proxy.js';
import { deployment } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function proxyFor(yaml: string) {
  const proxy = await startTestProxy(yaml);
  cleanups.push(() => proxy.close());
  return proxy;
}

function twins(group: string, u: MockUpstream): string {
  return `${deployment(group, u)}${deployment(group, u)}`;
}

for (const status of [429, 401]) {
  test(`identical entries: a ${status} from the first cools the shared id, the twin is not tried, the client gets the ${status}`, async () => {
    const [u] = await startMockUpstreams(1, cleanups);
    u!.setBehavior({ kind: 'status', status, body: { error: { message: `mock ${status}`, type: 'x', param: null, code: null } } });
    const proxy = await proxyFor(`model_list:${twins('g', u!)}`);
    const snap = proxy.router.snapshot().groups.g!.deployments;
    assert.equal(snap.length, 2, 'two entries');
    assert.equal(snap[0]!.id, snap[1]!.id, 'one id');

    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg });
    assert.equal(r.status, status, r.text);
    assert.equal(u!.requests.length, 1, 'the twin was not tried');
    const after = proxy.router.snapshot().groups.g!.deployments;
    assert.ok(after[0]!.cooldownUntil > Date.now() && after[1]!.cooldownUntil === after[0]!.cooldownUntil, 'both entries cool together');
    assert.equal(after[0]!.failures, 1, 'one failure counted once, on the shared state');

    // The next request finds the id cooling: no upstream call at all.
    const again = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg });
    assert.equal(again.status, 429, again.text);
    assert.match(again.text, /No deployments available/);
    assert.equal(u!.requests.length, 1);
    assert.equal(proxy.router.snapshot().inFlight, 0);
  });
}

test('identical entries with a fallback: a 429 from the first goes to the fallback group, not to the twin', async () => {
  const [u, fb] = await startMockUpstreams(2, cleanups);
  u!.setBehavior({ kind: 'status', status: 429 });
  const proxy = await proxyFor(`model_list:${twins('g', u!)}${deployment('backup', fb!)}
router_settings:
  fallbacks: [{g: [backup]}]
`);
  const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-litellm-attempted-fallbacks'), '1');
  assert.equal(u!.requests.length, 1, 'the twin was not tried');
  assert.equal(fb!.requests.length, 1);
});

test('entries that differ (another key) are two deployments: a 429 from one sends the retry to the other', async () => {
  const [u] = await startMockUpstreams(1, cleanups);
  u!.setBehavior((req) => (req.headers.authorization === 'Bearer sk-first-key' ? { kind: 'status', status: 429 } : { kind: 'ok' }));
  const entry = (key: string) => `
  - model_name: g
    litellm_params: {model: openai/m, api_base: "${u!.url}/v1", api_key: ${key}}`;
  const proxy = await proxyFor(`model_list:${entry('sk-first-key')}${entry('sk-second-key')}
router_settings:
  routing_strategy: least-busy
`);
  const snap = proxy.router.snapshot().groups.g!.deployments;
  assert.notEqual(snap[0]!.id, snap[1]!.id);
  // Until the first key has answered its 429, either may be picked; send until it has.
  for (let i = 0; i < 20 && !u!.requests.some((q) => q.headers.authorization === 'Bearer sk-first-key'); i++) {
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg });
    assert.equal(r.status, 200, r.text);
  }
  const firstAt = u!.requests.findIndex((q) => q.headers.authorization === 'Bearer sk-first-key');
  assert.ok(firstAt !== -1, 'the first key was picked at some point');
  assert.equal(u!.requests[firstAt + 1]?.headers.authorization, 'Bearer sk-second-key', 'the retry went to the other deployment');
});

test('identical entries share usage: rpm 2 on each still admits two requests a window for the id, not four', async () => {
  const [u] = await startMockUpstreams(1, cleanups);
  const proxy = await proxyFor(`model_list:${deployment('g', u!, { params: { rpm: 2 } })}${deployment('g', u!, { params: { rpm: 2 } })}
router_settings:
  optional_pre_call_checks: [enforce_model_rate_limits]
`);
  const codes: number[] = [];
  for (let i = 0; i < 4; i++) codes.push((await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg })).status);
  assert.deepEqual(codes, [200, 200, 429, 429]);
  assert.equal(u!.requests.length, 2);
});
