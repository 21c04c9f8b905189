/**
 * Routing through HTTP against recording mock upstreams: each strategy's distribution, hard
 * rpm/tpm limits with 429 + Retry-After, concurrency caps, priority tiers, aliases, ids,
 * wildcards and the context-window pre-call check. Counts come from what the upstreams
 * received, not from what the proxy says it did.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningProxy } from '../src/index.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { http, post, startTestProxy, type RawResponse } from './support/proxy.js';
import { deployment, TEST_API_KEY, type DeploymentOptions } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];

/** Sends `n` chat requests, `concurrency` at a time, and returns every response. */
async function load(url: string, model: string, n: number, concurrency: number, extra: Record<string, unknown> = {}): Promise<RawResponse[]> {
  const out: RawResponse[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      out.push(await post(`${url}/v1/chat/completions`, { model, messages: msg, ...extra }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

async function upstreams(n: number): Promise<MockUpstream[]> {
  return Promise.all(Array.from({ length: n }, () => startMockUpstream()));
}

describe('strategy distributions', () => {
  const started: Array<{ proxy: RunningProxy; ups: MockUpstream[] }> = [];
  after(async () => {
    for (const s of started) {
      await s.proxy.close();
      for (const u of s.ups) await u.close();
    }
  });

  async function setup(strategy: string, ups: MockUpstream[], extras: DeploymentOptions['params'][], settings = '', infos: DeploymentOptions['info'][] = []): Promise<RunningProxy> {
    const yaml = `model_list:${ups.map((u, i) => deployment('g', u, { params: extras[i], info: infos[i] })).join('')}
router_settings:
  routing_strategy: ${strategy}
${settings}`;
    const proxy = await startTestProxy(yaml);
    started.push({ proxy, ups });
    return proxy;
  }

  test('simple-shuffle: weights hold within a few points over 400 requests', async () => {
    const ups = await upstreams(2);
    const proxy = await setup('simple-shuffle', ups, [{ weight: 1 }, { weight: 3 }]);
    const res = await load(proxy.url, 'g', 400, 8);
    assert.ok(res.every((r) => r.status === 200));
    const share = ups[1]!.requests.length / 400;
    assert.ok(Math.abs(share - 0.75) < 0.07, `weight-3 deployment got ${share}`);
  });

  test('least-busy: a slow deployment gets fewer requests under concurrency', async () => {
    const ups = await upstreams(2);
    ups[0]!.setBehavior({ kind: 'ok', delayMs: 150 });
    ups[1]!.setBehavior({ kind: 'ok', delayMs: 5 });
    const proxy = await setup('least-busy', ups, [], '');
    await load(proxy.url, 'g', 150, 6);
    const slow = ups[0]!.requests.length;
    const fast = ups[1]!.requests.length;
    assert.equal(slow + fast, 150);
    assert.ok(slow < fast / 3, `slow ${slow} vs fast ${fast}`);
  });

  test('latency-based: most traffic goes to the fast deployment', async () => {
    const ups = await upstreams(2);
    ups[0]!.setBehavior({ kind: 'ok', delayMs: 120 });
    ups[1]!.setBehavior({ kind: 'ok', delayMs: 5 });
    const proxy = await setup('latency-based-routing', ups, [], '  routing_strategy_args: { lowest_latency_buffer: 0 }');
    await load(proxy.url, 'g', 100, 2);
    const slow = ups[0]!.requests.length;
    assert.ok(slow > 0, 'a deployment with no data yet is tried, not starved');
    assert.ok(slow < 15, `slow deployment got ${slow} of 100`);
  });

  test('peak-ewma: most traffic goes to the fast deployment', async () => {
    const ups = await upstreams(2);
    ups[0]!.setBehavior({ kind: 'ok', delayMs: 120 });
    ups[1]!.setBehavior({ kind: 'ok', delayMs: 5 });
    const proxy = await setup('peak-ewma', ups, []);
    await load(proxy.url, 'g', 100, 4);
    const slow = ups[0]!.requests.length;
    assert.ok(slow < 20, `slow deployment got ${slow} of 100`);
  });

  test('cost-based: everything goes to the cheaper deployment', async () => {
    const ups = await upstreams(2);
    const proxy = await setup('cost-based-routing', ups, [{ input_cost_per_token: 0.00001, output_cost_per_token: 0.00003 }, { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }]);
    await load(proxy.url, 'g', 30, 3);
    assert.equal(ups[0]!.requests.length, 0);
    assert.equal(ups[1]!.requests.length, 30);
  });

  test('usage-based: requests even out by usage in the window', async () => {
    const ups = await upstreams(2);
    const proxy = await setup('usage-based-routing-v2', ups, [{ tpm: 100000 }, { tpm: 100000 }]);
    await load(proxy.url, 'g', 40, 1);
    assert.ok(Math.abs(ups[0]!.requests.length - ups[1]!.requests.length) <= 2, `${ups[0]!.requests.length} vs ${ups[1]!.requests.length}`);
  });
});

describe('limits and priority', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup) await c();
  });
  async function setup(yaml: string): Promise<RunningProxy> {
    const proxy = await startTestProxy(yaml);
    cleanup.push(() => proxy.close());
    return proxy;
  }

  for (const strategy of ['simple-shuffle', 'least-busy', 'latency-based-routing', 'cost-based-routing', 'peak-ewma']) {
    test(`rpm is a hard limit under ${strategy}: at most rpm per deployment, then 429 with Retry-After`, async () => {
      const ups = await upstreams(2);
      cleanup.push(async () => { for (const u of ups) await u.close(); });
      const proxy = await setup(`model_list:${deployment('g', ups[0]!, { params: { rpm: 5 } })}${deployment('g', ups[1]!, { params: { rpm: 5 } })}
router_settings:
  routing_strategy: ${strategy}
`);
      const res = await load(proxy.url, 'g', 16, 4);
      const ok = res.filter((r) => r.status === 200);
      const limited = res.filter((r) => r.status === 429);
      assert.equal(ok.length, 10);
      assert.equal(limited.length, 6);
      assert.ok(ups[0]!.requests.length <= 5 && ups[1]!.requests.length <= 5);
      for (const r of limited) {
        const retry = Number(r.headers.get('retry-after'));
        assert.ok(retry >= 1 && retry <= 61, `retry-after ${r.headers.get('retry-after')}`);
        const e = (r.json as { error: { message: string; code: string } }).error;
        assert.match(e.message, /No deployments available/);
        assert.equal(e.code, '429');
      }
    });
  }

  test('tpm: a deployment is not picked once its window tokens plus the prompt would pass tpm', async () => {
    const [u] = await upstreams(1);
    cleanup.push(() => u!.close());
    // The mock reports 12 tokens per response: after two requests (24) the window has no room
    // for a third prompt (~8 tokens), as LiteLLM's `tpm_used + input_tokens > tpm` decides.
    const proxy = await setup(`model_list:${deployment('g', u!, { params: { tpm: 25 } })}`);
    const res = await load(proxy.url, 'g', 5, 1);
    assert.deepEqual(res.map((r) => r.status), [200, 200, 429, 429, 429]);
    assert.equal(u!.requests.length, 2);
  });

  test('x-ratelimit headers on groups with limits', async () => {
    const ups = await upstreams(2);
    cleanup.push(async () => { for (const u of ups) await u.close(); });
    const proxy = await setup(`model_list:${deployment('g', ups[0]!, { params: { rpm: 10, tpm: 1000 } })}${deployment('g', ups[1]!, { params: { rpm: 20, tpm: 2000 } })}${deployment('free', ups[0]!)}`);
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg });
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), '30');
    assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '29');
    assert.equal(r.headers.get('x-ratelimit-limit-tokens'), '3000');
    assert.ok(Number(r.headers.get('x-ratelimit-remaining-tokens')) <= 3000);
    const free = await post(`${proxy.url}/v1/chat/completions`, { model: 'free', messages: msg });
    assert.equal(free.headers.get('x-ratelimit-limit-requests'), null);
  });

  test('max_parallel_requests: a request waits for a slot; the upstream never sees more than the cap', async () => {
    const [u] = await upstreams(1);
    cleanup.push(() => u!.close());
    u!.setBehavior({ kind: 'ok', delayMs: 100 });
    const proxy = await setup(`model_list:${deployment('g', u!, { params: { max_parallel_requests: 1 } })}`);
    const t0 = Date.now();
    const res = await load(proxy.url, 'g', 4, 4);
    assert.ok(res.every((r) => r.status === 200));
    assert.ok(Date.now() - t0 >= 380, 'the four requests ran one at a time');
    assert.equal(u!.requests.length, 4);
  });

  test('order: the lowest tier serves until it is at its limits, then traffic spills to the next', async () => {
    const ups = await upstreams(2);
    cleanup.push(async () => { for (const u of ups) await u.close(); });
    const proxy = await setup(`model_list:${deployment('g', ups[0]!, { params: { order: 1, rpm: 3 } })}${deployment('g', ups[1]!, { params: { order: 2 } })}`);
    const res = await load(proxy.url, 'g', 8, 1);
    assert.ok(res.every((r) => r.status === 200));
    assert.equal(ups[0]!.requests.length, 3, 'tier 1 took every request it could');
    assert.equal(ups[1]!.requests.length, 5, 'the rest spilled to tier 2');
  });
});

