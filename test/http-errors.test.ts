/**
 * The front end's answers to bad input, over raw HTTP: each is an OpenAI-style error with the
 * right status, and none takes the process down.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { RunningProxy } from '../src/index.js';
import { http, post, startTestProxy } from './support/proxy.js';

function assertEnvelope(json: unknown, status: number): { message: string; type: string; param: unknown; code: unknown } {
  assert.ok(json !== null && typeof json === 'object' && 'error' in json, `expected an error envelope, got ${JSON.stringify(json)}`);
  const e = (json as { error: { message: string; type: string; param: unknown; code: unknown } }).error;
  assert.equal(typeof e.message, 'string');
  assert.equal(typeof e.type, 'string');
  assert.ok('param' in e);
  assert.equal(e.code, String(status));
  return e;
}

const chat = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

describe('bad input gets a clear error', () => {
  let proxy: RunningProxy;
  before(async () => {
    proxy = await startTestProxy(`
model_list:
  - model_name: m
    litellm_params: { model: openai/x, mock_response: "ok" }
general_settings:
  max_request_size_mb: 0.001
`);
  });
  after(() => proxy.close());

  const cases: Array<{ name: string; body: unknown; status: number; param?: string; message: RegExp }> = [
    { name: 'malformed JSON', body: '{"model": "m", ', status: 400, message: /not valid JSON/ },
    { name: 'a JSON array', body: '[1,2]', status: 400, message: /JSON object/ },
    { name: 'missing model', body: { messages: chat.messages }, status: 400, param: 'model', message: /model/ },
    { name: 'missing messages', body: { model: 'm' }, status: 400, param: 'messages', message: /messages/ },
    { name: 'empty messages', body: { model: 'm', messages: [] }, status: 400, param: 'messages', message: /messages/ },
    { name: 'non-boolean stream', body: { ...chat, stream: 'yes' }, status: 400, param: 'stream', message: /stream/ },
    { name: 'unknown model', body: { ...chat, model: 'other' }, status: 400, param: 'model', message: /model=other.*Available models: m/ },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status}`, async () => {
      const res = await post(`${proxy.url}/v1/chat/completions`, c.body);
      assert.equal(res.status, c.status);
      const e = assertEnvelope(res.json, c.status);
      assert.match(e.message, c.message);
      if (c.param) assert.equal(e.param, c.param);
    });
  }

  test('completions without prompt and embeddings without input → 400', async () => {
    const a = await post(`${proxy.url}/v1/completions`, { model: 'm' });
    assert.equal(assertEnvelope(a.json, 400).param, 'prompt');
    const b = await post(`${proxy.url}/v1/embeddings`, { model: 'm' });
    assert.equal(assertEnvelope(b.json, 400).param, 'input');
  });

  test('body over the limit (declared) → 413 without reading it', async () => {
    const res = await post(`${proxy.url}/v1/chat/completions`, { ...chat, pad: 'x'.repeat(5000) });
    assert.equal(res.status, 413);
    assert.match(assertEnvelope(res.json, 413).message, /limit/);
  });

  test('body over the limit (chunked, no content-length) → 413', async () => {
    const u = new URL(`${proxy.url}/v1/chat/completions`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 5; i++) req.write('x'.repeat(400));
      req.end();
    });
    assert.equal(status, 413);
  });

  test('unknown route → 404, wrong method → 405', async () => {
    const a = await http(`${proxy.url}/v1/nothing-here`);
    assert.equal(a.status, 404);
    assertEnvelope(a.json, 404);
    const b = await http(`${proxy.url}/v1/chat/completions`);
    assert.equal(b.status, 405);
    assert.equal(b.headers.get('allow'), 'POST');
    assertEnvelope(b.json, 405);
    const c = await post(`${proxy.url}/v1/models`, {});
    assert.equal(c.status, 405);
  });

  test('health: liveliness and readiness need no auth', async () => {
    const a = await http(`${proxy.url}/health/liveliness`);
    assert.equal(a.status, 200);
    assert.equal(a.json, "I'm alive!");
    const b = await http(`${proxy.url}/health/readiness`);
    assert.equal(b.status, 200);
    assert.equal((b.json as { status: string }).status, 'healthy');
  });

  test('the Azure-style path takes the model from the path', async () => {
    const res = await post(`${proxy.url}/openai/deployments/m/chat/completions?api-version=2024-10-21`, { messages: chat.messages });
    assert.equal(res.status, 200);
    assert.equal((res.json as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content, 'ok');
  });

  test('the server still answers after all of that', async () => {
    const res = await post(`${proxy.url}/v1/chat/completions`, chat);
    assert.equal(res.status, 200);
  });
});

describe('master key', () => {
  let proxy: RunningProxy;
  before(async () => {
    proxy = await startTestProxy(
      `
model_list:
  - model_name: m
    litellm_params: { model: openai/x, mock_response: "ok" }
general_settings:
  master_key: os.environ/TEST_MASTER_KEY
`,
      { env: { TEST_MASTER_KEY: 'sk-master-123' } },
    );
  });
  after(() => proxy.close());

  const cases: Array<{ name: string; headers: Record<string, string>; status: number }> = [
    { name: 'no key', headers: {}, status: 401 },
    { name: 'wrong bearer', headers: { authorization: 'Bearer sk-master-12' }, status: 401 },
    { name: 'right bearer', headers: { authorization: 'Bearer sk-master-123' }, status: 200 },
    { name: 'x-api-key', headers: { 'x-api-key': 'sk-master-123' }, status: 200 },
    { name: 'api-key', headers: { 'api-key': 'sk-master-123' }, status: 200 },
    { name: 'wrong x-api-key', headers: { 'x-api-key': 'nope' }, status: 401 },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status}`, async () => {
      const res = await post(`${proxy.url}/v1/chat/completions`, chat, c.headers);
      assert.equal(res.status, c.status);
      if (c.status === 401) {
        const e = assertEnvelope(res.json, 401);
        assert.doesNotMatch(res.text, /sk-master-123/);
        assert.match(e.message, /Authentication Error/);
      }
    });
  }

  test('models list needs the key too; health does not', async () => {
    assert.equal((await http(`${proxy.url}/v1/models`)).status, 401);
    assert.equal((await http(`${proxy.url}/v1/models`, { headers: { authorization: 'Bearer sk-master-123' } })).status, 200);
    assert.equal((await http(`${proxy.url}/health/readiness`)).status, 200);
  });
});
