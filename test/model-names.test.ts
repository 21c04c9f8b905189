import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblems, loadConfigText } from '../src/config/load.js';
import type { ProxyConfig } from '../src/config/types.js';
import { ModelNames, type Resolved } from '../src/config/model-names.js';

function yaml(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(indent)).join('\n');
}

function load(text: string): ProxyConfig {
  const r = loadConfigText(yaml(text), 'test.yaml', {});
  if (!r.ok) assert.fail(formatProblems('test.yaml', r.problems));
  return r.config;
}

// The catch-all `*` comes first in the file: specificity, not config order, decides.
const withWildcards = load(`
  model_list:
    - model_name: "*"
      litellm_params: {model: openai/*}
    - model_name: gpt-4o
      litellm_params: {model: openai/gpt-4o}
      model_info: {id: gpt4o-a}
    - model_name: gpt-4o
      litellm_params: {model: azure/gpt-4o-eu, api_base: "https://eu.example.com"}
    - model_name: openai/*
      litellm_params: {model: openai/*}
    - model_name: openai/gpt-4*
      litellm_params: {model: azure/gpt-4*-deploy, api_base: "https://eu.example.com"}
    - model_name: llm-*-v*
      litellm_params: {model: hosted_vllm/*-model-*, api_base: "http://vllm:8000/v1"}
    - model_name: local
      litellm_params: {model: hosted_vllm/llama-3, api_base: "http://vllm:8000/v1"}
  router_settings:
    model_group_alias:
      gpt-4: gpt-4o
      secret: {model: local, hidden: true}
      any: openai/*
      mini: openai/gpt-4o-mini
      pinned: gpt4o-a
`);

const noCatchAll = load(`
  model_list:
    - model_name: gpt-4o
      litellm_params: {model: openai/gpt-4o}
    - model_name: openai/*
      litellm_params: {model: openai/*}
    - model_name: local
      litellm_params: {model: hosted_vllm/llama-3, api_base: "http://vllm:8000/v1"}
    - model_name: local
      litellm_params: {model: hosted_vllm/llama-3-b, api_base: "http://vllm-b:8000/v1"}
    - model_name: local-copy
      litellm_params: {model: hosted_vllm/llama-3, api_base: "http://vllm-c:8000/v1"}
  router_settings:
    model_group_alias:
      direct: hosted_vllm/llama-3-b
`);

// Wildcard groups named by provider, served through an OpenAI-compatible gateway.
const providerWildcards = load(`
  model_list:
    - model_name: anthropic/*
      litellm_params: {model: openai/*, api_base: "http://gw:4000/v1"}
    - model_name: vertex_ai/*
      litellm_params: {model: openai/*, api_base: "http://gw:4000/v1"}
    - model_name: mistral/*
      litellm_params: {model: mistral/*}
    - model_name: claude-special
      litellm_params: {model: openai/claude-special, api_base: "http://gw:4000/v1"}
`);

function idOf(cfg: ProxyConfig, model: string): string {
  const d = cfg.deployments.find((x) => x.model === model);
  assert.ok(d, model);
  return d.id;
}

const r = (group: string, reportedGroup: string, deploymentId: string | null = null, wildcardCaptures: readonly string[] | null = null): Resolved =>
  ({ group, reportedGroup, deploymentId, wildcardCaptures });

