import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatProblems, implementedSettings, loadConfigFile, loadConfigText } from '../src/config/load.js';
import { load, problems, yaml } from './support/config.js';


/** Lines 1-13; the alias mapping starts on line 15, so its first alias is on line 15. */
const models = `
  model_list:
    - model_name: gpt-4o
      litellm_params: {model: openai/gpt-4o, api_key: sk-alias-test-secret-1}
    - model_name: gpt-4o
      litellm_params: {model: azure/gpt-4o-eu, api_base: "https://eu.example.com", api_key: az-alias-secret-2}
      model_info: {id: eu-1}
    - model_name: openai/*
      litellm_params: {model: openai/*}
    - model_name: claude-3
      litellm_params: {model: anthropic/claude-3-haiku}
    - model_name: local
      litellm_params: {model: hosted_vllm/llama, api_base: "http://vllm:8000/v1"}
  router_settings:
    model_group_alias:`;

function withAliases(lines: string): string {
  return `${models}\n${lines.split('\n').map((l) => `      ${l}`).join('\n')}\n`;
}

// --- accepted ---------------------------------------------------------------------------

const accepted: readonly { name: string; alias: string; expect: { group: string; hidden: boolean } }[] = [
  { name: 'string form', alias: 'gpt-4: gpt-4o', expect: { group: 'gpt-4o', hidden: false } },
  { name: 'mapping, hidden', alias: 'gpt-4: {model: gpt-4o, hidden: true}', expect: { group: 'gpt-4o', hidden: true } },
  { name: 'mapping, hidden false', alias: 'gpt-4: {model: gpt-4o, hidden: false}', expect: { group: 'gpt-4o', hidden: false } },
  { name: 'mapping, hidden absent', alias: 'gpt-4: {model: gpt-4o}', expect: { group: 'gpt-4o', hidden: false } },
  { name: 'a wildcard group by its name', alias: 'any-openai: openai/*', expect: { group: 'openai/*', hidden: false } },
  { name: 'a name a wildcard group serves', alias: 'mini: openai/gpt-4o-mini', expect: { group: 'openai/gpt-4o-mini', hidden: false } },
  { name: 'a deployment id', alias: 'eu: eu-1', expect: { group: 'eu-1', hidden: false } },
  { name: 'a deployment litellm model', alias: 'eu-direct: azure/gpt-4o-eu', expect: { group: 'azure/gpt-4o-eu', hidden: false } },
  { name: 'an alias named like a skipped group', alias: 'claude-3: local', expect: { group: 'local', hidden: false } },
];
for (const c of accepted) {
  test(`aliases: ${c.name}`, () => {
    const cfg = load(withAliases(c.alias));
    const alias = c.alias.slice(0, c.alias.indexOf(':'));
    assert.deepEqual(cfg.aliases.get(alias), c.expect);
    assert.equal(cfg.aliases.size, 1);
  });
}

test('aliases: implemented, so no "not implemented" warning; config order kept', () => {
  assert.ok(implementedSettings.router_settings.includes('model_group_alias'));
  const cfg = load(withAliases('b: gpt-4o\na: {model: local, hidden: true}\nc: openai/*'));
  assert.deepEqual([...cfg.aliases.keys()], ['b', 'a', 'c']);
  assert.ok(!cfg.warnings.some((w) => w.includes('model_group_alias: not implemented')), cfg.warnings.join('\n'));
});

test('aliases: absent, null or empty give an empty map', () => {
  assert.equal(load('model_list: []').aliases.size, 0);
  assert.equal(load('router_settings:\n  model_group_alias:\n').aliases.size, 0);
  assert.equal(load('router_settings:\n  model_group_alias: {}\n').aliases.size, 0);
});

test('aliases: the loaded map is frozen', () => {
  const cfg = load(withAliases('gpt-4: gpt-4o'));
  const map = cfg.aliases as Map<string, { group: string; hidden: boolean }>;
  assert.throws(() => map.set('x', { group: 'gpt-4o', hidden: false }), TypeError);
  assert.ok(Object.isFrozen(cfg.aliases.get('gpt-4')));
});

// --- warnings ---------------------------------------------------------------------------

test('aliases: pointing to a group whose deployments were all skipped warns and drops the alias', () => {
  const cfg = load(withAliases('gpt-4: gpt-4o\nhaiku: claude-3'));
  assert.deepEqual([...cfg.aliases.keys()], ['gpt-4']);
  assert.ok(cfg.warnings.includes(
    'router_settings.model_group_alias.haiku (line 16): points to group "claude-3", whose deployments were all skipped; alias ignored',
  ), cfg.warnings.join('\n'));
});

