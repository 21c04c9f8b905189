import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { fileURLToPath } from 'node:url';
import { formatProblems, implementedSettings, loadConfigFile, loadConfigText, type LoadResult } from '../src/config/load.js';
import type { DeploymentConfig, ProxyConfig } from '../src/config/types.js';
import { load, problems, yaml } from './support/config.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

function only(cfg: ProxyConfig): DeploymentConfig {
  assert.equal(cfg.deployments.length, 1);
  const d = cfg.deployments[0];
  assert.ok(d);
  return d;
}

function messages(r: LoadResult): string {
  return r.ok ? r.config.warnings.join('\n') : r.problems.map((p) => `${p.path} ${p.message}`).join('\n');
}

// --- LiteLLM-shaped fixture configs -----------------------------------------------------

/**
 * Our own configs in the shapes LiteLLM users write (test/fixtures/litellm/): indices of the
 * model_list entries each one loads; every other entry is skipped with a warning.
 */
const litellmFixtures = `${fixtures}litellm/`;
const compat: Readonly<Record<string, readonly number[]>> = {
  'azure-teams.yaml': [0, 1],
  'cookbook.yaml': [0, 1, 2, 4, 6, 7],
  'env-refs.yaml': [0, 1, 2, 3],
  'load-balancer.yaml': [0, 1, 2],
  'mixed-providers.yaml': [1, 2, 4, 7, 8, 9, 11],
  'model-info-ids.yaml': [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 14, 16],
  'ollama-aliases.yaml': [0, 1, 2, 3],
  'proxy-server.yaml': [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 16, 17, 18, 19, 21],
  'redis-cache-host.yaml': [0],
  'redis-cache-kwargs.yaml': [0, 1],
  'redis-cache.yaml': [0],
  'tags.yaml': [0, 1, 3, 4, 6],
};

/** Ids LiteLLM computes for the same entries (PyYAML + `_generate_model_id`, no env vars set). */
const pythonIds = parse(readFileSync(`${fixtures}litellm-ids.yaml`, 'utf8')) as Record<string, Record<string, string>>;

test('compat: the table covers every file in the fixture directory, and so do the LiteLLM ids', () => {
  assert.deepEqual(readdirSync(litellmFixtures).filter((f) => f.endsWith('.yaml')).sort(), Object.keys(compat).sort());
  assert.deepEqual(Object.keys(pythonIds).sort(), Object.keys(compat).sort());
});

for (const [file, loaded] of Object.entries(compat)) {
  test(`compat: ${file} loads, skipping only what we cannot serve`, () => {
    const r = loadConfigFile(`${litellmFixtures}${file}`, {});
    if (!r.ok) assert.fail(formatProblems(file, r.problems));
    const cfg = r.config;
    assert.deepEqual(cfg.deployments.map((d) => d.index), loaded);
    const doc: unknown = parse(readFileSync(`${litellmFixtures}${file}`, 'utf8'), { version: '1.1', uniqueKeys: false });
    const list = typeof doc === 'object' && doc !== null && 'model_list' in doc ? doc.model_list : [];
    const entries = Array.isArray(list) ? list.length : 0;
    assert.ok(entries > 0, 'every fixture has a model_list');
    for (let i = 0; i < entries; i++) {
      if (loaded.includes(i)) continue;
      assert.ok(cfg.warnings.some((w) => w.startsWith(`model_list[${i}] (`) && w.endsWith('; skipped')), `model_list[${i}] should be skipped with a warning`);
    }
    for (const d of cfg.deployments) {
      assert.ok(d.provider === 'openai' || d.provider === 'azure' || d.provider === 'openai-compatible');
      assert.ok(d.apiBase !== null && /^https?:\/\/[^/]/.test(d.apiBase) && !d.apiBase.endsWith('/'), d.apiBase ?? 'null');
      const expectedId = pythonIds[file]?.[String(d.index)];
      if (expectedId !== undefined) assert.equal(d.id, expectedId, `id of model_list[${d.index}] differs from LiteLLM's`);
    }
  });
}

test('compat: azure-teams reads PyYAML ints and per-deployment timeouts', () => {
  const r = loadConfigFile(`${litellmFixtures}azure-teams.yaml`, {});
  assert.ok(r.ok);
  const [red, blue] = r.config.deployments;
  assert.ok(red && blue);
  assert.equal(red.tpm, 25000);
  assert.equal(blue.tpm, 150000);
  assert.equal(red.timeoutMs, 8000);
  assert.equal(red.streamTimeoutMs, 500);
  assert.equal(red.apiVersion, '2023-05-15');
  assert.equal(blue.apiVersion, '2025-02-01-preview');
  assert.equal(red.upstreamModel, 'red-chat-v3');
  assert.equal(red.apiBase, 'https://red-team.openai.example.com');
});

