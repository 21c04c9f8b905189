/**
 * GET /health calls every deployment with a minimal request and reports healthy and
 * unhealthy ones without secrets; the background loop cools the unhealthy ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMockUpstream } from './support/mock-upstream.js';
import { eventually, http, post, startTestProxy } from './support/proxy.js';

test('/health: a real call per deployment, healthy and unhealthy listed, no secrets, auth required', async (t) => {
  const good = await startMockUpstream();
  const bad = await startMockUpstream();
  t.after(async () => { await good.close(); await bad.close(); });
  bad.setBehavior({ kind: 'status', status: 500 });
  const proxy = await startTestProxy(`
model_list:
  - model_name: g
    litellm_params: { model: openai/good, api_base: "${good.url}/v1", api_key: sk-health-secret-1 }
    model_info: { id: good-dep }
  - model_name: g
    litellm_params: { model: openai/bad, api_base: "${bad.url}/v1", api_key: sk-health-secret-2 }
    model_info: { id: bad-dep }
  - model_name: emb
    litellm_params: { model: openai/text-embedding-3-small, api_base: "${good.url}/v1", api_key: sk-health-secret-1 }
    model_info: { mode: embedding }
general_settings:
  master_key: sk-master-health
`);
  t.after(() => proxy.close());
  assert.equal((await http(`${proxy.url}/health`)).status, 401);
  const auth = { authorization: 'Bearer sk-master-health' };
  const r = await http(`${proxy.url}/health`, { headers: auth });
  assert.equal(r.status, 200);
  const body = r.json as { healthy_count: number; unhealthy_count: number; healthy_endpoints: Array<{ model_id: string }>; unhealthy_endpoints: Array<{ model_id: string; error: string }> };
  assert.equal(body.healthy_count, 2);
  assert.equal(body.unhealthy_count, 1);
  assert.equal(body.unhealthy_endpoints[0]!.model_id, 'bad-dep');
  assert.match(body.unhealthy_endpoints[0]!.error, /500/);
  assert.doesNotMatch(r.text, /sk-health-secret|api_key/);
  assert.ok(good.requests.some((q) => q.path === '/v1/embeddings'), 'embedding deployments get an embedding probe');
  assert.ok(bad.requests.some((q) => q.path === '/v1/chat/completions'));
  const one = await http(`${proxy.url}/health?model_id=good-dep`, { headers: auth });
  assert.equal((one.json as { healthy_count: number }).healthy_count, 1);
  assert.equal((await http(`${proxy.url}/health?model_id=nope`, { headers: auth })).status, 404);
});

test('background health checks cool unhealthy deployments before a client meets them', async (t) => {
  const good = await startMockUpstream();
  const bad = await startMockUpstream();
  t.after(async () => { await good.close(); await bad.close(); });
  bad.setBehavior({ kind: 'status', status: 503 });
  const proxy = await startTestProxy(`
model_list:
  - model_name: g
    litellm_params: { model: openai/good, api_base: "${good.url}/v1", api_key: k1 }
  - model_name: g
    litellm_params: { model: openai/bad, api_base: "${bad.url}/v1", api_key: k2 }
    model_info: { id: bad-dep }
router_settings:
  cooldown_time: 60
general_settings:
  background_health_checks: true
  health_check_interval: 300
`);
  t.after(() => proxy.close());
  const badUntil = (): number => proxy.router.snapshot().groups.g!.deployments.find((x) => x.id === 'bad-dep')!.cooldownUntil;
  await eventually(() => badUntil() > Date.now(), 3000, 'the unhealthy deployment cooled');
  const probes = bad.requests.length;
  for (let i = 0; i < 10; i++) assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: [{ role: 'user', content: 'hi' }] })).status, 200);
  assert.equal(bad.requests.length, probes, 'no client request reached the cooled deployment');
  const cached = await http(`${proxy.url}/health`);
  assert.equal((cached.json as { unhealthy_count: number }).unhealthy_count, 1);
});