const cases: readonly { name: string; cfg: ProxyConfig; model: string; expect: Resolved | null }[] = [
  { name: 'exact group', cfg: withWildcards, model: 'gpt-4o', expect: r('gpt-4o', 'gpt-4o') },
  { name: 'exact name of a wildcard group', cfg: withWildcards, model: 'openai/*', expect: r('openai/*', 'openai/*') },
  { name: 'alias reports the alias', cfg: withWildcards, model: 'gpt-4', expect: r('gpt-4o', 'gpt-4') },
  { name: 'hidden alias still resolves', cfg: withWildcards, model: 'secret', expect: r('local', 'secret') },
  { name: 'alias to a wildcard group by name', cfg: withWildcards, model: 'any', expect: r('openai/*', 'any') },
  { name: 'alias to a name a wildcard serves', cfg: withWildcards, model: 'mini', expect: r('openai/gpt-4*', 'mini', null, ['o-mini']) },
  { name: 'alias to a deployment id', cfg: withWildcards, model: 'pinned', expect: r('gpt-4o', 'pinned', 'gpt4o-a') },
  { name: 'model_info.id', cfg: withWildcards, model: 'gpt4o-a', expect: r('gpt-4o', 'gpt-4o', 'gpt4o-a') },
  {
    name: 'hash id',
    cfg: withWildcards,
    model: idOf(withWildcards, 'azure/gpt-4o-eu'),
    expect: r('gpt-4o', 'gpt-4o', idOf(withWildcards, 'azure/gpt-4o-eu')),
  },
  { name: 'wildcard: openai/gpt-4* beats openai/* and *', cfg: withWildcards, model: 'openai/gpt-4o-mini', expect: r('openai/gpt-4*', 'openai/gpt-4o-mini', null, ['o-mini']) },
  { name: 'wildcard: openai/* beats *', cfg: withWildcards, model: 'openai/gpt-3.5-turbo', expect: r('openai/*', 'openai/gpt-3.5-turbo', null, ['gpt-3.5-turbo']) },
  { name: 'wildcard: * catches the rest', cfg: withWildcards, model: 'claude-3-haiku', expect: r('*', 'claude-3-haiku', null, ['claude-3-haiku']) },
  { name: 'wildcard: * matches the empty tail of openai/', cfg: withWildcards, model: 'openai/', expect: r('openai/*', 'openai/', null, ['']) },
  { name: 'wildcard: two stars', cfg: withWildcards, model: 'llm-foo-v2', expect: r('llm-*-v*', 'llm-foo-v2', null, ['foo', '2']) },
  // Python: re.match(r'llm\-(.*)\-v(.*)', 'llm-a-v-b-v3').groups() == ('a-v-b', '3')
  { name: 'wildcard: captures are greedy like Python', cfg: withWildcards, model: 'llm-a-v-b-v3', expect: r('llm-*-v*', 'llm-a-v-b-v3', null, ['a-v-b', '3']) },
  { name: 'wildcard: full match only (no stray suffix)', cfg: withWildcards, model: 'xllm-foo-v2', expect: r('*', 'xllm-foo-v2', null, ['xllm-foo-v2']) },
  { name: 'wildcard beats the specific-deployment fallback', cfg: withWildcards, model: 'hosted_vllm/llama-3', expect: r('*', 'hosted_vllm/llama-3', null, ['hosted_vllm/llama-3']) },
  { name: 'specific deployment by litellm model', cfg: noCatchAll, model: 'hosted_vllm/llama-3-b', expect: r('local', 'local', idOf(noCatchAll, 'hosted_vllm/llama-3-b')) },
  {
    name: 'specific deployment: the first with that model',
    cfg: noCatchAll,
    model: 'hosted_vllm/llama-3',
    expect: r('local', 'local', noCatchAll.deployments.find((d) => d.model === 'hosted_vllm/llama-3')?.id ?? ''),
  },
  { name: 'alias to a litellm model', cfg: noCatchAll, model: 'direct', expect: r('local', 'direct', idOf(noCatchAll, 'hosted_vllm/llama-3-b')) },
  { name: 'a model a wildcard serves, with its prefix', cfg: noCatchAll, model: 'openai/o3', expect: r('openai/*', 'openai/o3', null, ['o3']) },
  // LiteLLM's PatternMatchRouter retries an unmatched name as <provider>/<name>.
  { name: 'a bare name retried with its inferred provider (gpt-4o-mini → openai/gpt-4o-mini)', cfg: noCatchAll, model: 'gpt-4o-mini', expect: r('openai/*', 'gpt-4o-mini', null, ['gpt-4o-mini']) },
  { name: 'a bare claude name → anthropic/*', cfg: providerWildcards, model: 'claude-3-5-sonnet', expect: r('anthropic/*', 'claude-3-5-sonnet', null, ['claude-3-5-sonnet']) },
  { name: 'a bare gemini name → vertex_ai/* (where LiteLLM lists them)', cfg: providerWildcards, model: 'gemini-1.5-pro', expect: r('vertex_ai/*', 'gemini-1.5-pro', null, ['gemini-1.5-pro']) },
  { name: 'a bare mistral name → mistral/*', cfg: providerWildcards, model: 'mistral-large-latest', expect: r('mistral/*', 'mistral-large-latest', null, ['mistral-large-latest']) },
  { name: 'the name as sent matches first', cfg: providerWildcards, model: 'claude-special', expect: r('claude-special', 'claude-special') },
  { name: 'no provider claims the name: no retry', cfg: providerWildcards, model: 'llama-3-70b', expect: null },
  { name: 'a bare name whose provider has no wildcard group', cfg: providerWildcards, model: 'gpt-4o', expect: null },
  { name: 'unknown', cfg: noCatchAll, model: 'claude-3', expect: null },
  { name: 'empty', cfg: noCatchAll, model: '', expect: null },
  { name: 'case matters', cfg: noCatchAll, model: 'GPT-4o', expect: null },
  { name: 'inherited property names are not names', cfg: noCatchAll, model: '__proto__', expect: null },
];

