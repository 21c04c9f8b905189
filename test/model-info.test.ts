import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelGroupInfoBody, modelInfoBody } from '../src/server/model-info.js';
import { load } from './support/config.js';

const cfg = load(`
  model_list:
    - model_name: gpt-4o
      litellm_params:
        model: openai/gpt-4o
        api_key: sk-live-openai-0001-secret
        organization: org-abc
        rpm: 100
        tpm: 1000
        max_tokens: 256
        input_cost_per_token: 0.000005
        custom_note: "Bearer sk-live-openai-0001-secret"
        extra_headers: {X-Api-Token: hdr-secret-value-0002, X-Trace: trace-me-0003}
      model_info:
        id: oa-1
        max_input_tokens: 128000
        max_output_tokens: 16384
        supports_vision: true
        mode: chat
        access_groups: [beta]
    - model_name: gpt-4o
      litellm_params:
        model: azure/gpt-4o-eu
        api_base: "https://user:pw-secret-0004@eu.example.com/?api-key=url-secret-0005&x=1"
        api_key: os.environ/AZURE_KEY
        rpm: 50
        aws_secret_access_key: aws-secret-0007
        vertex_credentials: {private_key: vertex-secret-0008, project: my-project}
        client_secret: client-secret-0009
        azure_ad_token: ad-token-secret-0010
        headers: {Authorization: Bearer header-secret-0014}
        extra_body: {nested: {password: nested-secret-0011}, keep: me}
      model_info:
        max_input_tokens: 200000
        supports_function_calling: true
        input_cost_per_token: 0.000003
        output_cost_per_token: 0.00001
        webhook_token: mi-token-secret-0015
    - model_name: local
      litellm_params: {model: hosted_vllm/llama, api_base: "http://vllm:8000/v1", tpm: 5}
      model_info: {id: local-1, mode: embedding, supports_reasoning: true}
    - model_name: mocked
      litellm_params: {model: bedrock/claude, mock_response: hi, aws_access_key_id: AKIA-secret-0012}
      model_info: {id: mock-1}
    - model_name: openai/*
      litellm_params: {model: openai/*}
      model_info: {id: wild-1}
  router_settings:
    model_group_alias:
      gpt-4: gpt-4o
      hidden-4: {model: gpt-4o, hidden: true}
      l: local
  general_settings:
    master_key: sk-master-secret-0013
`, { AZURE_KEY: 'az-env-secret-0006' });

const empty = load('model_list: []');

interface Entry {
  model_name: string;
  litellm_params: Record<string, unknown>;
  model_info: Record<string, unknown>;
}

function entries(body: string): Entry[] {
  const parsed: unknown = JSON.parse(body);
  assert.ok(typeof parsed === 'object' && parsed !== null && 'data' in parsed && Array.isArray(parsed.data));
  return parsed.data as Entry[];
}

function groups(body: string): Record<string, unknown>[] {
  const parsed: unknown = JSON.parse(body);
  assert.ok(typeof parsed === 'object' && parsed !== null && 'data' in parsed && Array.isArray(parsed.data));
  return parsed.data as Record<string, unknown>[];
}

const azureId = cfg.deployments.find((d) => d.model === 'azure/gpt-4o-eu')?.id ?? '';

// --- secrets ----------------------------------------------------------------------------

const bodies: readonly { name: string; body: () => string }[] = [
  { name: '/model/info', body: () => modelInfoBody(cfg, {}).body },
  ...cfg.deployments.map((d) => ({ name: `/model/info?litellm_model_id=${d.id}`, body: () => modelInfoBody(cfg, { modelId: d.id }).body })),
  { name: '/model_group/info', body: () => modelGroupInfoBody(cfg, {}).body },
  ...['gpt-4o', 'gpt-4', 'local', 'mocked'].map((g) => ({ name: `/model_group/info?model_group=${g}`, body: () => modelGroupInfoBody(cfg, { modelGroup: g }).body })),
];

const secrets = [
  'sk-live-openai-0001-secret', 'hdr-secret-value-0002', 'trace-me-0003', 'pw-secret-0004', 'url-secret-0005',
  'az-env-secret-0006', 'aws-secret-0007', 'vertex-secret-0008', 'client-secret-0009', 'ad-token-secret-0010',
  'nested-secret-0011', 'AKIA-secret-0012', 'sk-master-secret-0013', 'header-secret-0014', 'mi-token-secret-0015',
  '"api_key"', '"extra_headers"', '"headers"', '"aws_secret_access_key"', '"aws_access_key_id"', '"vertex_credentials"',
  '"client_secret"', '"azure_ad_token"', '"password"', '"webhook_token"',
];

for (const b of bodies) {
  test(`secrets: nothing secret in ${b.name}`, () => {
    const text = b.body();
    for (const s of secrets) assert.ok(!text.includes(s), `${s} appears in ${b.name}: ${text}`);
  });
}

