/**
 * Every setting the loader accepts is read: each key of `implementedSettings` changes the typed
 * config (a setting validated and then dropped fails here), and the settings that once were
 * validated but unused (`retry_after`, `health_check_interval`) change what the proxy does.
 * (`num_retries_per_request` end to end: limits.test.ts; `background_health_checks`: health.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { implementedSettings, loadConfigText } from '../src/config/load.js';
import type { JsonValue, ProxyConfig } from '../src/config/types.js';
import { deployment } from './support/deployments.js';
import { startMockUpstream } from './support/mock-upstream.js';
import { eventually, post, startTestProxy } from './support/proxy.js';

type Section = keyof typeof implementedSettings;

/** A value for each accepted key that differs from what the baseline config gets without it. */
const samples: Readonly<Record<Section, Readonly<Record<string, JsonValue>>>> = {
  router_settings: {
    routing_strategy: 'least-busy',
    routing_strategy_args: { ttl: 60 },
    timeout: 30,
    stream_timeout: 30,
    model_group_alias: { 'alias-a': 'a' },
    enable_pre_call_checks: true,
    default_max_parallel_requests: 4,
    num_retries: 5,
    retry_policy: { RateLimitErrorRetries: 1 },
    model_group_retry_policy: { a: { RateLimitErrorRetries: 1 } },
    allowed_fails: 2,
    allowed_fails_policy: { RateLimitErrorAllowedFails: 1 },
    cooldown_time: 9,
    disable_cooldowns: true,
    fallbacks: [{ a: ['b'] }],
    context_window_fallbacks: [{ a: ['b'] }],
    content_policy_fallbacks: [{ a: ['b'] }],
    default_fallbacks: ['b'],
    max_fallbacks: 2,
    retry_after: 1,
    redis_url: 'redis://url-host:6390',
    redis_host: 'other-host',
    redis_port: 6390,
    redis_password: 'pw-audit-secret-1',
    redis_startup_nodes: [{ host: 'node-1', port: 7000 }],
    redis_namespace: 'audit-ns',
    redis_sync_interval_ms: 50,
    redis_ssl: true,
    cache_kwargs: { port: 6391 },
  },
  litellm_settings: {
    request_timeout: 30,
    num_retries: 5,
    fallbacks: [{ a: ['b'] }],
    context_window_fallbacks: [{ a: ['b'] }],
    content_policy_fallbacks: [{ a: ['b'] }],
    default_fallbacks: ['b'],
    max_fallbacks: 2,
    allowed_fails: 2,
    num_retries_per_request: 3,
    json_logs: true,
    drop_params: true,
    require_auth_for_metrics_endpoint: true,
  },
  general_settings: {
    master_key: 'sk-master-audit-1',
    max_request_size_mb: 1,
    graceful_shutdown_seconds: 1,
    background_health_checks: true,
    health_check_interval: 60,
    allowed_origins: ['https://app.example.com'],
    allow_client_side_credentials: true,
  },
};

