/**
 * LiteLLM parity through a running proxy: behaviour a LiteLLM config expects, checked over
 * HTTP against recording mock upstreams.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { RunningProxy } from '../src/index.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { http, post, startTestProxy } from './support/proxy.js';
import { readFileSync } from 'node:fs';
import { deployment } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];

const running: Array<{ proxy: RunningProxy; ups: MockUpstream[] }> = [];
after(async () => {
  for (const s of running) {
    await s.proxy.close();
    for (const u of s.ups) await u.close();
  }
});

async function start(yaml: (ups: MockUpstream[]) => string, upstreams = 1): Promise<{ proxy: RunningProxy; ups: MockUpstream[] }> {
  const ups = await Promise.all(Array.from({ length: upstreams }, () => startMockUpstream()));
  const proxy = await startTestProxy(yaml(ups));
  const s = { proxy, ups };
  running.push(s);
  return s;
}

test('alias to a missing group: the proxy starts, the alias answers as an unknown model, the real alias routes', async () => {
  const { proxy, ups } = await start(([u]) => `model_list:${deployment('gpt-4o', u!)}
router_settings:
  model_group_alias: {gpt-4: gpt-4o, turbo: gpt4o}
`);
  const ok = await post(`${proxy.url}/v1/chat/completions`, { model: 'gpt-4', messages: msg });
  assert.equal(ok.status, 200, ok.text);
  const dropped = await post(`${proxy.url}/v1/chat/completions`, { model: 'turbo', messages: msg });
  const unknown = await post(`${proxy.url}/v1/chat/completions`, { model: 'never-configured', messages: msg });
  assert.equal(dropped.status, unknown.status);
  assert.equal(dropped.status, 400);
  const err = (dropped.json as { error: { message: string; code: string; param: string } }).error;
  assert.match(err.message, /^Invalid model name passed in model=turbo\./);
  assert.equal(err.code, '400');
  assert.equal(ups[0]!.requests.length, 1, 'only the routed alias reached the upstream');
});

/**
 * Upstream arrival times of a request each held `holdMs`: if more than `cap` arrived within
 * less than `holdMs` of one another, more than `cap` were in flight at once.
 */
function mostInFlight(arrivals: readonly number[], holdMs: number): number {
  const t = [...arrivals].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= holdMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

test('max_parallel_requests derived from tpm (400 → int(400/1000*6) = 2): at most 2 upstream calls at once, and 2 do run together', async () => {
  const holdMs = 300;
  const arrivals: number[] = [];
  const { proxy, ups } = await start(([u]) => `model_list:${deployment('g', u!, { params: { tpm: 400 } })}`);
  ups[0]!.setBehavior(() => {
    arrivals.push(Date.now());
    return { kind: 'ok', delayMs: holdMs };
  });
  const res = await Promise.all(Array.from({ length: 6 }, () => post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg })));
  assert.deepEqual(res.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
  assert.equal(arrivals.length, 6);
  assert.equal(mostInFlight(arrivals, holdMs), 2);
});

test('default_max_parallel_requests caps a deployment with no max_parallel_requests, rpm or tpm', async () => {
  const holdMs = 300;
  const arrivals: number[] = [];
  const { proxy, ups } = await start(([u]) => `model_list:${deployment('g', u!)}
router_settings:
  default_max_parallel_requests: 1
`);
  ups[0]!.setBehavior(() => {
    arrivals.push(Date.now());
    return { kind: 'ok', delayMs: holdMs };
  });
  const res = await Promise.all(Array.from({ length: 3 }, () => post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg })));
  assert.deepEqual(res.map((r) => r.status), [200, 200, 200]);
  assert.equal(mostInFlight(arrivals, holdMs), 1);
});

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