test('secrets: the config really holds them (the test above would pass on an empty body otherwise)', () => {
  const all = JSON.stringify(cfg.deployments.map((d) => [d.litellmParams, d.modelInfo]));
  for (const s of ['sk-live-openai-0001-secret', 'az-env-secret-0006', 'aws-secret-0007', 'vertex-secret-0008', 'trace-me-0003']) {
    assert.ok(all.includes(s), s);
  }
  assert.equal(entries(modelInfoBody(cfg, {}).body).length, 8);
});

test('secrets: what is kept — non-secret params, token counts and prices, scrubbed URL and text', () => {
  const [first] = entries(modelInfoBody(cfg, { modelId: 'oa-1' }).body);
  assert.deepEqual(first?.litellm_params, {
    model: 'openai/gpt-4o',
    organization: 'org-abc',
    rpm: 100,
    tpm: 1000,
    max_tokens: 256,
    input_cost_per_token: 0.000005,
    custom_note: 'Bearer [redacted]',
  });
  const [azure] = entries(modelInfoBody(cfg, { modelId: azureId }).body);
  assert.deepEqual(azure?.litellm_params, {
    model: 'azure/gpt-4o-eu',
    api_base: 'https://eu.example.com/?x=1',
    rpm: 50,
    extra_body: { nested: {}, keep: 'me' },
  });
});

// --- /model/info ------------------------------------------------------------------------

test('/model/info: one entry per deployment, non-hidden aliases first and repeated under the alias', () => {
  const data = entries(modelInfoBody(cfg, {}).body);
  assert.deepEqual(data.map((e) => [e.model_name, e.model_info.id]), [
    ['gpt-4', 'oa-1'], ['gpt-4', azureId],
    ['l', 'local-1'],
    ['gpt-4o', 'oa-1'], ['gpt-4o', azureId],
    ['local', 'local-1'],
    ['mocked', 'mock-1'],
    ['openai/*', 'wild-1'],
  ]);
  assert.ok(!data.some((e) => e.model_name === 'hidden-4'));
  assert.equal(modelInfoBody(cfg, {}).status, 200);
});

test('/model/info: model_info is the configured one plus id, db_model and prices from litellm_params', () => {
  const data = entries(modelInfoBody(cfg, {}).body);
  const oa = data.find((e) => e.model_name === 'gpt-4o' && e.model_info.id === 'oa-1');
  assert.deepEqual(oa?.model_info, {
    id: 'oa-1',
    db_model: false,
    max_input_tokens: 128000,
    max_output_tokens: 16384,
    supports_vision: true,
    mode: 'chat',
    access_groups: ['beta'],
    input_cost_per_token: 0.000005,
  });
  const az = data.find((e) => e.model_name === 'gpt-4o' && e.model_info.id === azureId);
  assert.deepEqual(az?.model_info, {
    id: azureId,
    db_model: false,
    max_input_tokens: 200000,
    supports_function_calling: true,
    input_cost_per_token: 0.000003,
    output_cost_per_token: 0.00001,
  });
});

const idCases: readonly { name: string; id: string; status: number; expect: string | readonly string[] }[] = [
  { name: 'configured id', id: 'oa-1', status: 200, expect: ['gpt-4o'] },
  { name: 'hash id', id: azureId, status: 200, expect: ['gpt-4o'] },
  { name: 'wildcard deployment', id: 'wild-1', status: 200, expect: ['openai/*'] },
  { name: 'unknown id', id: 'nope', status: 400, expect: '{"detail":{"error":"Model id = nope not found on litellm proxy"}}' },
  { name: 'an alias is not an id', id: 'gpt-4', status: 400, expect: '{"detail":{"error":"Model id = gpt-4 not found on litellm proxy"}}' },
  { name: 'empty id', id: '', status: 400, expect: '{"detail":{"error":"Model id =  not found on litellm proxy"}}' },
];
for (const c of idCases) {
  test(`/model/info?litellm_model_id: ${c.name}`, () => {
    const res = modelInfoBody(cfg, { modelId: c.id });
    assert.equal(res.status, c.status);
    if (typeof c.expect === 'string') assert.equal(res.body, c.expect);
    else {
      const data = entries(res.body);
      assert.deepEqual(data.map((e) => e.model_name), c.expect);
      assert.equal(data[0]?.model_info.id, c.id);
    }
  });
}

test('/model/info: an empty config lists nothing', () => {
  assert.deepEqual(modelInfoBody(empty, {}), { status: 200, body: '{"data":[]}' });
});

// --- /model_group/info ------------------------------------------------------------------

const gpt4oInfo = {
  providers: ['openai', 'azure'],
  max_input_tokens: 200000,
  max_output_tokens: 16384,
  input_cost_per_token: 0.000005,
  output_cost_per_token: 0.00001,
  mode: 'chat',
  tpm: 1000,
  rpm: 150,
  supports_function_calling: true,
  supports_vision: true,
  supports_parallel_function_calling: false,
  supports_reasoning: false,
  supports_web_search: false,
  supports_url_context: false,
  is_public_model_group: true,
};
const localInfo = {
  ...gpt4oInfo,
  providers: ['hosted_vllm'],
  max_input_tokens: null,
  max_output_tokens: null,
  input_cost_per_token: null,
  output_cost_per_token: null,
  mode: 'embedding',
  tpm: 5,
  rpm: null,
  supports_function_calling: false,
  supports_vision: false,
  supports_reasoning: true,
};
const bare = { ...localInfo, mode: 'chat', tpm: null, supports_reasoning: false };

