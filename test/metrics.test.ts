/**
 * GET /metrics after real traffic: the numbers Prometheus scrapes agree with what was sent
 * (successes, a 429 that cools a deployment, a timeout, a fallback, tokens, a stream's TTFT),
 * LiteLLM's names and labels are used, no secret appears, and the master-key setting holds.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startMockUpstreams, type MockUpstream } from './support/mock-upstream.js';
import { eventually, http, post, startTestProxy } from './support/proxy.js';
import { startTestRedis } from './support/redis-server.js';
import { deployment, TEST_API_KEY } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function upstreams(n: number): Promise<MockUpstream[]> {
  return startMockUpstreams(n, cleanups);
}

/** The value of the sample `name{...}` whose labels include every pair of `labels`; null when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const brace = line.indexOf('{');
    const labelText = brace === name.length ? line.slice(brace + 1, line.lastIndexOf('}')) : '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

test('/metrics counts successes, a cooling 429, a timeout, a fallback and tokens per deployment, with LiteLLM names and labels', async () => {
  const [a, b, slow, flaky, backup, retrying] = await upstreams(6);
  let n = 0;
  retrying!.setBehavior(() => (n++ === 0 ? { kind: 'status', status: 500 } : { kind: 'ok' }));
  a!.setBehavior({ kind: 'ok', usage: { prompt_tokens: 5, completion_tokens: 7 } });
  b!.setBehavior({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
  slow!.setBehavior({ kind: 'hang' });
  flaky!.setBehavior({ kind: 'status', status: 500 });
  const proxy = await startTestProxy(`model_list:${deployment('primary', a!, { info: { id: 'dep-a' }, params: { rpm: 100 } })}${deployment('primary', b!, { info: { id: 'dep-b' } })}${deployment('slow', slow!, { info: { id: 'dep-slow' }, params: { timeout: 0.3 } })}${deployment('flaky', flaky!, { info: { id: 'dep-flaky' } })}${deployment('backup', backup!, { info: { id: 'dep-backup' } })}${deployment('retrying', retrying!, { info: { id: 'dep-retrying' } })}
router_settings:
  num_retries: 0
  fallbacks: [{ flaky: [backup] }]
general_settings:
  master_key: sk-metrics-master-1
`);
  cleanups.push(() => proxy.close());
  const auth = { authorization: 'Bearer sk-metrics-master-1' };
  for (let i = 0; i < 3; i++) assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'dep-a', messages: msg }, auth)).status, 200);
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'dep-b', messages: msg }, auth)).status, 429);
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'slow', messages: msg }, auth)).status, 408);
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'flaky', messages: msg }, auth)).status, 200);
  // One retry (the request asks for it): a 500, then a 200.
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'retrying', messages: msg, num_retries: 1 }, auth)).status, 200);
  // A stream, for time to first token.
  const s = await post(`${proxy.url}/v1/chat/completions`, { model: 'dep-a', messages: msg, stream: true }, auth);
  assert.equal(s.status, 200);

  // Public by default, as LiteLLM's /metrics: no key needed.
  const res = await http(`${proxy.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const t = res.text;
  if (process.env.DEBUG_METRICS) console.log(t.split('\n').filter((l) => l.includes('dep-') || l.startsWith('litellm_in')).join('\n'));
  const base = `${a!.url}/v1`;
  assert.equal(sample(t, 'litellm_deployment_success_responses_total', { model_id: 'dep-a', model_group: 'primary', api_provider: 'openai', litellm_model_name: 'openai/m', api_base: base }), 4);
  assert.equal(sample(t, 'litellm_deployment_total_requests_total', { model_id: 'dep-a' }), 4);
  assert.equal(sample(t, 'litellm_deployment_failure_responses_total', { model_id: 'dep-a' }), 0);
  assert.equal(sample(t, 'switchyard_deployment_requests_total', { model_id: 'dep-a', outcome: 'success', status_class: '2xx' }), 4);
  // The 429: a failure, by status class; it cooled dep-b (state 2 = complete outage) and said so once.
  assert.equal(sample(t, 'litellm_deployment_failure_responses_total', { model_id: 'dep-b' }), 1);
  assert.equal(sample(t, 'switchyard_deployment_requests_total', { model_id: 'dep-b', outcome: 'upstream_error', status_class: '4xx' }), 1);
  assert.equal(sample(t, 'litellm_deployment_cooled_down_total', { model_id: 'dep-b', exception_status: '429' }), 1);
  assert.equal(sample(t, 'litellm_deployment_state', { model_id: 'dep-b' }), 2);
  assert.equal(sample(t, 'litellm_deployment_state', { model_id: 'dep-a' }), 0);
  assert.ok(sample(t, 'switchyard_deployment_cooldown_seconds', { model_id: 'dep-b' })! > 20);
  // The timeout.
  assert.equal(sample(t, 'switchyard_deployment_requests_total', { model_id: 'dep-slow', outcome: 'timeout', status_class: 'none' }), 1);
  assert.equal(sample(t, 'litellm_deployment_failure_responses_total', { model_id: 'dep-slow' }), 1);
  // The fallback: flaky's 500, then backup answered.
  assert.equal(sample(t, 'switchyard_deployment_requests_total', { model_id: 'dep-flaky', outcome: 'upstream_error', status_class: '5xx' }), 1);
  assert.equal(sample(t, 'litellm_deployment_successful_fallbacks_total', { primary_model: 'flaky', fallback_model: 'backup' }), 1);
  assert.equal(sample(t, 'litellm_deployment_success_responses_total', { model_id: 'dep-backup' }), 1);
  assert.equal(sample(t, 'switchyard_retries_total', { model_group: 'retrying' }), 1);
  assert.equal(sample(t, 'switchyard_retries_total', { model_group: 'primary' }), 0);
  assert.equal(sample(t, 'litellm_deployment_failure_responses_total', { model_id: 'dep-retrying' }), 1);
  assert.equal(sample(t, 'litellm_deployment_success_responses_total', { model_id: 'dep-retrying' }), 1);
  // Tokens and latency: three calls of 5 + 7 tokens on dep-a (the stream reports no usage unless asked).
  assert.equal(sample(t, 'litellm_input_tokens_metric_total', { model_id: 'dep-a' }), 15);
  assert.equal(sample(t, 'litellm_output_tokens_metric_total', { model_id: 'dep-a' }), 21);
  assert.equal(sample(t, 'litellm_llm_api_latency_metric_count', { model_id: 'dep-a' }), 4);
  assert.equal(sample(t, 'litellm_llm_api_time_to_first_token_metric_count', { model_id: 'dep-a' }), 1);
  assert.equal(sample(t, 'litellm_request_total_latency_metric_count', { model_group: 'primary' }), 5);
  // Read at scrape time: nothing in flight, rpm used against the limit.
  assert.equal(sample(t, 'switchyard_deployment_in_flight', { model_id: 'dep-a' }), 0);
  assert.equal(sample(t, 'litellm_in_flight_requests'), 0);
  assert.equal(sample(t, 'switchyard_deployment_rpm_used', { model_id: 'dep-a' }), 4);
  assert.equal(sample(t, 'switchyard_deployment_rpm_limit', { model_id: 'dep-a' }), 100);
  assert.equal(sample(t, 'litellm_remaining_requests', { model_id: 'dep-a' }), 96);
  assert.equal(sample(t, 'litellm_remaining_requests', { model_id: 'dep-b' }), null, 'no rpm, no remaining');
  assert.equal(sample(t, 'switchyard_redis_connected'), null, 'no Redis configured');
  // Process metrics (prom-client's defaults).
  assert.ok(sample(t, 'process_cpu_user_seconds_total') !== null);
  // No secret anywhere.
  assert.ok(!t.includes(TEST_API_KEY) && !t.includes('sk-metrics-master-1'));
});

test('/metrics with require_auth_for_metrics_endpoint needs the master key', async () => {
  const [up] = await upstreams(1);
  const proxy = await startTestProxy(`model_list:${deployment('g', up!, { info: { id: 'dep-u' } })}
litellm_settings:
  require_auth_for_metrics_endpoint: true
general_settings:
  master_key: sk-metrics-master-2
`);
  cleanups.push(() => proxy.close());
  const auth = { authorization: 'Bearer sk-metrics-master-2' };
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg }, auth)).status, 200);
  const refused = await http(`${proxy.url}/metrics`);
  assert.equal(refused.status, 401);
  assert.equal((refused.json as { error: { code: string } }).error.code, '401');
  const ok = await http(`${proxy.url}/metrics`, { headers: auth });
  assert.equal(ok.status, 200);
  assert.equal(sample(ok.text, 'litellm_deployment_success_responses_total', { model_id: 'dep-u', api_base: `${up!.url}/v1` }), 1);
  assert.ok(!ok.text.includes(TEST_API_KEY) && !ok.text.includes('sk-metrics-master-2'));
});

test('/metrics shows the Redis sync state and its round times', async () => {
  const redis = await startTestRedis();
  cleanups.push(() => redis.close());
  const [up] = await upstreams(1);
  const proxy = await startTestProxy(`model_list:${deployment('g', up!, { info: { id: 'dep-r' }, params: { rpm: 50 } })}
router_settings:
  redis_url: ${redis.url}
  redis_namespace: metrics-ns
  redis_sync_interval_ms: 20
`);
  cleanups.push(() => proxy.close());
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg })).status, 200);
  await eventually(() => proxy.sync!.status === 'connected', 3000, 'redis connected');
  await proxy.sync!.syncNow();
  const t = (await http(`${proxy.url}/metrics`)).text;
  assert.equal(sample(t, 'switchyard_redis_connected', { namespace: 'metrics-ns' }), 1);
  assert.ok(sample(t, 'switchyard_redis_sync_rounds_total', { result: 'ok' })! >= 1);
  assert.ok(sample(t, 'switchyard_redis_sync_round_seconds_count', { result: 'ok' })! >= 1);
});

test('/metrics shows waits for a max_parallel_requests slot', async () => {
  const [up] = await upstreams(1);
  up!.setBehavior({ kind: 'ok', delayMs: 150 });
  const proxy = await startTestProxy(`model_list:${deployment('p', up!, { info: { id: 'dep-p' }, params: { max_parallel_requests: 1 } })}`);
  cleanups.push(() => proxy.close());
  const both = await Promise.all([0, 1].map(() => post(`${proxy.url}/v1/chat/completions`, { model: 'p', messages: msg })));
  for (const r of both) assert.equal(r.status, 200);
  const t = (await http(`${proxy.url}/metrics`)).text;
  // The second request waited for the first's slot (about 150 ms).
  assert.equal(sample(t, 'switchyard_parallel_queue_wait_seconds_count', { model_group: 'p' }), 1);
  assert.ok(sample(t, 'switchyard_parallel_queue_wait_seconds_sum', { model_group: 'p' })! >= 0.1);
  assert.equal(sample(t, 'switchyard_parallel_queue_length', { model_group: 'p' }), 0);
});