test('GET /routes is public and lists every route we serve with its methods; each listed route answers', async () => {
  const { proxy } = await start(([u]) => `model_list:${deployment('m', u!)}
general_settings:
  master_key: sk-routes-master-1234
`);
  const r = await http(`${proxy.url}/routes`);
  assert.equal(r.status, 200, r.text);
  const routes = (r.json as { routes: Array<{ path: string; methods: string[]; name: string }> }).routes;
  const paths = routes.map((x) => x.path);
  for (const p of ['/chat/completions', '/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/models', '/model/info', '/model_group/info', '/health', '/health/readiness', '/health/liveliness', '/routes', '/openai/deployments/{model}/chat/completions']) {
    assert.ok(paths.includes(p), `${p} listed`);
  }
  assert.equal(new Set(paths).size, paths.length, 'no path twice');
  const auth = { authorization: 'Bearer sk-routes-master-1234' };
  for (const route of routes) {
    const path = route.path.replace('{model}', 'm');
    for (const method of route.methods) {
      // Each listed route is served: any answer but "no such route", and the listed method is not refused.
      const res = await http(`${proxy.url}${path}`, {
        method,
        headers: { ...auth, 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: JSON.stringify({ model: 'm', messages: msg, input: 'hi', prompt: 'hi' }) } : {}),
      });
      assert.notEqual(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.notEqual(res.status, 405, `${method} ${path}: ${res.text}`);
    }
  }
  const wrong = await http(`${proxy.url}/routes`, { method: 'POST' });
  assert.equal(wrong.status, 405);
});

test('GET /health/readiness carries version and litellm_version', async () => {
  const { proxy } = await start(([u]) => `model_list:${deployment('m', u!)}`);
  const r = await http(`${proxy.url}/health/readiness`);
  assert.equal(r.status, 200);
  const body = r.json as { status: string; version: string; litellm_version: string };
  assert.equal(body.status, 'healthy');
  assert.match(packageVersion, /^\d+\.\d+\.\d+/);
  assert.equal(body.version, packageVersion);
  assert.equal(body.litellm_version, packageVersion);
});

test('organization list: three deployments, each request carries one of the orgs, all three are used', async () => {
  const { proxy, ups } = await start(([u]) => `model_list:
  - model_name: g
    litellm_params:
      model: openai/m
      api_base: "${u!.url}/v1"
      api_key: sk-org-test
      organization: [org-1, org-2, org-3]
`);
  const res = await Promise.all(Array.from({ length: 60 }, () => post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg })));
  assert.ok(res.every((r) => r.status === 200));
  const orgs = ups[0]!.requests.map((q) => q.headers['openai-organization']);
  assert.equal(orgs.length, 60);
  assert.deepEqual([...new Set(orgs)].sort(), ['org-1', 'org-2', 'org-3']);
  const ids = new Set(res.map((r) => r.headers.get('x-litellm-model-id')));
  assert.equal(ids.size, 1, 'the three share one id, as in LiteLLM');
});

test('model data: cost-based-routing prices groq/llama-3.1-8b-instant from the data, so it beats gpt-4 (not the 5+5 default)', async () => {
  const { proxy, ups } = await start(([groq, gpt4]) => `model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4, api_base: "${gpt4!.url}/v1", api_key: sk-gpt4-test}
  - model_name: chat
    litellm_params: {model: groq/llama-3.1-8b-instant, api_base: "${groq!.url}/v1", api_key: gsk-groq-test}
router_settings:
  routing_strategy: cost-based-routing
`, 2);
  for (let i = 0; i < 10; i++) {
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'chat', messages: msg });
    assert.equal(r.status, 200, r.text);
  }
  assert.equal(ups[0]!.requests.length, 10, 'every request went to groq');
  assert.equal(ups[1]!.requests.length, 0);
  assert.equal((ups[0]!.requests[0]!.body as { model: string }).model, 'llama-3.1-8b-instant');
});