test('/model_group/info: per non-hidden alias, then per group, with sums, maxima, ORs and providers', () => {
  const res = modelGroupInfoBody(cfg, {});
  assert.equal(res.status, 200);
  const all = groups(res.body);
  assert.deepEqual(all.slice(0, 6), [
    { model_group: 'gpt-4', ...gpt4oInfo },
    { model_group: 'l', ...localInfo },
    { model_group: 'gpt-4o', ...gpt4oInfo },
    { model_group: 'local', ...localInfo },
    { model_group: 'mocked', ...bare, providers: ['bedrock'] },
    { model_group: 'openai/*', ...bare, providers: ['openai'] },
  ]);
  // Then the models openai/* serves, from the model data (LiteLLM's get_known_models_from_wildcard).
  const expanded = all.slice(6);
  assert.ok(expanded.length > 20, `${expanded.length} models`);
  assert.ok(expanded.every((g) => typeof g.model_group === 'string' && g.model_group.startsWith('openai/') && g.model_group !== 'openai/*'));
  assert.deepEqual(expanded.find((g) => g.model_group === 'openai/gpt-4o'), {
    ...bare, model_group: 'openai/gpt-4o', providers: ['openai'], max_input_tokens: 128000, input_cost_per_token: 2.5e-6, output_cost_per_token: 10e-6,
  });
});

test('/model_group/info: the field order matches LiteLLM ModelGroupInfo', () => {
  const [first] = groups(modelGroupInfoBody(cfg, { modelGroup: 'gpt-4o' }).body);
  assert.deepEqual(Object.keys(first ?? {}), [
    'model_group', 'providers', 'max_input_tokens', 'max_output_tokens', 'input_cost_per_token', 'output_cost_per_token',
    'mode', 'tpm', 'rpm', 'supports_function_calling', 'supports_vision', 'supports_parallel_function_calling',
    'supports_reasoning', 'supports_web_search', 'supports_url_context', 'is_public_model_group',
  ]);
});

const groupFilters: readonly { name: string; group: string; expect: readonly string[] }[] = [
  { name: 'a group', group: 'gpt-4o', expect: ['gpt-4o'] },
  { name: 'a wildcard group by name', group: 'openai/*', expect: ['openai/*'] },
  { name: 'an alias', group: 'gpt-4', expect: ['gpt-4'] },
  { name: 'a hidden alias', group: 'hidden-4', expect: [] },
  { name: 'a model a provider wildcard serves (listed under it)', group: 'openai/gpt-4o', expect: ['openai/gpt-4o'] },
  { name: 'a name a wildcard serves that the model data does not list', group: 'openai/my-finetune', expect: [] },
  { name: 'an unknown name', group: 'nope', expect: [] },
  { name: 'a deployment id', group: 'oa-1', expect: [] },
];
for (const c of groupFilters) {
  test(`/model_group/info?model_group: ${c.name}`, () => {
    const res = modelGroupInfoBody(cfg, { modelGroup: c.group });
    assert.equal(res.status, 200);
    assert.deepEqual(groups(res.body).map((g) => g.model_group), c.expect);
  });
}

test('/model_group/info: an empty config lists nothing', () => {
  assert.deepEqual(modelGroupInfoBody(empty, {}), { status: 200, body: '{"data":[]}' });
  assert.deepEqual(modelGroupInfoBody(empty, { modelGroup: 'x' }), { status: 200, body: '{"data":[]}' });
});

test('/model_group/info: mode defaults to chat; the last deployment that sets it wins; costs may be strings', () => {
  const c = load(`
    model_list:
      - model_name: m
        litellm_params: {model: openai/a, rpm: 0}
        model_info: {mode: completion, max_tokens: 100, input_cost_per_token: "0.5"}
      - model_name: m
        litellm_params: {model: openai/b}
        model_info: {mode: chat, max_output_tokens: 50}
      - model_name: m
        litellm_params: {model: gpt-4o}
  `);
  const [g] = groups(modelGroupInfoBody(c, {}).body);
  assert.equal(g?.mode, 'chat');
  assert.equal(g?.max_output_tokens, 100);
  assert.equal(g?.input_cost_per_token, 0.5);
  assert.equal(g?.rpm, 0);
  assert.deepEqual(g?.providers, ['openai']);
});

test('bodies are stable across calls (built once per config)', () => {
  assert.equal(modelInfoBody(cfg, {}).body, modelInfoBody(cfg, {}).body);
  assert.equal(modelGroupInfoBody(cfg, {}).body, modelGroupInfoBody(cfg, {}).body);
});