describe('names and model information', () => {
  let ups: MockUpstream[];
  let proxy: RunningProxy;
  before(async () => {
    ups = await upstreams(3);
    proxy = await startTestProxy(`model_list:${deployment('gpt-4o', ups[0]!, { params: { rpm: 100, input_cost_per_token: 0.000005 }, info: { id: 'dep-a', max_input_tokens: 20 } })}${deployment('gpt-4o', ups[1]!, { params: { rpm: 50, api_version: '2024-10-21' }, info: { id: 'dep-b', max_input_tokens: 100000, supports_vision: true } })}
  - model_name: "openai/*"
    litellm_params:
      model: "openai/*"
      api_base: "${ups[2]!.url}/v1"
      api_key: sk-wildcard-secret
      extra_headers: { authorization-extra: "Bearer sk-header-secret" }
router_settings:
  enable_pre_call_checks: true
  model_group_alias:
    best: gpt-4o
    secret-alias: { model: gpt-4o, hidden: true }
`);
  });
  after(async () => {
    await proxy.close();
    for (const u of ups) await u.close();
  });

  test('/v1/models lists non-hidden aliases and groups; hidden aliases still route', async () => {
    const list = (await http(`${proxy.url}/v1/models`)).json as { data: Array<{ id: string }> };
    const ids = list.data.map((m) => m.id);
    assert.ok(ids.includes('best') && ids.includes('gpt-4o'));
    assert.ok(!ids.includes('secret-alias'));
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'secret-alias', messages: msg });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-model-group'), 'secret-alias');
    const a = await post(`${proxy.url}/v1/chat/completions`, { model: 'best', messages: msg });
    assert.equal(a.headers.get('x-litellm-model-group'), 'best');
    assert.equal((a.json as { model: string }).model, 'best');
  });

  test('a deployment id as the model goes to exactly that deployment', async () => {
    for (const u of ups) u.reset();
    for (let i = 0; i < 5; i++) {
      const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'dep-b', messages: msg });
      assert.equal(r.headers.get('x-litellm-model-id'), 'dep-b');
    }
    assert.equal(ups[0]!.requests.length, 0);
    assert.equal(ups[1]!.requests.length, 5);
  });

  test('a wildcard group routes matching names and sends the concrete model upstream', async () => {
    ups[2]!.reset();
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'openai/gpt-4o-mini', messages: msg });
    assert.equal(r.status, 200);
    assert.equal((ups[2]!.requests[0]!.body as { model: string }).model, 'gpt-4o-mini');
    assert.equal((r.json as { model: string }).model, 'openai/gpt-4o-mini');
  });

  test('enable_pre_call_checks: a long prompt skips the deployment whose context window is too small', async () => {
    for (const u of ups) u.reset();
    const long = [{ role: 'user', content: 'lorem ipsum dolor sit amet '.repeat(20) }];
    for (let i = 0; i < 6; i++) {
      const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'gpt-4o', messages: long });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-litellm-model-id'), 'dep-b');
    }
    assert.equal(ups[0]!.requests.length, 0);
    const tooLong = [{ role: 'user', content: 'lorem ipsum dolor sit amet '.repeat(30000) }];
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'gpt-4o', messages: tooLong });
    assert.equal(r.status, 400);
    assert.match((r.json as { error: { message: string } }).error.message, /ContextWindowExceededError/);
  });

  test('/model/info: one entry per deployment, aliases repeated, no secrets; ?litellm_model_id filters', async () => {
    const r = await http(`${proxy.url}/model/info`);
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.text, new RegExp(`${TEST_API_KEY}|sk-wildcard-secret|sk-header-secret|api_key`));
    const data = (r.json as { data: Array<{ model_name: string; model_info: { id: string } }> }).data;
    assert.ok(data.some((d) => d.model_name === 'best'));
    assert.ok(!data.some((d) => d.model_name === 'secret-alias'));
    const one = await http(`${proxy.url}/v1/model/info?litellm_model_id=dep-b`);
    const only = (one.json as { data: Array<{ model_info: { id: string } }> }).data;
    assert.deepEqual(only.map((d) => d.model_info.id), ['dep-b']);
    const missing = await http(`${proxy.url}/model/info?litellm_model_id=nope`);
    assert.equal(missing.status, 400);
  });

  test('/model_group/info: summed limits, providers, alias listed, hidden alias not', async () => {
    const r = await http(`${proxy.url}/model_group/info`);
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.text, new RegExp(`${TEST_API_KEY}|sk-wildcard-secret`));
    const data = (r.json as { data: Array<{ model_group: string; rpm: number | null; providers: string[]; supports_vision: boolean; mode: string }> }).data;
    const g = data.find((d) => d.model_group === 'gpt-4o')!;
    assert.equal(g.rpm, 150);
    assert.deepEqual(g.providers, ['openai']);
    assert.equal(g.supports_vision, true);
    assert.equal(g.mode, 'chat');
    assert.ok(data.some((d) => d.model_group === 'best'));
    assert.ok(!data.some((d) => d.model_group === 'secret-alias'));
    const v1 = await http(`${proxy.url}/v1/model_group/info?model_group=gpt-4o`);
    assert.equal((v1.json as { data: unknown[] }).data.length, 1);
  });
});
