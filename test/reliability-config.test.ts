/**
 * Loading the reliability settings (retries, fallbacks, cooldowns) from LiteLLM configs:
 * router_settings first, litellm_settings where LiteLLM falls back to it, per-deployment
 * litellm_params, and every shape problem with its path and line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { formatProblems, implementedSettings, loadConfigFile, loadConfigText } from '../src/config/load.js';
import type { ConfigProblem } from '../src/config/types.js';
import type { FallbackMap } from '../src/config/fallbacks.js';
import { load, yaml } from './support/config.js';

const litellmFixtures = fileURLToPath(new URL('../../test/fixtures/litellm/', import.meta.url));

function problems(text: string): ConfigProblem[] {
  const r = loadConfigText(yaml(text), 'test.yaml', {});
  assert.equal(r.ok, false, 'expected the config to be refused');
  return r.ok ? [] : r.problems;
}

function names(map: FallbackMap | null): Record<string, string[]> | null {
  if (map === null) return null;
  const out: Record<string, string[]> = {};
  for (const [k, v] of map) out[k] = v.map((e) => e.model);
  return out;
}

const models = `
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: sk-test-key-0001}
  - model_name: gpt-4o
    litellm_params: {model: azure/gpt-4o-eu, api_base: https://eu.example.com, api_key: sk-test-key-0002}
    model_info: {id: eu-deployment}
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_key: sk-test-key-0003}
  - model_name: big-context
    litellm_params: {model: openai/gpt-4.1, api_key: sk-test-key-0004}
  - model_name: skipped-group
    litellm_params: {model: bedrock/claude}
`;

function withModels(settings: string): string {
  return `${yaml(models)}\n${yaml(settings)}`;
}

test('reliability: defaults when nothing is set (LiteLLM Router.__init__ defaults)', () => {
  const cfg = load('model_list: []');
  const r = cfg.reliability;
  assert.equal(r.numRetries, null);
  assert.equal(r.retryPolicy, null);
  assert.equal(r.modelGroupRetryPolicy.size, 0);
  assert.equal(r.allowedFails, null);
  assert.equal(r.allowedFailsPolicy, null);
  assert.equal(r.cooldownTimeMs, 5000);
  assert.equal(r.disableCooldowns, false);
  assert.equal(r.fallbacks.size, 0);
  assert.equal(r.contextWindowFallbacks, null);
  assert.equal(r.contentPolicyFallbacks, null);
  assert.deepEqual(r.defaultFallbacks, []);
  assert.equal(r.maxFallbacks, 5);
  assert.equal(r.retryAfterMs, 0);
  assert.equal(r.numRetriesPerRequest, null);
});

test('reliability: every router_settings key is read', () => {
  const cfg = load(withModels(`
    router_settings:
      num_retries: 4
      retry_policy: {RateLimitErrorRetries: 3, BadRequestErrorRetries: 0, InternalServerErrorRetries: "2"}
      model_group_retry_policy:
        gpt-4o: {TimeoutErrorRetries: 1}
      allowed_fails: 2
      allowed_fails_policy: {RateLimitErrorAllowedFails: 10, AuthenticationErrorAllowedFails: 0}
      cooldown_time: 30
      disable_cooldowns: false
      fallbacks: [{"gpt-4o": ["gpt-4o-mini", "eu-deployment"]}, {"*": ["gpt-4o-mini"]}]
      context_window_fallbacks: [{"gpt-4o": ["big-context"]}]
      content_policy_fallbacks: [{"gpt-4o": ["gpt-4o-mini"]}]
      default_fallbacks: ["gpt-4o-mini"]
      max_fallbacks: 2
      retry_after: 1.5
  `));
  const r = cfg.reliability;
  assert.equal(r.numRetries, 4);
  assert.deepEqual(r.retryPolicy, { RateLimitErrorRetries: 3, BadRequestErrorRetries: 0, InternalServerErrorRetries: 2 });
  assert.deepEqual(Object.fromEntries(r.modelGroupRetryPolicy), { 'gpt-4o': { TimeoutErrorRetries: 1 } });
  assert.equal(r.allowedFails, 2);
  assert.deepEqual(r.allowedFailsPolicy, { RateLimitErrorAllowedFails: 10, AuthenticationErrorAllowedFails: 0 });
  assert.equal(r.cooldownTimeMs, 30_000);
  assert.equal(r.disableCooldowns, false);
  assert.deepEqual(names(r.fallbacks), { 'gpt-4o': ['gpt-4o-mini', 'eu-deployment'], '*': ['gpt-4o-mini'] });
  assert.deepEqual(names(r.contextWindowFallbacks), { 'gpt-4o': ['big-context'] });
  assert.deepEqual(names(r.contentPolicyFallbacks), { 'gpt-4o': ['gpt-4o-mini'] });
  assert.deepEqual(r.defaultFallbacks, ['gpt-4o-mini']);
  assert.equal(r.maxFallbacks, 2);
  assert.equal(r.retryAfterMs, 1500);
  // A fallback naming a deployment id is fine; none of these keys is "not implemented".
  assert.ok(!cfg.warnings.some((w) => /router_settings/.test(w)), cfg.warnings.join('\n'));
});

test('reliability: litellm_settings is the fallback for num_retries, fallbacks, allowed_fails, max_fallbacks, default_fallbacks', () => {
  const cfg = load(withModels(`
    litellm_settings:
      num_retries: 5
      fallbacks: [{"gpt-4o": ["gpt-4o-mini"]}]
      context_window_fallbacks: [{"gpt-4o": ["big-context"]}]
      content_policy_fallbacks: [{"gpt-4o": ["gpt-4o-mini"]}]
      default_fallbacks: ["gpt-4o-mini"]
      max_fallbacks: 3
      allowed_fails: 1
      num_retries_per_request: 4
  `));
  const r = cfg.reliability;
  assert.equal(r.numRetries, 5);
  assert.deepEqual(names(r.fallbacks), { 'gpt-4o': ['gpt-4o-mini'] });
  assert.deepEqual(names(r.contextWindowFallbacks), { 'gpt-4o': ['big-context'] });
  assert.deepEqual(names(r.contentPolicyFallbacks), { 'gpt-4o': ['gpt-4o-mini'] });
  assert.deepEqual(r.defaultFallbacks, ['gpt-4o-mini']);
  assert.equal(r.maxFallbacks, 3);
  assert.equal(r.allowedFails, 1);
  assert.equal(r.numRetriesPerRequest, 4);
  assert.ok(!cfg.warnings.some((w) => w.startsWith('litellm_settings')), cfg.warnings.join('\n'));
});

test('reliability: router_settings wins over litellm_settings, and the shadowed value is named in a warning', () => {
  const cfg = load(withModels(`
    router_settings:
      num_retries: 1
      fallbacks: [{"gpt-4o": ["big-context"]}]
      max_fallbacks: 0
    litellm_settings:
      num_retries: 5
      fallbacks: [{"gpt-4o": ["gpt-4o-mini"]}]
      max_fallbacks: 3
  `));
  const r = cfg.reliability;
  assert.equal(r.numRetries, 1);
  assert.equal(r.maxFallbacks, 0);
  assert.deepEqual(names(r.fallbacks), { 'gpt-4o': ['big-context'] });
  for (const key of ['num_retries', 'fallbacks', 'max_fallbacks']) {
    assert.ok(cfg.warnings.some((w) => w.startsWith(`litellm_settings.${key} (line `) && w.includes(`router_settings.${key}`) && w.includes('wins')), key);
  }
});

test('reliability: an empty router list counts as unset (LiteLLM `router_value or litellm.value`)', () => {
  const cfg = load(withModels(`
    router_settings:
      fallbacks: []
      context_window_fallbacks: []
    litellm_settings:
      fallbacks: [{"gpt-4o": ["gpt-4o-mini"]}]
  `));
  assert.deepEqual(names(cfg.reliability.fallbacks), { 'gpt-4o': ['gpt-4o-mini'] });
  // Empty in every section is the same as not set: context-window errors use the general chain.
  assert.equal(cfg.reliability.contextWindowFallbacks, null);
});

test('reliability: litellm_settings.cooldown_time has no effect in LiteLLM; we warn and ignore it', () => {
  const cfg = load(`
    litellm_settings:
      cooldown_time: 60
  `);
  assert.equal(cfg.reliability.cooldownTimeMs, 5000);
  const w = cfg.warnings.filter((x) => x.includes('cooldown_time'));
  assert.equal(w.length, 1);
  assert.match(w[0]!, /^litellm_settings\.cooldown_time \(line 2\): has no effect.*move it to router_settings/);
  assert.ok(!implementedSettings.litellm_settings.includes('cooldown_time'));
});

const cooldownCases: readonly { name: string; value: string; ms: number; warns: boolean }[] = [
  { name: 'seconds → ms', value: '30', ms: 30_000, warns: false },
  { name: 'fractions', value: '0.25', ms: 250, warns: false },
  { name: 'numeric string', value: '"2"', ms: 2000, warns: false },
  { name: '0 disables cooldowns, with a warning (LiteLLM reads 0 as 5 s)', value: '0', ms: 0, warns: true },
];

for (const c of cooldownCases) {
  test(`reliability: router_settings.cooldown_time ${c.name}`, () => {
    const cfg = load(`
      router_settings:
        cooldown_time: ${c.value}
    `);
    assert.equal(cfg.reliability.cooldownTimeMs, c.ms);
    assert.equal(cfg.warnings.some((w) => w.startsWith('router_settings.cooldown_time (line 2): 0 disables cooldowns')), c.warns);
  });
}

test('reliability: the cookbook fixture keeps its litellm_settings context_window_fallbacks and num_retries', () => {
  const r = loadConfigFile(`${litellmFixtures}cookbook.yaml`, {});
  if (!r.ok) assert.fail(formatProblems('cookbook.yaml', r.problems));
  assert.equal(r.config.reliability.numRetries, 4);
  assert.deepEqual(names(r.config.reliability.contextWindowFallbacks), { 'chat-small': ['chat-small-long'] });
  assert.equal(r.config.reliability.contentPolicyFallbacks, null);
  assert.ok(!r.config.warnings.some((w) => /num_retries|context_window_fallbacks/.test(w)), r.config.warnings.join('\n'));
});

test('reliability: the proxy-server fixture reads a deployment num_retries', () => {
  const r = loadConfigFile(`${litellmFixtures}proxy-server.yaml`, {});
  if (!r.ok) assert.fail(formatProblems('proxy-server.yaml', r.problems));
  const d = r.config.deployments.find((x) => x.group === 'echo-retry');
  assert.equal(d?.numRetries, 25);
  assert.equal(r.config.reliability.numRetries, 3);
});

test('deployment: num_retries and cooldown_time from litellm_params', () => {
  const cfg = load(`
    model_list:
      - model_name: a
        litellm_params: {model: openai/a, num_retries: 3, cooldown_time: 12.5}
      - model_name: a
        litellm_params: {model: openai/b, num_retries: "0", cooldown_time: 0}
      - model_name: a
        litellm_params: {model: openai/c}
  `);
  assert.deepEqual(cfg.deployments.map((d) => [d.numRetries, d.cooldownTimeMs]), [[3, 12_500], [0, 0], [null, null]]);
});

const problemCases: readonly { name: string; text: string; path: string; line: number | null; message: RegExp }[] = [
  {
    name: 'a fallbacks item with two keys (LiteLLM validate_fallbacks raises)',
    text: 'router_settings:\n  fallbacks:\n    - {"a": ["b"], "c": ["d"]}\n',
    path: 'router_settings.fallbacks[0]', line: 3, message: /exactly one key/,
  },
  {
    name: 'fallbacks written as a mapping',
    text: 'router_settings:\n  fallbacks: {"a": ["b"]}\n',
    path: 'router_settings.fallbacks', line: 2, message: /must be a list of \{model_group/,
  },
  {
    name: 'a fallback target list written as one string',
    text: 'litellm_settings:\n  context_window_fallbacks: [{"a": "b"}]\n',
    path: 'litellm_settings.context_window_fallbacks[0].a', line: 2, message: /must be a list of model group names/,
  },
  {
    name: 'content_policy_fallbacks with a number target',
    text: 'router_settings:\n  content_policy_fallbacks:\n    - a:\n        - 3\n',
    path: 'router_settings.content_policy_fallbacks[0].a[0]', line: 4, message: /must be a model group name, got 3/,
  },
  {
    name: 'default_fallbacks as a string',
    text: 'router_settings:\n  default_fallbacks: gpt-4o\n',
    path: 'router_settings.default_fallbacks', line: 2, message: /must be a list of model group names, e\.g\. \["gpt-4o"\]/,
  },
  {
    name: 'negative num_retries',
    text: 'router_settings:\n  num_retries: -1\n',
    path: 'router_settings.num_retries', line: 2, message: /non-negative integer/,
  },
  {
    name: 'fractional litellm_settings.num_retries',
    text: 'litellm_settings:\n  num_retries: 1.5\n',
    path: 'litellm_settings.num_retries', line: 2, message: /non-negative integer/,
  },
  {
    name: 'retry_policy as a list',
    text: 'router_settings:\n  retry_policy: [1]\n',
    path: 'router_settings.retry_policy', line: 2, message: /must be a mapping/,
  },
  {
    name: 'a retry_policy count that is not a count',
    text: 'router_settings:\n  retry_policy:\n    RateLimitErrorRetries: lots\n',
    path: 'router_settings.retry_policy.RateLimitErrorRetries', line: 3, message: /non-negative integer/,
  },
  {
    name: 'model_group_retry_policy as a list',
    text: 'router_settings:\n  model_group_retry_policy: []\n',
    path: 'router_settings.model_group_retry_policy', line: 2, message: /model group: retry policy/,
  },
  {
    name: 'allowed_fails_policy count negative',
    text: 'router_settings:\n  allowed_fails_policy: {RateLimitErrorAllowedFails: -2}\n',
    path: 'router_settings.allowed_fails_policy.RateLimitErrorAllowedFails', line: 2, message: /non-negative integer/,
  },
  {
    name: 'negative cooldown_time',
    text: 'router_settings:\n  cooldown_time: -5\n',
    path: 'router_settings.cooldown_time', line: 2, message: /non-negative number of seconds/,
  },
  {
    name: 'disable_cooldowns not a boolean',
    text: 'router_settings:\n  disable_cooldowns: maybe\n',
    path: 'router_settings.disable_cooldowns', line: 2, message: /true or false/,
  },
  {
    name: 'max_fallbacks negative',
    text: 'litellm_settings:\n  max_fallbacks: -1\n',
    path: 'litellm_settings.max_fallbacks', line: 2, message: /non-negative integer/,
  },
  {
    name: 'retry_after negative',
    text: 'router_settings:\n  retry_after: -1\n',
    path: 'router_settings.retry_after', line: 2, message: /non-negative number of seconds/,
  },
  {
    name: 'a deployment num_retries that is not a count',
    text: 'model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n      num_retries: two\n',
    path: 'model_list[0].litellm_params.num_retries', line: 5, message: /non-negative integer, got "two"/,
  },
  {
    name: 'a negative deployment cooldown_time',
    text: 'model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n      cooldown_time: -1\n',
    path: 'model_list[0].litellm_params.cooldown_time', line: 5, message: /non-negative number of seconds/,
  },
];

for (const c of problemCases) {
  test(`reliability problem: ${c.name}`, () => {
    const ps = problems(c.text);
    const p = ps.find((x) => x.path === c.path);
    assert.ok(p, `no problem at ${c.path}: ${JSON.stringify(ps)}`);
    assert.equal(p.line, c.line);
    assert.match(p.message, c.message);
  });
}

test('reliability problems: all reported at once', () => {
  const ps = problems(`
    router_settings:
      num_retries: -1
      fallbacks: [{"a": ["b"], "c": ["d"]}]
      cooldown_time: soon
    litellm_settings:
      context_window_fallbacks: {"a": ["b"]}
  `);
  assert.deepEqual(ps.map((p) => p.path).sort(), [
    'litellm_settings.context_window_fallbacks', 'router_settings.cooldown_time', 'router_settings.fallbacks[0]', 'router_settings.num_retries',
  ]);
});

const warningCases: readonly { name: string; settings: string; want: RegExp | null }[] = [
  {
    name: 'a fallback target no deployment serves (LiteLLM fails only at request time)',
    settings: 'router_settings:\n  fallbacks: [{"gpt-4o": ["gpt-4o-mnii"]}]',
    want: /^router_settings\.fallbacks\[0\]\.gpt-4o\[0\] \(line \d+\): fallback "gpt-4o-mnii" is not a model group, alias or deployment id; falling back to it will fail; did you mean "gpt-4o-mini"\?$/,
  },
  {
    name: 'a fallback target whose deployments were all skipped',
    settings: 'router_settings:\n  fallbacks: [{"gpt-4o": ["skipped-group"]}]',
    want: /fallback "skipped-group" is a group whose deployments were all skipped/,
  },
  {
    name: 'a default fallback no deployment serves',
    settings: 'litellm_settings:\n  default_fallbacks: ["nope"]',
    want: /^litellm_settings\.default_fallbacks\[0\] \(line \d+\): fallback "nope" is not a model group/,
  },
  {
    name: 'a key naming no group: the entry never applies',
    settings: 'router_settings:\n  context_window_fallbacks: [{"gpt4o": ["big-context"]}]',
    want: /"gpt4o" is not a model group or alias, so this entry never applies; did you mean "gpt-4o"\?/,
  },
  {
    name: 'a model_group_retry_policy group that does not exist',
    settings: 'router_settings:\n  model_group_retry_policy: {"gpt-4": {RateLimitErrorRetries: 1}}',
    want: /model_group_retry_policy\.gpt-4 \(line \d+\): "gpt-4" is not a model group or alias/,
  },
  {
    name: 'an unknown retry_policy key (pydantic drops it silently)',
    settings: 'router_settings:\n  retry_policy: {RateLimitErrorRetry: 1}',
    want: /retry_policy\.RateLimitErrorRetry \(line \d+\): unknown key; did you mean "RateLimitErrorRetries"\?; ignored/,
  },
  {
    name: 'an unknown allowed_fails_policy key',
    settings: 'router_settings:\n  allowed_fails_policy: {Whatever: 1}',
    want: /allowed_fails_policy\.Whatever \(line \d+\): unknown key \(expected one of BadRequestErrorAllowedFails/,
  },
  {
    name: 'a group listed twice in fallbacks',
    settings: 'router_settings:\n  fallbacks: [{"gpt-4o": ["gpt-4o-mini"]}, {"gpt-4o": ["big-context"]}]',
    want: /fallbacks\[1\] \(line \d+\): "gpt-4o" already has fallbacks at router_settings\.fallbacks\[0\]; LiteLLM uses the first/,
  },
  { name: 'a target naming a deployment id: no warning', settings: 'router_settings:\n  fallbacks: [{"gpt-4o-mini": ["eu-deployment"]}]', want: null },
  { name: "a target naming a deployment's litellm_params.model: no warning", settings: 'router_settings:\n  fallbacks: [{"gpt-4o-mini": ["azure/gpt-4o-eu"]}]', want: null },
  {
    name: 'a target naming an alias: no warning',
    settings: 'router_settings:\n  model_group_alias: {"small": "gpt-4o-mini"}\n  fallbacks: [{"small": ["big-context"]}, {"gpt-4o": ["small"]}]',
    want: null,
  },
];

for (const c of warningCases) {
  test(`reliability warning: ${c.name}`, () => {
    const cfg = load(withModels(c.settings));
    const relevant = cfg.warnings.filter((w) => !w.startsWith('model_list['));
    if (c.want === null) assert.deepEqual(relevant, []);
    else assert.ok(relevant.some((w) => c.want!.test(w)), relevant.join('\n'));
  });
}

test('reliability: a wildcard group may serve fallback names and keys', () => {
  const cfg = load(`
    model_list:
      - model_name: "openai/*"
        litellm_params: {model: "openai/*"}
    router_settings:
      fallbacks: [{"gpt-4o": ["openai/gpt-4o-mini"]}]
  `);
  assert.deepEqual(cfg.warnings, []);
});

test('reliability: implementedSettings lists every key read', () => {
  for (const k of ['num_retries', 'retry_policy', 'model_group_retry_policy', 'allowed_fails', 'allowed_fails_policy', 'cooldown_time',
    'disable_cooldowns', 'fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks', 'default_fallbacks', 'max_fallbacks', 'retry_after']) {
    assert.ok(implementedSettings.router_settings.includes(k), `router_settings.${k}`);
  }
  for (const k of ['num_retries', 'fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks', 'default_fallbacks', 'max_fallbacks',
    'allowed_fails', 'num_retries_per_request']) {
    assert.ok(implementedSettings.litellm_settings.includes(k), `litellm_settings.${k}`);
  }
});

test('reliability: the settings are frozen with the rest of the config', () => {
  const cfg = load(withModels('router_settings:\n  fallbacks: [{"gpt-4o": ["gpt-4o-mini"]}]\n  retry_policy: {RateLimitErrorRetries: 1}'));
  const fallbacks = cfg.reliability.fallbacks as Map<string, unknown>;
  assert.throws(() => fallbacks.set('x', []), TypeError);
  assert.ok(Object.isFrozen(cfg.reliability));
  assert.ok(Object.isFrozen(cfg.reliability.retryPolicy));
  assert.ok(Object.isFrozen(cfg.reliability.fallbacks.get('gpt-4o')));
});
