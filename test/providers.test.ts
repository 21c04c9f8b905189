import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AZURE_DEFAULT_API_VERSION, buildTarget, resolveProvider, type TargetParams } from '../src/providers/index.js';
import { spliceUpstreamBody } from '../src/providers/upstream-body.js';

const resolveCases = [
  { model: 'openai/gpt-4o', family: 'openai', upstream: 'gpt-4o' },
  { model: 'gpt-4o', family: 'openai', upstream: 'gpt-4o' },
  { model: 'text-embedding-3-small', family: 'openai', upstream: 'text-embedding-3-small' },
  { model: 'azure/my-dep', family: 'azure', upstream: 'my-dep' },
  { model: 'hosted_vllm/meta-llama/Llama-3-8B', family: 'openai-compatible', upstream: 'meta-llama/Llama-3-8B' },
  { model: 'groq/llama3-70b-8192', family: 'openai-compatible', upstream: 'llama3-70b-8192' },
  { model: 'openai/lbl/command-r-plus', family: 'openai', upstream: 'lbl/command-r-plus' },
] as const;
for (const c of resolveCases) {
  test(`resolveProvider: ${c.model}`, () => {
    const r = resolveProvider(c.model);
    assert.ok(r.ok);
    assert.equal(r.family, c.family);
    assert.equal(r.upstreamModel, c.upstream);
  });
}

for (const model of ['bedrock/anthropic.claude-v2', 'claude-3-haiku-20240307', 'azure/', 'sagemaker/x']) {
  test(`resolveProvider refuses ${model} with a reason`, () => {
    const r = resolveProvider(model);
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(r.reason.length > 10);
  });
}

const base: TargetParams = { family: 'openai', upstreamModel: 'gpt-4o', apiBase: 'https://api.openai.com/v1/', apiKey: 'sk-1', apiVersion: null, extraHeaders: {} };
const targetCases: Array<{ name: string; p: Partial<TargetParams>; endpoint: 'chat' | 'completions' | 'embeddings'; url: string; headers: string[] }> = [
  { name: 'openai chat', p: {}, endpoint: 'chat', url: 'https://api.openai.com/v1/chat/completions', headers: ['authorization', 'Bearer sk-1'] },
  { name: 'openai embeddings', p: {}, endpoint: 'embeddings', url: 'https://api.openai.com/v1/embeddings', headers: ['authorization', 'Bearer sk-1'] },
  { name: 'no key, no auth header', p: { apiKey: null, apiBase: 'http://vllm:8000/v1' }, endpoint: 'completions', url: 'http://vllm:8000/v1/completions', headers: [] },
  {
    name: 'azure deployment URL with default version',
    p: { family: 'azure', upstreamModel: 'gpt4-eu', apiBase: 'https://eu.openai.azure.com/', apiKey: 'az' },
    endpoint: 'chat',
    url: `https://eu.openai.azure.com/openai/deployments/gpt4-eu/chat/completions?api-version=${AZURE_DEFAULT_API_VERSION}`,
    headers: ['api-key', 'az'],
  },
  {
    name: 'azure v1 API',
    p: { family: 'azure', upstreamModel: 'gpt4-eu', apiBase: 'https://eu.openai.azure.com', apiKey: 'az', apiVersion: 'v1' },
    endpoint: 'embeddings',
    url: 'https://eu.openai.azure.com/openai/v1/embeddings',
    headers: ['api-key', 'az'],
  },
  {
    name: 'azure base that already names the deployment',
    p: { family: 'azure', upstreamModel: 'x', apiBase: 'https://eu.openai.azure.com/openai/deployments/real', apiKey: 'az', apiVersion: '2024-10-21' },
    endpoint: 'chat',
    url: 'https://eu.openai.azure.com/openai/deployments/real/chat/completions?api-version=2024-10-21',
    headers: ['api-key', 'az'],
  },
  { name: 'extra headers', p: { extraHeaders: { 'OpenAI-Organization': 'org-1' } }, endpoint: 'chat', url: 'https://api.openai.com/v1/chat/completions', headers: ['authorization', 'Bearer sk-1', 'openai-organization', 'org-1'] },
];
for (const c of targetCases) {
  test(`buildTarget: ${c.name}`, () => {
    const t = buildTarget({ ...base, ...c.p }, c.endpoint);
    assert.equal(t.url, c.url);
    assert.deepEqual(t.headers, ['content-type', 'application/json', ...c.headers]);
  });
}

test('spliceUpstreamBody: model rewritten, defaults fill gaps, proxy-only keys dropped, the rest byte for byte', () => {
  const client = '{ "model" : "group", "temperature":1,"messages":[ {"role":"user","content":"a \\"quoted\\" \u00e9 ✓"} ],\n"mock_response":"x", "num_retries":3,"metadata":{"a":[1,2]} }';
  const out = Buffer.from(spliceUpstreamBody(new TextEncoder().encode(client), null, 'gpt-4o', { temperature: 0.1, max_tokens: 20 }, (n) => new Uint8Array(n))).toString('utf8');
  assert.deepEqual(JSON.parse(out), { model: 'gpt-4o', temperature: 1, messages: [{ role: 'user', content: 'a "quoted" é ✓' }], max_tokens: 20 });
  assert.ok(out.includes('"messages":[ {"role":"user","content":"a \\"quoted\\" \u00e9 ✓"} ]'), out);
});

test('spliceUpstreamBody: a body whose only member is dropped, and duplicate model keys', () => {
  const out = (s: string): unknown => JSON.parse(Buffer.from(spliceUpstreamBody(new TextEncoder().encode(s), null, 'up', null, (n) => new Uint8Array(n))).toString('utf8'));
  assert.deepEqual(out('{}'), { model: 'up' });
  assert.deepEqual(out('{"model":"a","model":"b","fallbacks":["x"]}'), { model: 'up' });
  // A key given twice goes once, with the last value (the one the proxy read).
  const twice = Buffer.from(spliceUpstreamBody(new TextEncoder().encode('{"messages":[1,2,3],"t":1,"messages":[4]}'), null, 'up', null, (n) => new Uint8Array(n))).toString('utf8');
  assert.equal(twice, '{"model":"up","t":1,"messages":[4]}');
});