const missing: readonly { name: string; alias: string; dropped: string; warning: string }[] = [
  {
    name: 'close to a real one',
    // Not a bare model name: `gpt-4` would still route, through openai/* as openai/gpt-4.
    alias: 'four: gpt4o',
    dropped: 'four',
    warning: 'router_settings.model_group_alias.four (line 15): points to group "gpt4o", which no deployment defines (did you mean "gpt-4o"?); alias ignored',
  },
  {
    name: 'nothing close',
    alias: 'fast: mixtral-8x22b-instruct',
    dropped: 'fast',
    warning: 'router_settings.model_group_alias.fast (line 15): points to group "mixtral-8x22b-instruct", which no deployment defines; alias ignored',
  },
  {
    name: 'under the mapping form',
    alias: 'ok: gpt-4o\nsecret: {model: gtp-4o, hidden: true}',
    dropped: 'secret',
    warning: 'router_settings.model_group_alias.secret (line 16): points to group "gtp-4o", which no deployment defines (did you mean "gpt-4o"?); alias ignored',
  },
];
for (const c of missing) {
  test(`aliases: a target no deployment defines warns once and drops the alias (LiteLLM starts too), ${c.name}`, () => {
    const cfg = load(withAliases(c.alias));
    assert.ok(!cfg.aliases.has(c.dropped), `${c.dropped} dropped`);
    assert.equal(cfg.names.resolve(c.dropped), null, 'the dropped alias does not route');
    const aliasWarnings = cfg.warnings.filter((w) => w.includes('model_group_alias'));
    assert.deepEqual(aliasWarnings, [c.warning]);
  });
}

test('aliases: unknown keys in the mapping form warn', () => {
  const cfg = load(withAliases('gpt-4: {model: gpt-4o, hiden: true}'));
  assert.deepEqual(cfg.aliases.get('gpt-4'), { group: 'gpt-4o', hidden: false });
  assert.ok(cfg.warnings.some((w) => w.startsWith('router_settings.model_group_alias.gpt-4.hiden (line 15): unknown key')), cfg.warnings.join('\n'));
});

test('aliases: a wildcard in the alias name warns that it matches only literally', () => {
  const cfg = load(withAliases('"gpt-*": gpt-4o'));
  assert.ok(cfg.aliases.has('gpt-*'));
  assert.ok(cfg.warnings.some((w) => w.includes('wildcard aliases are not implemented')), cfg.warnings.join('\n'));
});

// --- problems ---------------------------------------------------------------------------

const refused: readonly { name: string; alias: string; path: string; line: number; message: string | RegExp }[] = [
  {
    name: 'alias equal to a group name',
    alias: 'local: gpt-4o',
    path: 'router_settings.model_group_alias.local',
    line: 15,
    message: '"local" is already a model group; an alias cannot shadow it (rename the alias or the group)',
  },
  {
    name: 'alias to an alias',
    alias: 'a: gpt-4o\nb: a',
    path: 'router_settings.model_group_alias.b',
    line: 16,
    message: 'points to "a", which is itself an alias; aliases do not chain; point it at "gpt-4o" instead',
  },
  { name: 'a number', alias: 'gpt-4: 4', path: 'router_settings.model_group_alias.gpt-4', line: 15, message: /must name a model group, or be a mapping .*; got 4$/ },
  { name: 'an empty string', alias: 'gpt-4: ""', path: 'router_settings.model_group_alias.gpt-4', line: 15, message: /must name a model group.*; got ""$/ },
  { name: 'null', alias: 'gpt-4:', path: 'router_settings.model_group_alias.gpt-4', line: 15, message: /must name a model group.*; got nothing$/ },
  { name: 'a list', alias: 'gpt-4: [gpt-4o]', path: 'router_settings.model_group_alias.gpt-4', line: 15, message: /got a list$/ },
  { name: 'mapping without model', alias: 'gpt-4: {hidden: true}', path: 'router_settings.model_group_alias.gpt-4.model', line: 15, message: /is required/ },
  { name: 'mapping with a list model', alias: 'gpt-4: {model: [gpt-4o]}', path: 'router_settings.model_group_alias.gpt-4.model', line: 15, message: 'must be a non-empty string, got a list' },
  { name: 'hidden not a boolean', alias: 'gpt-4: {model: gpt-4o, hidden: "maybe"}', path: 'router_settings.model_group_alias.gpt-4.hidden', line: 15, message: 'must be true or false, got "maybe"' },
];
for (const c of refused) {
  test(`aliases refused: ${c.name}`, () => {
    const ps = problems(withAliases(c.alias));
    assert.equal(ps.length, 1, JSON.stringify(ps));
    const [p] = ps;
    assert.equal(p?.path, c.path);
    assert.equal(p?.line, c.line);
    if (typeof c.message === 'string') assert.equal(p?.message, c.message);
    else assert.match(p?.message ?? '', c.message);
  });
}

