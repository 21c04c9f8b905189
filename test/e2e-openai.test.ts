/**
 * End to end through the official `openai` client: the real proxy (pool and inline dispatch)
 * in front of recording mock upstreams. Asserts what the client saw and what the upstream got.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { RunningProxy } from '../src/index.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { dispatchModes, startTestProxy } from './support/proxy.js';

for (const mode of dispatchModes) {
  describe(`openai client through the proxy (${mode.label} dispatch)`, () => {
    let upstream: MockUpstream;
    let azure: MockUpstream;
    let proxy: RunningProxy;
    let client: OpenAI;

    before(async () => {
      upstream = await startMockUpstream();
      azure = await startMockUpstream();
      proxy = await startTestProxy(
        `
model_list:
  - model_name: team-gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream.url}/v1
      api_key: sk-upstream-secret-1
      temperature: 0.3
    model_info: { id: openai-dep }
  - model_name: azure-gpt
    litellm_params:
      model: azure/my-deployment
      api_base: ${azure.url}
      api_key: azure-secret-2
      api_version: "2024-10-21"
    model_info: { id: azure-dep }
  - model_name: embedder
    litellm_params:
      model: openai/text-embedding-3-small
      api_base: ${upstream.url}/v1
      api_key: sk-upstream-secret-1
  - model_name: mocked
    litellm_params:
      model: openai/gpt-4o
      mock_response: "This is a mock answer"
`,
        { workers: mode.workers },
      );
      client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    });

    after(async () => {
      await proxy.close();
      await upstream.close();
      await azure.close();
    });

    test('chat completion: rewritten model and auth upstream, restamped model and routing headers back', async () => {
      upstream.reset();
      const { data, response } = await client.chat.completions
        .create({ model: 'team-gpt', messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      assert.equal(data.choices[0]?.message.content, 'Hello from mock');
      assert.equal(data.model, 'team-gpt');
      assert.equal(response.headers.get('x-litellm-model-id'), 'openai-dep');
      assert.equal(response.headers.get('x-litellm-model-group'), 'team-gpt');
      assert.equal(response.headers.get('x-litellm-model-api-base'), `${upstream.url}/v1`);
      assert.equal(upstream.requests.length, 1);
      const got = upstream.requests[0]!;
      assert.equal(got.path, '/v1/chat/completions');
      assert.equal(got.headers.authorization, 'Bearer sk-upstream-secret-1');
      const body = got.body as Record<string, unknown>;
      assert.equal(body.model, 'gpt-4o-mini');
      assert.equal(body.temperature, 0.3, 'litellm_params body defaults are applied');
      assert.deepEqual(body.messages, [{ role: 'user', content: 'hi' }]);
    });

    test('a request parameter overrides the deployment default', async () => {
      upstream.reset();
      await client.chat.completions.create({ model: 'team-gpt', temperature: 0.9, messages: [{ role: 'user', content: 'x' }] });
      assert.equal((upstream.requests[0]!.body as Record<string, unknown>).temperature, 0.9);
    });

    test('streaming: chunks relayed in order, restamped, ending cleanly', async () => {
      upstream.reset();
      upstream.setBehavior({ kind: 'stream', chunks: 5 });
      const stream = await client.chat.completions.create({
        model: 'team-gpt',
        messages: [{ role: 'user', content: 'count' }],
        stream: true,
      });
      let text = '';
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        assert.equal(chunk.model, 'team-gpt');
        text += chunk.choices[0]?.delta?.content ?? '';
      }
      assert.equal(text, 'tok0 tok1 tok2 tok3 tok4 ');
      assert.ok(chunks >= 6, `expected at least 6 chunks, got ${chunks}`);
      assert.equal((upstream.requests[0]!.body as Record<string, unknown>).stream, true);
      upstream.reset();
    });

    test('azure: deployment URL, api-version and api-key header', async () => {
      azure.reset();
      const res = await client.chat.completions.create({ model: 'azure-gpt', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(res.model, 'azure-gpt');
      const got = azure.requests[0]!;
      assert.equal(got.path, '/openai/deployments/my-deployment/chat/completions');
      assert.equal(got.query.get('api-version'), '2024-10-21');
      assert.equal(got.headers['api-key'], 'azure-secret-2');
      assert.equal(got.headers.authorization, undefined);
    });

    test('embeddings and legacy completions', async () => {
      upstream.reset();
      const emb = await client.embeddings.create({ model: 'embedder', input: ['a', 'b'] });
      assert.equal(emb.data.length, 2);
      assert.equal(upstream.requests[0]!.path, '/v1/embeddings');
      assert.equal((upstream.requests[0]!.body as Record<string, unknown>).model, 'text-embedding-3-small');
      const cmpl = await client.completions.create({ model: 'team-gpt', prompt: 'Say hi' });
      assert.equal(typeof cmpl.choices[0]?.text, 'string');
      assert.equal(upstream.requests[1]!.path, '/v1/completions');
    });

    test('mock_response deployment answers in-process, with usage, stream and non-stream', async () => {
      const res = await client.chat.completions.create({ model: 'mocked', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(res.choices[0]?.message.content, 'This is a mock answer');
      const { response } = await client.chat.completions.create({ model: 'mocked', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
      assert.equal(response.headers.get('x-litellm-model-api-base'), 'https://api.openai.com/v1', 'a mock names the base it stands in for');
      assert.equal(response.headers.get('x-litellm-model-group'), 'mocked');
      assert.ok(response.headers.get('x-litellm-model-id'));
      assert.deepEqual(res.usage, { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 });
      const stream = await client.chat.completions.create({ model: 'mocked', messages: [{ role: 'user', content: 'hi' }], stream: true });
      const parts: string[] = [];
      for await (const c of stream) parts.push(c.choices[0]?.delta?.content ?? '');
      assert.equal(parts.join(''), 'This is a mock answer');
      assert.ok(parts.filter((p) => p !== '').every((p) => p.length <= 3), 'mock streams in 3-character deltas, like LiteLLM');
    });

    test('upstream error status and message reach the client in the OpenAI envelope', async () => {
      upstream.reset();
      upstream.setBehavior({ kind: 'status', status: 503, body: { error: { message: 'overloaded, try later', type: 'server_error', param: null, code: null } } });
      await assert.rejects(
        client.chat.completions.create({ model: 'team-gpt', messages: [{ role: 'user', content: 'hi' }] }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.APIError);
          assert.equal(err.status, 503);
          assert.match(err.message, /overloaded, try later/);
          return true;
        },
      );
      upstream.reset();
    });

    test('unknown model is a 400 naming the models that exist', async () => {
      await assert.rejects(
        client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.BadRequestError);
          assert.match(err.message, /model=nope/);
          assert.match(err.message, /team-gpt/);
          assert.match(err.message, /azure-gpt/);
          return true;
        },
      );
    });

    test('models list', async () => {
      const list = await client.models.list();
      assert.deepEqual(list.data.map((m) => m.id), ['team-gpt', 'azure-gpt', 'embedder', 'mocked']);
    });

    test('in-flight counts are back to zero after all of the above', () => {
      assert.equal(proxy.router.inFlight(), 0);
    });
  });
}