test('compat: bare Anthropic and Bedrock names are skipped, named providers explained', () => {
  const r = loadConfigFile(`${litellmFixtures}mixed-providers.yaml`, {});
  assert.ok(r.ok);
  const w = r.config.warnings.join('\n');
  assert.match(w, /model_list\[0\] \(helper-haiku\): cannot tell the provider of model "claude-3-haiku-20240307".*; skipped/);
  assert.match(w, /model_list\[5\] \(bedrock-sonnet\): cannot tell the provider of model "anthropic\.claude-3-sonnet-20240229-v1:0".*; skipped/);
  assert.match(w, /model_list\[3\] \(tuned-llama\): provider "predibase" is not supported.*; skipped/);
  assert.match(w, /model_list\[12\] \(bedrock-sonnet-regional\): provider "bedrock" is not supported.*; skipped/);
  assert.match(w, /assistant_settings: not implemented by Switchyard; ignored/);
  assert.match(w, /mcp_servers: not implemented by Switchyard; ignored/);
});

test('compat: unquoted api_version dates stay strings', () => {
  const r = loadConfigFile(`${litellmFixtures}model-info-ids.yaml`, { AZURE_API_BASE: 'https://x.example.com' });
  assert.ok(r.ok);
  const embedding = r.config.deployments.find((d) => d.index === 8);
  assert.equal(embedding?.apiVersion, '2023-07-01-preview');
  assert.equal(embedding?.apiBase, 'https://x.example.com');
});

test('compat: the duplicate success_callback key is reported, the later value wins', () => {
  const r = loadConfigFile(`${litellmFixtures}env-refs.yaml`, {});
  assert.ok(r.ok);
  assert.deepEqual(r.config.litellmSettings.success_callback, ['s3']);
  assert.ok(r.config.warnings.some((w) => w.startsWith('litellm_settings.success_callback (line 38): duplicate key')));
});

test('compat: load-balancer exports environment_variables, skipping null ones', () => {
  const env: NodeJS.ProcessEnv = {};
  const r = loadConfigFile(`${litellmFixtures}load-balancer.yaml`, env);
  assert.ok(r.ok);
  assert.deepEqual(env, { REDIS_HOST: 'cache.pool.example.com' });
  const [a] = r.config.deployments;
  assert.equal(a?.rpm, 5);
  assert.equal(a?.tpm, 30000);
  assert.equal(a?.litellmParams.rpm, 5);
});

// --- problems ---------------------------------------------------------------------------