/** Two groups and a Redis host, so group, fallback and Redis settings have something to change. */
function configWith(section: Section | null, key: string | null, value: JsonValue): ProxyConfig {
  const root: Record<string, Record<string, JsonValue> | JsonValue[]> = {
    model_list: ['a', 'b'].map((g) => ({ model_name: g, litellm_params: { model: 'openai/gpt-4o', api_base: 'http://127.0.0.1:9/v1', api_key: 'sk-audit-key' } })),
    router_settings: { redis_host: 'base-host' },
    litellm_settings: {},
    general_settings: {},
  };
  if (section !== null && key !== null) (root[section] as Record<string, JsonValue>)[key] = value;
  const r = loadConfigText(JSON.stringify(root), 'audit.yaml', {});
  if (!r.ok) assert.fail(`${section}.${key}: refused: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return r.config;
}

/** What the proxy runs on: every typed field, without the sections as written (they always differ). */
function typed(c: ProxyConfig): string {
  return JSON.stringify({
    deployments: c.deployments,
    aliases: c.aliases,
    names: c.names.listed(),
    router: { ...c.router, raw: null },
    reliability: c.reliability,
    server: c.server,
    redis: c.redis,
  }, (_k, v: unknown) => (v instanceof Map ? [...v] : v));
}

test('settings audit: every implemented key has a sample here, and no other key does', () => {
  for (const section of Object.keys(implementedSettings) as Section[]) {
    assert.deepEqual(Object.keys(samples[section]).sort(), [...implementedSettings[section]].sort(), `${section}: samples and implementedSettings differ`);
  }
});

test('settings audit: each implemented setting changes the typed config (none is validated and then dropped)', () => {
  const baseline = typed(configWith(null, null, null));
  for (const section of Object.keys(samples) as Section[]) {
    for (const [key, value] of Object.entries(samples[section])) {
      const c = configWith(section, key, value);
      assert.ok(!c.warnings.some((w) => w.startsWith(`${section}.${key}: not implemented`)), `${section}.${key} is warned as not implemented`);
      assert.notEqual(typed(c), baseline, `${section}.${key}: ${JSON.stringify(value)} leaves the typed config as without it`);
    }
  }
});

test('general_settings health checks: read once into typed fields; "true" as a string counts, a non-boolean is a problem', () => {
  const on = loadConfigText('general_settings:\n  background_health_checks: "true"\n  health_check_interval: "45"\n', 'test.yaml', {});
  assert.ok(on.ok);
  assert.equal(on.config.server.backgroundHealthChecks, true);
  assert.equal(on.config.server.healthCheckIntervalMs, 45_000);
  const off = loadConfigText('model_list: []\n', 'test.yaml', {});
  assert.ok(off.ok);
  assert.equal(off.config.server.backgroundHealthChecks, false);
  assert.equal(off.config.server.healthCheckIntervalMs, 300_000);
  const bad = loadConfigText('general_settings:\n  background_health_checks: sometimes\n', 'test.yaml', {});
  assert.ok(!bad.ok && bad.problems.some((p) => p.path === 'general_settings.background_health_checks' && p.line === 2 && /true or false/.test(p.message)));
});

test('general_settings.health_check_interval without background_health_checks is warned as having no effect', () => {
  const r = loadConfigText('general_settings:\n  health_check_interval: 60\n', 'test.yaml', {});
  assert.ok(r.ok);
  assert.ok(r.config.warnings.some((w) => /^general_settings\.health_check_interval \(line 2\): has no effect without background_health_checks: true$/.test(w)), r.config.warnings.join('\n'));
});

test('general_settings.health_check_interval sets how often the background check probes', async (t) => {
  const up = await startMockUpstream();
  t.after(() => up.close());
  const proxy = await startTestProxy(`
model_list:${deployment('g', up.url)}
general_settings:
  background_health_checks: true
  health_check_interval: 0.2
`);
  t.after(() => proxy.close());
  // At the 300 s default only the first probe would come within the test's time.
  await eventually(() => up.requests.length >= 3, 3000, 'three background probes');
});

test('router_settings.retry_after is the least wait before a retry', async (t) => {
  const up = await startMockUpstream();
  t.after(() => up.close());
  let calls = 0;
  up.setBehavior(() => (++calls === 1 ? { kind: 'status', status: 500 } : { kind: 'ok' }));
  const proxy = await startTestProxy(`
model_list:${deployment('g', up.url)}
router_settings:
  retry_after: 2
`);
  t.after(() => proxy.close());
  const t0 = Date.now();
  const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: [{ role: 'user', content: 'hi' }], num_retries: 1 });
  const took = Date.now() - t0;
  assert.equal(r.status, 200);
  assert.equal(up.requests.length, 2);
  // Without retry_after the first retry of a lone deployment waits 0.5 s plus at most 0.75 s of jitter.
  assert.ok(took >= 2000, `retried after ${took} ms`);
});