test('aliases refused: model_group_alias not a mapping', () => {
  for (const [value, got] of [['gpt-4', '"gpt-4"'], ['[a, b]', 'a list'], ['3', '3']] as const) {
    const [p, ...rest] = problems(`router_settings:\n  model_group_alias: ${value}\n`);
    assert.equal(rest.length, 0);
    assert.equal(p?.path, 'router_settings.model_group_alias');
    assert.equal(p?.line, 2);
    assert.equal(p?.message, `must be a mapping of alias: model group (or alias: {model: <group>, hidden: true}), got ${got}`);
  }
});

test('aliases refused: an alias target from an unset environment variable names the variable', () => {
  const ps = problems(withAliases('gpt-4: os.environ/ALIAS_TARGET'));
  assert.equal(ps[0]?.message, 'must name a model group, or be a mapping {model: <group>, hidden: true|false}; got environment variable ALIAS_TARGET, which is not set');
});

test('aliases refused: every alias problem at once, in reading order, with the other problems', () => {
  const text = yaml(withAliases('gpt-4: [gpt4o]\nlocal: gpt-4o\nok: gpt-4o\nx: {model: 4}')).replace('model: openai/*}', 'model: openai/*, rpm: six}');
  const r = loadConfigText(text, 'config.yaml', {});
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(formatProblems('config.yaml', r.problems), [
    'config.yaml: 4 problems',
    '  model_list[2].litellm_params.rpm (line 8): must be a non-negative integer, got "six"',
    '  router_settings.model_group_alias.gpt-4 (line 15): must name a model group, or be a mapping {model: <group>, hidden: true|false}; got a list',
    '  router_settings.model_group_alias.local (line 16): "local" is already a model group; an alias cannot shadow it (rename the alias or the group)',
    '  router_settings.model_group_alias.x.model (line 18): must be a non-empty string, got 4',
  ].join('\n'));
  assert.ok(!formatProblems('config.yaml', r.problems).includes('alias-test-secret'));
});

test('aliases: the example from DESIGN.md loads with one warning', () => {
  const cfg = load(`
    model_list:
      - model_name: gpt-4
        litellm_params: {model: openai/gpt-4}
    router_settings:
      model_group_alias:
        gpt-4-turbo: gpt4
  `);
  assert.equal(cfg.aliases.size, 0);
  assert.deepEqual(cfg.warnings.filter((w) => w.includes('model_group_alias')), [
    'router_settings.model_group_alias.gpt-4-turbo (line 6): points to group "gpt4", which no deployment defines (did you mean "gpt-4"?); alias ignored',
  ]);
});

// --- the LiteLLM-shaped fixture config --------------------------------------------------

const proxyServerConfig = fileURLToPath(new URL('../../test/fixtures/litellm/proxy-server.yaml', import.meta.url));

test('compat: proxy-server.yaml loads with its alias to echo-2', () => {
  const r = loadConfigFile(proxyServerConfig, {});
  if (!r.ok) assert.fail(formatProblems('proxy-server.yaml', r.problems));
  assert.deepEqual([...r.config.aliases], [['echo-alias', { group: 'echo-2', hidden: false }]]);
  assert.ok(!r.config.warnings.some((w) => w.includes('model_group_alias')), r.config.warnings.join('\n'));
});

test('compat: the same config still loads when the aliased group was skipped (warning instead)', () => {
  // echo-2 is served here; point the alias at the sagemaker group, which we skip.
  const original = readFileSync(proxyServerConfig, 'utf8');
  const text = original.replace('"echo-alias": "echo-2"', '"echo-alias": "sagemaker-llama"');
  assert.notEqual(text, original, 'the fixture still holds the alias this test rewrites');
  const r = loadConfigText(text, 'proxy-server.yaml', {});
  if (!r.ok) assert.fail(formatProblems('proxy-server.yaml', r.problems));
  assert.equal(r.config.aliases.size, 0);
  assert.ok(r.config.warnings.includes(
    'router_settings.model_group_alias.echo-alias (line 166): points to group "sagemaker-llama", whose deployments were all skipped; alias ignored',
  ), r.config.warnings.join('\n'));
});

test('compat: an alias to a group whose only deployment lacks its api_base still loads', () => {
  // Azure without api_base is skipped at load, so the group exists in the file but not in the config.
  const cfg = load(`
    model_list:
      - model_name: realtime
        litellm_params: {model: azure/gpt-4o-realtime, api_key: os.environ/AZURE_API_KEY}
      - model_name: gpt-4o
        litellm_params: {model: openai/gpt-4o}
    router_settings:
      model_group_alias: {"rt": "realtime", "four": "gpt-4o"}
  `);
  assert.deepEqual([...cfg.aliases.keys()], ['four']);
  assert.ok(cfg.warnings.some((w) => w.startsWith('router_settings.model_group_alias.rt (line 7): points to group "realtime"')), cfg.warnings.join('\n'));
});