test('model data: /model_group/info fills costs and context windows the config does not give; configured values win', async () => {
  const { proxy } = await start(([u]) => `model_list:${deployment('four-o', u!, { model: 'openai/gpt-4o' })}${deployment('priced', u!, { model: 'openai/gpt-4o', params: { input_cost_per_token: 0.001 }, info: { max_input_tokens: 1000 } })}${deployment('local', u!, { model: 'hosted_vllm/llama' })}`);
  const r = await http(`${proxy.url}/model_group/info`);
  assert.equal(r.status, 200);
  const byName = new Map((r.json as { data: Array<Record<string, unknown>> }).data.map((g) => [g.model_group, g]));
  assert.deepEqual(
    ['max_input_tokens', 'input_cost_per_token', 'output_cost_per_token'].map((k) => byName.get('four-o')?.[k]),
    [128000, 2.5e-6, 10e-6],
  );
  assert.deepEqual(
    ['max_input_tokens', 'input_cost_per_token', 'output_cost_per_token'].map((k) => byName.get('priced')?.[k]),
    [1000, 0.001, 10e-6],
  );
  assert.deepEqual(['max_input_tokens', 'input_cost_per_token'].map((k) => byName.get('local')?.[k]), [null, null]);
});

test('model data: the context-window pre-check knows an Azure deployment by base_model azure/gpt-35-turbo (16k)', async () => {
  const { proxy, ups } = await start(([az, big]) => `model_list:
  - model_name: chat
    litellm_params: {model: azure/my-35-deployment, api_base: "${az!.url}", api_key: az-test-key, api_version: "2024-10-21"}
    model_info: {base_model: azure/gpt-35-turbo}
  - model_name: chat
    litellm_params: {model: openai/gpt-4o, api_base: "${big!.url}/v1", api_key: sk-big-test}
router_settings:
  enable_pre_call_checks: true
`, 2);
  // About 20k tokens: over gpt-3.5-turbo's 16,385, under gpt-4o's 128k (both from the model data).
  const long = [{ role: 'user', content: 'hello '.repeat(20000) }];
  for (let i = 0; i < 6; i++) {
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'chat', messages: long });
    assert.equal(r.status, 200, r.text);
  }
  assert.equal(ups[0]!.requests.length, 0, 'the 16k Azure deployment got no long prompt');
  assert.equal(ups[1]!.requests.length, 6);
  // A short prompt may still go to either: the check is about size, not a ban.
  for (let i = 0; i < 30; i++) await post(`${proxy.url}/v1/chat/completions`, { model: 'chat', messages: msg });
  assert.ok(ups[0]!.requests.length > 0, 'short prompts reach the Azure deployment too');
});

test('wildcards: a bare claude-… name is served by an anthropic/* group (provider inferred, as LiteLLM retries <provider>/<model>)', async () => {
  const { proxy, ups } = await start(([u]) => `model_list:
  - model_name: "anthropic/*"
    litellm_params: {model: "openai/*", api_base: "${u!.url}/v1", api_key: sk-gateway-test}
`);
  const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'claude-3-5-sonnet', messages: msg });
  assert.equal(r.status, 200, r.text);
  assert.equal((ups[0]!.requests[0]!.body as { model: string }).model, 'claude-3-5-sonnet');
  assert.equal(r.headers.get('x-litellm-model-group'), 'claude-3-5-sonnet');
  const prefixed = await post(`${proxy.url}/v1/chat/completions`, { model: 'anthropic/claude-3-haiku', messages: msg });
  assert.equal(prefixed.status, 200, prefixed.text);
  // A name no provider claims is still unknown.
  const unknown = await post(`${proxy.url}/v1/chat/completions`, { model: 'llama-3-70b', messages: msg });
  assert.equal(unknown.status, 400);
  assert.equal(ups[0]!.requests.length, 2);

  const info = await http(`${proxy.url}/model_group/info`);
  const names = (info.json as { data: Array<{ model_group: string; max_input_tokens: number | null }> }).data;
  assert.equal(names[0]?.model_group, 'anthropic/*');
  const sonnet = names.find((g) => g.model_group === 'anthropic/claude-3-5-sonnet');
  assert.ok(sonnet, names.map((g) => g.model_group).join(', '));
  assert.equal(sonnet.max_input_tokens, 200000);
});