for (const c of cases) {
  test(`resolve: ${c.name}`, () => {
    const names = new ModelNames(c.cfg);
    assert.deepEqual(names.resolve(c.model), c.expect);
    // Second call: from the maps or the cache, same answer.
    assert.deepEqual(names.resolve(c.model), c.expect);
  });
}

test('resolve: repeated wildcard names are answered from the cache (same object)', () => {
  const names = new ModelNames(withWildcards);
  const a = names.resolve('openai/gpt-4.1');
  assert.ok(a);
  assert.equal(names.resolve('openai/gpt-4.1'), a);
  assert.equal(names.resolve('gpt-4o'), names.resolve('gpt-4o'));
});

test('resolve: the cache is bounded and evicts without changing answers', () => {
  const names = new ModelNames(noCatchAll);
  for (let i = 0; i < 2500; i++) {
    assert.deepEqual(names.resolve(`openai/m-${i}`), r('openai/*', `openai/m-${i}`, null, [`m-${i}`]));
    assert.equal(names.resolve(`unknown-${i}`), null);
  }
  assert.deepEqual(names.resolve('openai/m-0'), r('openai/*', 'openai/m-0', null, ['m-0']));
  const long = `openai/${'x'.repeat(10_000)}`;
  assert.deepEqual(names.resolve(long)?.wildcardCaptures, ['x'.repeat(10_000)]);
  assert.deepEqual(names.resolve(long)?.wildcardCaptures, ['x'.repeat(10_000)]);
});

test('resolve: many-star patterns against long names do not backtrack', () => {
  const cfg = load(`
    model_list:
      - model_name: "*a*a*a*a*a*b"
        litellm_params: {model: openai/*}
  `);
  const names = new ModelNames(cfg);
  assert.equal(names.resolve(`${'a'.repeat(50_000)}c`), null);
  assert.deepEqual(names.resolve('aaaaab')?.wildcardCaptures, ['', '', '', '', '', '']);
  assert.deepEqual(names.resolve('xaayaaab')?.wildcardCaptures, ['x', '', 'y', '', '', '']);
});

test('resolve: equally specific patterns keep config order', () => {
  const cfg = load(`
    model_list:
      - model_name: "a-*"
        litellm_params: {model: openai/a-*}
      - model_name: "*-b"
        litellm_params: {model: openai/*-b}
  `);
  assert.equal(new ModelNames(cfg).resolve('a-b')?.group, 'a-*');
});

