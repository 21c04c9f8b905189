import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, problems } from './support/config.js';

test('organization list: one deployment per org, same id (hashed over the list, as LiteLLM), each with its own header', () => {
  const cfg = load(`
    model_list:
      - model_name: gpt-4o
        litellm_params:
          model: openai/gpt-4o
          api_key: sk-x
          organization: [org-1, org-2, org-3]
  `);
  const ds = cfg.groups.get('gpt-4o') ?? [];
  assert.equal(ds.length, 3);
  assert.equal(cfg.deployments.length, 3);
  // Python: sha256("gpt-4o" + "model" + "openai/gpt-4o" + "api_key" + "sk-x" + "organization" + "['org-1', 'org-2', 'org-3']")
  const id = '47831426cfb4e7ca17c58879b8d61a02cc0e8253f3d241cbf7b15f6ba650cb8e';
  assert.deepEqual(ds.map((d) => d.id), [id, id, id]);
  assert.deepEqual(ds.map((d) => d.extraHeaders['OpenAI-Organization']), ['org-1', 'org-2', 'org-3']);
  assert.deepEqual(ds.map((d) => d.litellmParams.organization), ['org-1', 'org-2', 'org-3']);
  assert.deepEqual(ds.map((d) => d.index), [0, 0, 0]);
  assert.ok(!cfg.warnings.some((w) => w.includes('organization') || w.includes('also used by')), cfg.warnings.join('\n'));
});

test('organization list: an explicit OpenAI-Organization in extra_headers wins for every twin', () => {
  const cfg = load(`
    model_list:
      - model_name: g
        litellm_params:
          model: openai/g
          organization: [org-1, org-2]
          extra_headers: {openai-organization: org-fixed}
  `);
  assert.deepEqual(cfg.deployments.map((d) => d.extraHeaders), [{ 'openai-organization': 'org-fixed' }, { 'openai-organization': 'org-fixed' }]);
});

test('organization: a single string still makes one deployment', () => {
  const cfg = load('model_list:\n  - {model_name: g, litellm_params: {model: openai/g, organization: org-9}}\n');
  assert.equal(cfg.deployments.length, 1);
  assert.equal(cfg.deployments[0]?.extraHeaders['OpenAI-Organization'], 'org-9');
});

test('organization list refused: empty, or an item that is not a non-empty string', () => {
  const [a, ...ra] = problems('model_list:\n  - {model_name: g, litellm_params: {model: openai/g, organization: []}}\n');
  assert.equal(ra.length, 0);
  assert.equal(a?.path, 'model_list[0].litellm_params.organization');
  assert.match(a?.message ?? '', /at least one organization/);
  const [b, ...rb] = problems('model_list:\n  - {model_name: g, litellm_params: {model: openai/g, organization: [org-1, 7]}}\n');
  assert.equal(rb.length, 0);
  assert.equal(b?.path, 'model_list[0].litellm_params.organization[1]');
  assert.equal(b?.message, 'must be a non-empty string, got 7');
});