test('problems: every problem is reported at once, with lines, in reading order', () => {
  const r = loadConfigFile(`${fixtures}three-problems.yaml`, { FIXTURE_AZURE_KEY: 'azure-fixture-secret-0002' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(formatProblems('config.yaml', r.problems), [
    'config.yaml: 3 problems',
    '  model_list[1].litellm_params.timeout (line 11): must be a positive number of seconds, got -5',
    '  model_list[2].litellm_params.rpm (line 15): must be a non-negative integer, got "six"',
    '  router_settings.routing_strategy (line 18): unknown strategy "least_busy"; did you mean "least-busy"?',
  ].join('\n'));
  const text = messages(r);
  assert.ok(!text.includes('sk-fixture-secret-0001') && !text.includes('azure-fixture-secret-0002'));
});

test('formatProblems: singular, and problems without a path or a line', () => {
  assert.equal(formatProblems('c.yaml', [{ path: 'a.b', line: null, message: 'm' }]), 'c.yaml: 1 problem\n  a.b: m');
  assert.equal(formatProblems('c.yaml', [{ path: '', line: 3, message: 'm' }]), 'c.yaml: 1 problem\n  line 3: m');
  assert.equal(formatProblems('c.yaml', [{ path: '', line: null, message: 'm' }]), 'c.yaml: 1 problem\n  m');
});

const strategyCases: readonly { strategy: string; expect: RegExp }[] = [
  { strategy: 'least_busy', expect: /did you mean "least-busy"\?$/ },
  { strategy: 'Usage-Based-Routing-V2', expect: /did you mean "usage-based-routing-v2"\?$/ },
  { strategy: 'cost_based_routing', expect: /did you mean "cost-based-routing"\?$/ },
  { strategy: 'simple-shufle', expect: /did you mean "simple-shuffle"\?$/ },
  { strategy: 'round-robin', expect: /unknown strategy "round-robin"; expected one of simple-shuffle, least-busy/ },
];
for (const c of strategyCases) {
  test(`problems: routing_strategy ${c.strategy}`, () => {
    const [p] = problems(`
      router_settings:
        routing_strategy: ${c.strategy}
    `);
    assert.equal(p?.path, 'router_settings.routing_strategy');
    assert.equal(p?.line, 2);
    assert.match(p?.message ?? '', c.expect);
  });
}

const knownStrategies = [
  'simple-shuffle', 'least-busy', 'usage-based-routing', 'usage-based-routing-v2', 'latency-based-routing', 'cost-based-routing', 'peak-ewma',
] as const;
for (const name of knownStrategies) {
  test(`routing_strategy: ${name} loads without a warning`, () => {
    const cfg = load(`
    router_settings:
      routing_strategy: ${name}
  `);
    assert.equal(cfg.router.routingStrategy, name);
    assert.ok(!cfg.warnings.some((w) => w.includes('routing_strategy')));
  });
}

test('routing_strategy: absent is simple-shuffle; args, pre-call checks and parallel default are read', () => {
  assert.equal(load('model_list: []').router.routingStrategy, 'simple-shuffle');
  const cfg = load(`
    router_settings:
      routing_strategy: latency-based-routing
      routing_strategy_args: { lowest_latency_buffer: 0.5, ttl: 120 }
      enable_pre_call_checks: true
      default_max_parallel_requests: 8
  `);
  assert.deepEqual(cfg.router.routingStrategyArgs, { lowestLatencyBuffer: 0.5, ttlSeconds: 120 });
  assert.equal(cfg.router.enablePreCallChecks, true);
  assert.equal(cfg.router.defaultMaxParallelRequests, 8);
  assert.deepEqual(cfg.warnings, []);
});

const invalidEntries: readonly { name: string; yaml: string; path: string; message: RegExp }[] = [
  { name: 'entry not a mapping', yaml: 'model_list:\n  - just-a-string', path: 'model_list[0]', message: /must be a mapping/ },
  { name: 'model_list not a list', yaml: 'model_list:\n  a: 1', path: 'model_list', message: /must be a list/ },
  { name: 'missing model_name', yaml: 'model_list:\n  - litellm_params:\n      model: openai/x', path: 'model_list[0].model_name', message: /is required/ },
  { name: 'missing litellm_params', yaml: 'model_list:\n  - model_name: x', path: 'model_list[0].litellm_params', message: /is required/ },
  { name: 'model not a string', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: [a]', path: 'model_list[0].litellm_params.model', message: /must be a non-empty string, got a list/ },
  { name: 'model_info not a mapping', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n    model_info: 3', path: 'model_list[0].model_info', message: /must be a mapping/ },
  { name: 'negative tpm', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n      tpm: -1', path: 'model_list[0].litellm_params.tpm', message: /non-negative integer, got -1/ },
  { name: 'fractional rpm', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n      rpm: 1.5', path: 'model_list[0].litellm_params.rpm', message: /non-negative integer, got 1.5/ },
  { name: 'boolean weight', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n      weight: yes', path: 'model_list[0].litellm_params.weight', message: /non-negative number, got true/ },
  { name: 'zero stream_timeout', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n      stream_timeout: 0', path: 'model_list[0].litellm_params.stream_timeout', message: /positive number of seconds/ },
  { name: 'bad rpm in model_info', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n    model_info:\n      rpm: lots', path: 'model_list[0].model_info.rpm', message: /got "lots"/ },
  { name: 'api_base not a URL', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n      api_base: localhost:8000', path: 'model_list[0].litellm_params.api_base', message: /http:\/\/ or https:\/\/ URL/ },
  { name: 'router_settings a list', yaml: 'router_settings:\n  - a', path: 'router_settings', message: /must be a mapping, got a list/ },
  { name: 'router timeout', yaml: 'router_settings:\n  timeout: soon', path: 'router_settings.timeout', message: /positive number of seconds, got "soon"/ },
  { name: 'empty master_key', yaml: 'general_settings:\n  master_key: ""', path: 'general_settings.master_key', message: /must not be empty/ },
  { name: 'max_request_size_mb zero', yaml: 'general_settings:\n  max_request_size_mb: 0', path: 'general_settings.max_request_size_mb', message: /positive number of megabytes/ },
  { name: 'mock_response a number', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n      mock_response: 5', path: 'model_list[0].litellm_params.mock_response', message: /string or a mapping/ },
  { name: 'header with a line break', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n      extra_headers:\n        X-A: "a\\nb"', path: 'model_list[0].litellm_params.extra_headers.X-A', message: /line breaks/ },
  { name: 'bool model_info.id', yaml: 'model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n    model_info:\n      id: true', path: 'model_list[0].model_info.id', message: /non-empty string or a number/ },
];
for (const c of invalidEntries) {
  test(`problems: ${c.name}`, () => {
    const ps = problems(c.yaml);
    const p = ps.find((x) => x.path === c.path);
    assert.ok(p, `no problem at ${c.path}: ${JSON.stringify(ps)}`);
    assert.match(p.message, c.message);
    assert.equal(typeof p.line, 'number');
  });
}

test('problems: YAML syntax errors carry their line', () => {
  const ps = problems('model_list:\n  - model_name: x\n    litellm_params: {model: openai/x\n');
  assert.ok(ps.length > 0);
  assert.ok(ps.every((p) => p.path === '' && typeof p.line === 'number' && p.message.startsWith('YAML syntax error')));
});

test('problems: empty file, comments-only file, and a non-mapping root', () => {
  for (const text of ['', '   \n', '# nothing here\n', '~\n']) {
    const r = loadConfigText(text, 'e.yaml', {});
    assert.deepEqual(r, { ok: false, problems: [{ path: '', line: null, message: 'config is empty' }] });
  }
  const r = loadConfigText('- a\n- b\n', 'l.yaml', {});
  assert.equal(r.ok, false);
  assert.match(messages(r), /must be a mapping of sections/);
});

test('problems: a missing file says it cannot be read and why', () => {
  const r = loadConfigFile(`${fixtures}does-not-exist.yaml`, {});
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]?.path, '');
  assert.match(r.problems[0]?.message ?? '', /^cannot read the config file: ENOENT/);
});

// --- os.environ/ and environment_variables ----------------------------------------------

test('os.environ: resolved at any depth, inside lists, with true/false as booleans', () => {
  const cfg = load(`
    model_list:
      - model_name: x
        litellm_params:
          model: openai/x
          api_key: os.environ/KEY
          extra_body:
            nested: {deeper: os.environ/DEEP}
          tags: [os.environ/TAG, plain]
          stream: os.environ/FLAG
    router_settings:
      fallbacks: [{x: [os.environ/FALLBACK]}]
  `, { KEY: 'sk-env-secret-0003', DEEP: 'deep-value', TAG: 'team-a', FLAG: 'TRUE', FALLBACK: 'y' });
  const d = only(cfg);
  assert.equal(d.apiKey, 'sk-env-secret-0003');
  assert.deepEqual(d.litellmParams.extra_body, { nested: { deeper: 'deep-value' } });
  assert.deepEqual(d.litellmParams.tags, ['team-a', 'plain']);
  assert.equal(d.litellmParams.stream, true);
  assert.deepEqual(cfg.router.raw.fallbacks, [{ x: ['y'] }]);
  assert.ok(cfg.secrets.includes('sk-env-secret-0003'));
});

test('os.environ: an unset variable becomes null and warns with its name and path, never a value', () => {
  const cfg = load(`
    model_list:
      - model_name: x
        litellm_params:
          model: openai/x
          api_key: os.environ/MISSING_KEY
  `, { OPENAI_API_KEY: 'sk-fallback-secret-0004' });
  const d = only(cfg);
  assert.equal(d.litellmParams.api_key, null);
  // An unset api_key falls back to the provider's env var, as LiteLLM does.
  assert.equal(d.apiKey, 'sk-fallback-secret-0004');
  assert.ok(cfg.warnings.includes('model_list[0].litellm_params.api_key (line 5): environment variable MISSING_KEY is not set; using null'));
  assert.ok(!cfg.warnings.join('\n').includes('sk-fallback-secret-0004'));
});

test('environment_variables are exported before os.environ/ is resolved, and into env only on success', () => {
  const text = `
    environment_variables:
      MY_BASE: https://vllm.internal:8000/v1
      MY_KEY: sk-exported-secret-0005
      PORT_NUMBER: 6379
      EMPTY:
    model_list:
      - model_name: x
        litellm_params:
          model: hosted_vllm/llama
          api_base: os.environ/MY_BASE
          api_key: os.environ/MY_KEY
  `;
  const env: NodeJS.ProcessEnv = { UNRELATED: '1' };
  const d = only(load(text, env));
  assert.equal(d.apiBase, 'https://vllm.internal:8000/v1');
  assert.equal(d.apiKey, 'sk-exported-secret-0005');
  assert.deepEqual(env, { UNRELATED: '1', MY_BASE: 'https://vllm.internal:8000/v1', MY_KEY: 'sk-exported-secret-0005', PORT_NUMBER: '6379' });

  const refused: NodeJS.ProcessEnv = {};
  const r = loadConfigText(yaml(`${text}\n    router_settings:\n      timeout: never`), 'bad.yaml', refused);
  assert.equal(r.ok, false);
  assert.deepEqual(refused, {});
});

// --- deployments ------------------------------------------------------------------------

test('deployment: top-level rpm/tpm are copied into litellm_params when unset there', () => {
  const d = only(load(`
    model_list:
      - model_name: x
        rpm: 30
        tpm: 1000
        litellm_params:
          model: openai/x
          tpm: 5000
  `));
  assert.equal(d.rpm, 30);
  assert.equal(d.litellmParams.rpm, 30);
  assert.equal(d.litellmParams.tpm, 5000);
  // LiteLLM's lookup order: entry top-level first.
  assert.equal(d.tpm, 1000);
});

test('deployment: rpm/tpm/weight fall back to model_info; numeric strings are numbers', () => {
  const d = only(load(`
    model_list:
      - model_name: x
        litellm_params:
          model: openai/x
          weight: "2.5"
          order: 2
          max_parallel_requests: "10"
        model_info:
          rpm: "300"
          tpm: 40_000
          weight: 9
  `));
  assert.equal(d.rpm, 300);
  assert.equal(d.tpm, 40000);
  assert.equal(d.weight, 2.5);
  assert.equal(d.order, 2);
  assert.equal(d.maxParallelRequests, 10);
});

const timeoutCases: readonly { name: string; deployment: string; settings: string; env: NodeJS.ProcessEnv; timeoutMs: number; streamMs: number }[] = [
  { name: 'default 6000 s', deployment: '', settings: '', env: {}, timeoutMs: 6_000_000, streamMs: 6_000_000 },
  { name: 'REQUEST_TIMEOUT env', deployment: '', settings: '', env: { REQUEST_TIMEOUT: '42' }, timeoutMs: 42_000, streamMs: 42_000 },
  { name: 'litellm_settings.request_timeout over env', deployment: '', settings: 'litellm_settings:\n  request_timeout: 30', env: { REQUEST_TIMEOUT: '42' }, timeoutMs: 30_000, streamMs: 30_000 },
  { name: 'router_settings.timeout over request_timeout', deployment: '', settings: 'litellm_settings:\n  request_timeout: 30\nrouter_settings:\n  timeout: 20', env: {}, timeoutMs: 20_000, streamMs: 20_000 },
  { name: 'deployment timeout over router', deployment: '      timeout: 10', settings: 'router_settings:\n  timeout: 20\n  stream_timeout: 5', env: {}, timeoutMs: 10_000, streamMs: 5_000 },
  { name: 'deployment stream_timeout over router', deployment: '      stream_timeout: 0.25', settings: 'router_settings:\n  stream_timeout: 5', env: {}, timeoutMs: 6_000_000, streamMs: 250 },
  { name: 'deployment request_timeout', deployment: '      request_timeout: "15"', settings: 'router_settings:\n  timeout: 20', env: {}, timeoutMs: 15_000, streamMs: 15_000 },
];
for (const c of timeoutCases) {
  test(`timeouts: ${c.name}`, () => {
    const text = `model_list:\n  - model_name: x\n    litellm_params:\n      model: openai/x\n${c.deployment}\n${c.settings}\n`;
    const r = loadConfigText(text, 't.yaml', c.env);
    if (!r.ok) assert.fail(formatProblems('t.yaml', r.problems));
    const d = only(r.config);
    assert.equal(d.timeoutMs, c.timeoutMs);
    assert.equal(d.streamTimeoutMs, c.streamMs);
  });
}

test('deployment: model_info.id is used as the id, ints stringified', () => {
  const cfg = load(`
    model_list:
      - model_name: x
        litellm_params: {model: openai/x}
        model_info: {id: 1, mode: chat}
      - model_name: x
        litellm_params: {model: openai/y}
        model_info: {id: my-id}
  `);
  assert.deepEqual(cfg.deployments.map((d) => d.id), ['1', 'my-id']);
  assert.deepEqual(cfg.deployments[0]?.modelInfo, { mode: 'chat' });
});

test('deployment: ids are deterministic across loads and differ when params differ', () => {
  const text = `
    model_list:
      - model_name: gpt-4
        litellm_params:
          model: openai/gpt-4
          api_key: sk-x
      - model_name: gpt-4
        litellm_params:
          model: openai/gpt-4
          api_key: sk-y
  `;
  const a = load(text).deployments.map((d) => d.id);
  const b = load(text).deployments.map((d) => d.id);
  assert.deepEqual(a, b);
  assert.notEqual(a[0], a[1]);
  assert.equal(a[0], '3564a39c9e8b149e7c58516ca9bf514ae9e87339c214fbf09020a0b430e311e5');
});

test('deployment: ids match LiteLLM for floats, dates, lists, dicts and PyYAML scalars', () => {
  // Expected id computed with PyYAML and LiteLLM's _generate_model_id on the same file.
  const r = loadConfigFile(`${fixtures}python-hash.yaml`, {});
  if (!r.ok) assert.fail(formatProblems('python-hash.yaml', r.problems));
  const d = only(r.config);
  assert.equal(d.id, 'c00344c277dc91d0aac380e0d721d8f2ee993f3cb676e00811423eaf2e1b1fb9');
  assert.equal(d.litellmParams.when, '2023-05-15');
  assert.equal(d.litellmParams.big, '1e5');
  assert.equal(d.litellmParams.user, 'y');
  assert.equal(d.litellmParams.drop_params, true);
});

test('deployment: << merge keys follow PyYAML (own keys win, order as PyYAML)', () => {
  const r = loadConfigFile(`${fixtures}merge-keys.yaml`, {});
  if (!r.ok) assert.fail(formatProblems('merge-keys.yaml', r.problems));
  const [a, b] = r.config.deployments;
  assert.deepEqual(Object.keys(a?.litellmParams ?? {}), ['api_base', 'timeout', 'model', 'rpm', 'temperature']);
  assert.equal(a?.model, 'openai/own');
  assert.equal(a?.rpm, 5);
  assert.equal(a?.id, '48b52c2916163f767dbca876685d4e035ba44603662fd6f3c2e107b0e69b6f1a');
  assert.equal(b?.id, 'fdf420710c7795f89c9e374751184abe236490327fe87cafe4943ab46040bc5c');
});

test('deployment: identical entries share an id, with a warning', () => {
  const cfg = load(`
    model_list:
      - {model_name: x, litellm_params: {model: openai/x}}
      - {model_name: x, litellm_params: {model: openai/x}}
  `);
  assert.equal(cfg.deployments[0]?.id, cfg.deployments[1]?.id);
  assert.ok(cfg.warnings.some((w) => w.startsWith('model_list[1] (x): id ') && w.includes('also used by model_list[0]')));
});

test('deployment: Azure falls back to AZURE_* env vars and the default api version', () => {
  const env = { AZURE_API_BASE: 'https://env.openai.azure.com/', AZURE_API_KEY: 'azure-env-secret-0006', AZURE_OPENAI_API_KEY: '' };
  const d = only(load(`
    model_list:
      - model_name: x
        litellm_params:
          model: azure/my-deployment
  `, env));
  assert.equal(d.provider, 'azure');
  assert.equal(d.upstreamModel, 'my-deployment');
  assert.equal(d.apiBase, 'https://env.openai.azure.com');
  assert.equal(d.apiKey, 'azure-env-secret-0006');
  assert.equal(d.apiVersion, '2025-02-01-preview');

  const v = only(load(`
    model_list:
      - model_name: x
        litellm_params: {model: azure/d, api_base: "https://a.example.com", api_version: 2024}
  `, { AZURE_API_VERSION: '2024-10-21' }));
  assert.equal(v.apiVersion, '2024');
  const w = only(load('model_list:\n  - {model_name: x, litellm_params: {model: azure/d, api_base: "https://a.example.com"}}', { AZURE_API_VERSION: '2024-10-21' }));
  assert.equal(w.apiVersion, '2024-10-21');
});

test('deployment: Azure without any api_base is skipped with a warning', () => {
  const cfg = load('model_list:\n  - {model_name: eu, litellm_params: {model: azure/d}}');
  assert.equal(cfg.deployments.length, 0);
  assert.ok(cfg.warnings.includes('model_list[0] (eu): api_base is required for Azure (set litellm_params.api_base or AZURE_API_BASE); skipped'));
});

const compatibleCases: readonly { model: string; extra: string; env: NodeJS.ProcessEnv; base: string | null; key: string | null }[] = [
  { model: 'openai/gpt-4o', extra: '', env: {}, base: 'https://api.openai.com/v1', key: null },
  { model: 'gpt-4o', extra: '', env: { OPENAI_API_KEY: 'sk-openai-env-0007', OPENAI_API_BASE: 'https://proxy.example.com/v1/' }, base: 'https://proxy.example.com/v1', key: 'sk-openai-env-0007' },
  { model: 'openai/gpt-4o', extra: ', api_key: ""', env: { OPENAI_API_KEY: 'sk-openai-env-0008' }, base: 'https://api.openai.com/v1', key: 'sk-openai-env-0008' },
  { model: 'ollama/llama3', extra: ', api_base: "http://gpu:11434/"', env: {}, base: 'http://gpu:11434/v1', key: null },
  { model: 'groq/llama3', extra: '', env: { GROQ_API_KEY: 'gsk-env-0009' }, base: 'https://api.groq.com/openai/v1', key: 'gsk-env-0009' },
  { model: 'hosted_vllm/llama', extra: '', env: { HOSTED_VLLM_API_BASE: 'http://vllm:8000/v1' }, base: 'http://vllm:8000/v1', key: null },
  { model: 'hosted_vllm/llama', extra: '', env: {}, base: null, key: null },
];
for (const c of compatibleCases) {
  test(`deployment: ${c.model}${c.extra} with env ${Object.keys(c.env).join(',') || 'none'}`, () => {
    const cfg = load(`model_list:\n  - {model_name: m, litellm_params: {model: ${c.model}${c.extra}}}`, c.env);
    if (c.base === null) {
      assert.equal(cfg.deployments.length, 0);
      assert.ok(cfg.warnings.some((w) => w.startsWith('model_list[0] (m): api_base is required for provider "hosted_vllm"') && w.endsWith('; skipped')));
      return;
    }
    const d = only(cfg);
    assert.equal(d.apiBase, c.base);
    assert.equal(d.apiKey, c.key);
  });
}

test('deployment: mock_response needs no upstream', () => {
  const cfg = load(`
    model_list:
      - model_name: mock
        litellm_params:
          model: openai/gpt-4o
          mock_response: "Hello!"
      - model_name: mock-any
        litellm_params:
          model: something-unknown
          mock_response: {choices: []}
  `);
  const [a, b] = cfg.deployments;
  assert.equal(a?.provider, 'mock');
  assert.equal(a?.apiBase, 'https://api.openai.com/v1', 'a mock keeps the base it would call, for x-litellm-model-api-base');
  assert.equal(a?.upstreamModel, 'gpt-4o');
  assert.equal(a?.mockResponse, 'Hello!');
  assert.equal(b?.provider, 'mock');
  assert.equal(b?.upstreamModel, 'something-unknown');
  assert.deepEqual(b?.mockResponse, { choices: [] });
});

test('deployment: body defaults, extra_body flattened, extra headers and organization', () => {
  const d = only(load(`
    model_list:
      - model_name: x
        litellm_params:
          model: openai/x
          temperature: 0.2
          max_tokens: 100
          stop: ["\\n"]
          drop_params: true
          extra_body: {top_k: 5}
          extra_headers: {X-Team: blue, X-Retry: 3}
          organization: org-123
  `));
  assert.deepEqual(d.bodyDefaults, { temperature: 0.2, max_tokens: 100, stop: ['\n'], top_k: 5 });
  assert.deepEqual(d.extraHeaders, { 'X-Team': 'blue', 'X-Retry': '3', 'OpenAI-Organization': 'org-123' });
  assert.equal(only(load('model_list:\n  - {model_name: x, litellm_params: {model: openai/x}}')).bodyDefaults, null);
});

test('deployment: wildcard model names load like any other', () => {
  const d = only(load('model_list:\n  - {model_name: "openai/*", litellm_params: {model: "openai/*"}}'));
  assert.equal(d.group, 'openai/*');
  assert.equal(d.upstreamModel, '*');
});

test('groups: in order of first appearance, deployments in model_list order', () => {
  const cfg = load(`
    model_list:
      - {model_name: b, litellm_params: {model: openai/b1}}
      - {model_name: a, litellm_params: {model: openai/a1}}
      - {model_name: b, litellm_params: {model: openai/b2}}
  `);
  assert.deepEqual([...cfg.groups.keys()], ['b', 'a']);
  assert.deepEqual(cfg.groups.get('b')?.map((d) => d.model), ['openai/b1', 'openai/b2']);
});

test('model_list may be missing: zero deployments', () => {
  const cfg = load('general_settings:\n  master_key: sk-admin-secret-0010');
  assert.equal(cfg.deployments.length, 0);
  assert.equal(cfg.groups.size, 0);
});

// --- settings and warnings --------------------------------------------------------------

test('warnings: one per unimplemented setting and per unknown top-level section', () => {
  const cfg = load(`
    model_list: []
    router_settings:
      tag_filtering_match_any: true
      timeout: 30
    litellm_settings:
      request_timeout: 10
      drop_params: true
      set_verbose: true
    general_settings:
      master_key: sk-admin-secret-0011
      store_model_in_db: true
    guardrails: []
    mcp_servers: {}
    include: [other.yaml]
  `);
  for (const w of [
    'router_settings.tag_filtering_match_any: not implemented yet; ignored',
    'litellm_settings.set_verbose: not implemented yet; ignored',
    'general_settings.store_model_in_db: not implemented yet; ignored',
    'guardrails: not implemented by Switchyard; ignored',
    'mcp_servers: not implemented by Switchyard; ignored',
  ]) assert.ok(cfg.warnings.includes(w), w);
  assert.ok(cfg.warnings.some((w) => w.startsWith('include: not supported')));
  assert.ok(!cfg.warnings.some((w) => /router_settings\.timeout|request_timeout|master_key|drop_params/.test(w)));
  assert.ok(implementedSettings.router_settings.includes('routing_strategy'));
});

test('server: master key from general_settings, else LITELLM_MASTER_KEY; body size and grace', () => {
  const a = load(`
    general_settings:
      master_key: os.environ/ADMIN_KEY
      max_request_size_mb: 1.5
      graceful_shutdown_seconds: 5
  `, { ADMIN_KEY: 'sk-admin-secret-0012' });
  assert.deepEqual(a.server, { masterKey: 'sk-admin-secret-0012', maxRequestBodyBytes: 1572864, shutdownGraceMs: 5000, backgroundHealthChecks: false, healthCheckIntervalMs: 300_000, allowedOrigins: ['*'], jsonLogs: false, requireAuthForMetrics: false, allowClientSideCredentials: false });
  assert.ok(a.secrets.includes('sk-admin-secret-0012'));
  const b = load('model_list: []', { LITELLM_MASTER_KEY: 'sk-admin-secret-0013' });
  assert.deepEqual(b.server, { masterKey: 'sk-admin-secret-0013', maxRequestBodyBytes: 32 * 1024 * 1024, shutdownGraceMs: 30_000, backgroundHealthChecks: false, healthCheckIntervalMs: 300_000, allowedOrigins: ['*'], jsonLogs: false, requireAuthForMetrics: false, allowClientSideCredentials: false });
});

test('secrets: api keys, master key and key-like params, longest first', () => {
  const cfg = load(`
    model_list:
      - model_name: x
        litellm_params:
          model: openai/x
          api_key: sk-literal-secret-0014
          aws_secret_access_key: aws-secret-0015
          max_tokens: "256"
          extra_headers: {Authorization: Bearer header-secret-0016}
    general_settings:
      master_key: sk-admin-secret-0017
  `);
  assert.deepEqual([...cfg.secrets].sort(), ['Bearer header-secret-0016', 'aws-secret-0015', 'sk-admin-secret-0017', 'sk-literal-secret-0014'].sort());
  assert.ok(cfg.secrets.every((s, i, all) => i === 0 || (all[i - 1]?.length ?? 0) >= s.length));
});

test('no secret value appears in any warning or problem', () => {
  const env = { KEY_A: 'sk-secret-aaaa-0018', KEY_B: 'not-a-number-secret-0019', MASTER: 'sk-secret-master-0020' };
  const bad = `
    model_list:
      - model_name: x
        litellm_params:
          model: openai/x
          api_key: os.environ/KEY_A
          rpm: os.environ/KEY_B
      - model_name: y
        litellm_params:
          model: bedrock/claude
          api_key: sk-literal-secret-0021
      - model_name: z
        litellm_params:
          model: openai/z
          api_key: [sk-literal-secret-0022]
    general_settings:
      master_key: 12345678
  `;
  const r = loadConfigText(yaml(bad), 'bad.yaml', env);
  assert.equal(r.ok, false);
  const text = messages(r);
  assert.match(text, /rpm must be a non-negative integer, got the value of environment variable KEY_B/);
  for (const secret of [...Object.values(env), 'sk-literal-secret-0021', 'sk-literal-secret-0022', '12345678']) {
    assert.ok(!text.includes(secret), `${secret} leaked into: ${text}`);
  }
  const good = loadConfigText(yaml(bad.replace('rpm: os.environ/KEY_B', 'rpm: 1').replace('api_key: [sk-literal-secret-0022]', 'api_key: os.environ/UNSET').replace('master_key: 12345678', 'master_key: os.environ/MASTER')), 'good.yaml', env);
  assert.ok(good.ok, messages(good));
  const warnings = messages(good);
  for (const secret of [...Object.values(env), 'sk-literal-secret-0021']) assert.ok(!warnings.includes(secret), `${secret} leaked into: ${warnings}`);
});

// --- YAML reading -----------------------------------------------------------------------

test('yaml: PyYAML 1.1 scalars', () => {
  const cfg = load(`
    litellm_settings:
      a: 20_000
      b: True
      c: yes
      d: off
      e: 2023-05-15
      f: 2023-06-01-preview
      g: y
      h: 1e5
      i: 0o17
      j: 010
      k: 0x1F
      l: 1.0e+3
      m: ~
  `);
  assert.deepEqual({ ...cfg.litellmSettings }, {
    a: 20000, b: true, c: true, d: false, e: '2023-05-15', f: '2023-06-01-preview', g: 'y', h: '1e5', i: '0o17', j: 8, k: 31, l: 1000, m: null,
  });
});

test('the result is deeply frozen', () => {
  const cfg = load(`
    model_list:
      - model_name: x
        litellm_params: {model: openai/x, tags: [a]}
  `);
  const d = only(cfg);
  assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.deployments) && Object.isFrozen(d) && Object.isFrozen(d.litellmParams));
  assert.ok(Object.isFrozen(d.litellmParams.tags) && Object.isFrozen(d.extraHeaders) && Object.isFrozen(cfg.server));
  assert.throws(() => (cfg.groups as Map<string, readonly DeploymentConfig[]>).set('y', []), TypeError);
  assert.throws(() => { (d.litellmParams as Record<string, unknown>).model = 'changed'; }, TypeError);
  const r = loadConfigText('', 'e.yaml', {});
  assert.ok(Object.isFrozen(r) && !r.ok && Object.isFrozen(r.problems));
});