const substitutions: readonly { pattern: string; captures: readonly string[]; request?: string; expect: string }[] = [
  { pattern: 'openai/*', captures: ['gpt-4o'], expect: 'openai/gpt-4o' },
  { pattern: '*', captures: ['gpt-4o'], expect: 'gpt-4o' },
  { pattern: 'gpt-4*-deploy', captures: ['o-mini'], expect: 'gpt-4o-mini-deploy' },
  { pattern: '*-model-*', captures: ['foo', '2'], expect: 'foo-model-2' },
  { pattern: 'gpt-4o', captures: ['ignored'], expect: 'gpt-4o' },
  { pattern: 'a*b*c', captures: ['1'], expect: 'a1b*c' },
  { pattern: 'x*', captures: [''], expect: 'x' },
  // LiteLLM falls back to the request when there are more captures than stars.
  { pattern: 'meta.llama3*', captures: ['hello-', '-70b'], request: 'hello-meta.llama3-70b', expect: 'hello-meta.llama3-70b' },
  { pattern: 'meta.llama3*', captures: ['hello-', '-70b'], expect: 'meta.llama3hello-' },
];
for (const c of substitutions) {
  test(`substitute: ${c.pattern} + ${JSON.stringify(c.captures)} → ${c.expect}`, () => {
    assert.equal(ModelNames.substitute(c.pattern, c.captures, c.request), c.expect);
  });
}

test('substitute: into each deployment of the matched wildcard group', () => {
  const names = new ModelNames(withWildcards);
  const upstream = (model: string): string[] => {
    const res = names.resolve(model);
    assert.ok(res?.wildcardCaptures);
    const captures = res.wildcardCaptures;
    return (withWildcards.groups.get(res.group) ?? []).map((d) => ModelNames.substitute(d.upstreamModel, captures, model));
  };
  assert.deepEqual(upstream('openai/gpt-4o-mini'), ['gpt-4o-mini-deploy']);
  assert.deepEqual(upstream('openai/o3'), ['o3']);
  assert.deepEqual(upstream('claude-3'), ['claude-3']);
  assert.deepEqual(upstream('llm-foo-v2'), ['foo-model-2']);
  assert.deepEqual(upstream('mini'), ['gpt-4o-mini-deploy']);
});

test('listed: non-hidden aliases first, then groups in config order', () => {
  assert.deepEqual(new ModelNames(withWildcards).listed(), [
    'gpt-4', 'any', 'mini', 'pinned',
    '*', 'gpt-4o', 'openai/*', 'openai/gpt-4*', 'llm-*-v*', 'local',
  ]);
  assert.deepEqual(new ModelNames(noCatchAll).listed(), ['direct', 'gpt-4o', 'openai/*', 'local', 'local-copy']);
});

test('listed: no aliases, no groups', () => {
  assert.deepEqual(new ModelNames(load('model_list: []')).listed(), []);
  assert.equal(new ModelNames(load('model_list: []')).resolve('gpt-4o'), null);
});

test('config.names: built once by the loader, it resolves as a resolver built from the same config would', () => {
  const fresh = new ModelNames(withWildcards);
  assert.deepEqual(withWildcards.names.listed(), fresh.listed());
  for (const name of ['gpt-4', 'secret', 'gpt4o-a', 'openai/gpt-4o', 'llm-foo-v2', 'openai/gpt-4o-mini', 'nope']) {
    assert.deepEqual(withWildcards.names.resolve(name), fresh.resolve(name), name);
  }
  assert.throws(() => withWildcards.names.setAliases(new Map()), /already set/);
});

test('resolveUnaliased: what an alias target resolves to, never through another alias', () => {
  assert.equal(withWildcards.names.resolve('gpt-4')?.group, 'gpt-4o');
  assert.equal(withWildcards.names.resolveUnaliased('gpt-4')?.group, '*', 'without aliases, "gpt-4" only matches the catch-all');
  assert.equal(withWildcards.names.resolveUnaliased('gpt4o-a')?.deploymentId, 'gpt4o-a');
  assert.equal(withWildcards.names.resolveUnaliased('local')?.group, 'local');
  assert.equal(noCatchAll.names.resolveUnaliased('nothing-serves-this'), null);
});
