/**
 * `POST /v1/responses` end to end through the official `openai` client: passed through to
 * deployments that speak the Responses API (OpenAI, Azure; a recording Responses mock), and
 * translated to chat completions for chat-only ones (hosted_vllm; the chat mock), streaming
 * included, plus mock_response, retries and fallbacks. Asserts what the client saw and what
 * each upstream received.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { RunningProxy } from '../src/index.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { dispatchModes, post, startTestProxy } from './support/proxy.js';
import { startResponsesUpstream, type ResponsesUpstream } from './support/responses-upstream.js';

/** The event types openai-node saw, in order. */
async function eventTypes(stream: AsyncIterable<{ type: string }>): Promise<string[]> {
  const types: string[] = [];
  for await (const ev of stream) types.push(ev.type);
  return types;
}

const passThroughEvents = [
  'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
  'response.output_text.delta', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done',
  'response.output_item.done', 'response.completed',
];

for (const mode of dispatchModes) {
  describe(`POST /v1/responses (${mode.label} dispatch)`, () => {
    let native: ResponsesUpstream;
    let chat: MockUpstream;
    let broken: MockUpstream;
    let proxy: RunningProxy;
    let client: OpenAI;

    before(async () => {
      native = await startResponsesUpstream();
      chat = await startMockUpstream();
      broken = await startMockUpstream();
      broken.setBehavior({ kind: 'status', status: 503 });
      proxy = await startTestProxy(
        `
model_list:
  - model_name: native
    litellm_params:
      model: openai/gpt-4.1-mini
      api_base: ${native.url}/v1
      api_key: sk-native-secret
      temperature: 0.2
      max_tokens: 50
      frequency_penalty: 0.5
    model_info: { id: native-dep }
  - model_name: azure-dated
    litellm_params:
      model: azure/my-deployment
      api_base: ${native.url}
      api_key: azure-secret-1
      api_version: "2025-04-01-preview"
  - model_name: azure-default
    litellm_params:
      model: azure/my-deployment
      api_base: ${native.url}/
      api_key: azure-secret-1
  - model_name: chat-only
    litellm_params:
      model: hosted_vllm/llama-3
      api_base: ${chat.url}/v1
      api_key: vllm-secret
    model_info: { id: vllm-dep }
  - model_name: pair
    litellm_params:
      model: openai/gpt-4.1
      api_base: ${native.url}/v1
      api_key: sk-native-secret
      num_retries: 1
    model_info: { id: pair-a }
  - model_name: pair
    litellm_params:
      model: openai/gpt-4.1
      api_base: ${native.url}/v1
      api_key: sk-native-secret
      num_retries: 1
    model_info: { id: pair-b }
  - model_name: broken
    litellm_params:
      model: hosted_vllm/llama-3
      api_base: ${broken.url}/v1
      api_key: vllm-secret
  - model_name: mocked
    litellm_params:
      model: openai/gpt-4o
      mock_response: "This is a mock answer"
router_settings:
  num_retries: 0
  fallbacks: [{ broken: [native] }]
`,
        { workers: mode.workers },
      );
      client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    });

    after(async () => {
      await proxy.close();
      await native.close();
      await chat.close();
      await broken.close();
    });

    test('pass-through to OpenAI: the body as sent (model replaced, Responses-named defaults), the answer restamped', async () => {
      native.script([]);
      const { data, response } = await client.responses.create({ model: 'native', input: 'hi', instructions: 'be brief' }).withResponse();
      assert.equal(data.output_text, 'Hello from responses');
      assert.equal(data.model, 'native');
      assert.equal(data.usage?.input_tokens, 11);
      assert.equal(response.headers.get('x-litellm-model-id'), 'native-dep');
      assert.equal(native.requests.length, 1);
      const got = native.requests[0]!;
      assert.equal(got.path, '/v1/responses');
      assert.equal(got.headers.authorization, 'Bearer sk-native-secret');
      assert.deepEqual(got.body, { model: 'gpt-4.1-mini', input: 'hi', instructions: 'be brief', temperature: 0.2, max_output_tokens: 50 });
    });

    test('pass-through to Azure: /openai/responses with the api_version, or the v1 API (api-version=preview) without one', async () => {
      native.script([]);
      await client.responses.create({ model: 'azure-dated', input: 'hi' });
      await client.responses.create({ model: 'azure-default', input: 'hi' });
      const [dated, v1] = native.requests;
      assert.equal(dated!.path, '/openai/responses');
      assert.equal(dated!.query.get('api-version'), '2025-04-01-preview');
      assert.equal(dated!.headers['api-key'], 'azure-secret-1');
      assert.equal(dated!.body.model, 'my-deployment');
      assert.equal(v1!.path, '/openai/v1/responses');
      assert.equal(v1!.query.get('api-version'), 'preview');
    });

    test('pass-through stream: the upstream events reach openai-node unchanged but for the restamped model', async () => {
      native.script([]);
      const stream = await client.responses.create({ model: 'native', input: 'hi', stream: true });
      const seen: Array<{ type: string; response?: { model: string } }> = [];
      for await (const ev of stream) seen.push(ev as { type: string; response?: { model: string } });
      assert.deepEqual(seen.map((e) => e.type), passThroughEvents);
      assert.equal(seen.at(-1)!.response!.model, 'native');
      assert.equal(native.requests[0]!.body.stream, true);

      const helper = client.responses.stream({ model: 'native', input: 'hi' });
      const final = await helper.finalResponse();
      assert.equal(final.output_text, 'Hello from responses');
    });

    test('translated for a chat-only deployment: chat body upstream, a Responses object back', async () => {
      chat.reset();
      const data = await client.responses.create({
        model: 'chat-only',
        instructions: 'be brief',
        input: [
          { role: 'developer', content: 'answer in English' },
          { role: 'user', content: [{ type: 'input_text', text: 'weather in Paris?' }] },
          { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        ],
        max_output_tokens: 30,
        temperature: 0.1,
        tools: [{ type: 'function', name: 'weather', description: 'look it up', parameters: { type: 'object', properties: {} }, strict: true }],
        tool_choice: { type: 'function', name: 'weather' },
        text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
      });
      assert.match(data.id, /^resp_/);
      assert.equal(data.object, 'response');
      assert.equal(data.status, 'completed');
      assert.equal(data.model, 'chat-only');
      assert.equal(data.output_text, 'Hello from mock');
      assert.deepEqual(data.usage && { i: data.usage.input_tokens, o: data.usage.output_tokens, t: data.usage.total_tokens }, { i: 7, o: 5, t: 12 });
      assert.equal(chat.requests.length, 1);
      const got = chat.requests[0]!;
      assert.equal(got.path, '/v1/chat/completions');
      assert.deepEqual(got.body, {
        model: 'llama-3',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'system', content: 'answer in English' },
          { role: 'user', content: 'weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        ],
        temperature: 0.1,
        max_tokens: 30,
        tools: [{ type: 'function', function: { name: 'weather', description: 'look it up', parameters: { type: 'object', properties: {} }, strict: true } }],
        tool_choice: { type: 'function', function: { name: 'weather' } },
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
      });
    });

    test('translated stream: the Responses event sequence, accepted by openai-node, usage in response.completed', async () => {
      chat.reset();
      const types = await eventTypes(await client.responses.create({ model: 'chat-only', input: 'hi', stream: true }));
      assert.deepEqual(types, [
        'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
        'response.output_text.delta', 'response.output_text.delta', 'response.output_text.delta',
        'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
      ]);
      const body = chat.requests[0]!.body as Record<string, unknown>;
      assert.equal(body.stream, true);
      assert.deepEqual(body.stream_options, { include_usage: true });

      const final = await client.responses.stream({ model: 'chat-only', input: 'hi' }).finalResponse();
      assert.equal(final.output_text, 'tok0 tok1 tok2 ');
      assert.equal(final.status, 'completed');
      assert.equal(final.usage?.input_tokens, 7);
      assert.equal(final.usage?.output_tokens, 5);
    });

    test('what a chat deployment cannot do is refused with a 400, not dropped', async () => {
      chat.reset();
      await assert.rejects(
        client.responses.create({ model: 'chat-only', input: 'hi', previous_response_id: 'resp_123' }),
        (err: unknown) => err instanceof OpenAI.BadRequestError && /previous_response_id/.test(err.message),
      );
      await assert.rejects(
        client.responses.create({ model: 'chat-only', input: 'hi', tools: [{ type: 'web_search_preview' }] }),
        (err: unknown) => err instanceof OpenAI.BadRequestError && /function tools only/.test(err.message),
      );
      assert.equal(chat.requests.length, 0, 'nothing reached the upstream');
    });

    test('mock_response answers a Responses request, streamed or not', async () => {
      const data = await client.responses.create({ model: 'mocked', input: 'hi' });
      assert.equal(data.output_text, 'This is a mock answer');
      assert.equal(data.usage?.input_tokens, 10);
      assert.equal(data.usage?.output_tokens, 20);
      const final = await client.responses.stream({ model: 'mocked', input: 'hi' }).finalResponse();
      assert.equal(final.output_text, 'This is a mock answer');
      const viaRequest = await client.responses.create({ model: 'native', input: 'hi', mock_response: 'from the request' } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
      assert.equal(viaRequest.output_text, 'from the request');
    });

    test('a failed attempt is retried on the other deployment of the group', async () => {
      native.script([{ kind: 'status', status: 500 }]);
      const { data, response } = await client.responses.create({ model: 'pair', input: 'hi' }).withResponse();
      assert.equal(data.output_text, 'Hello from responses');
      assert.equal(native.requests.length, 2);
      const ids = new Set(['pair-a', 'pair-b']);
      assert.ok(ids.has(response.headers.get('x-litellm-model-id') ?? ''));
    });

    test('a failing group falls back to another, across the pass-through/translated line', async () => {
      native.script([]);
      broken.reset();
      broken.setBehavior({ kind: 'status', status: 503 });
      const { data, response } = await client.responses.create({ model: 'broken', input: 'hi' }).withResponse();
      assert.equal(data.output_text, 'Hello from responses');
      assert.equal(broken.requests.length, 1);
      assert.equal(broken.requests[0]!.path, '/v1/chat/completions');
      assert.equal(native.requests.length, 1);
      assert.equal(response.headers.get('x-litellm-attempted-fallbacks'), '1');
    });

    test('/responses without /v1 is the same endpoint', async () => {
      native.script([]);
      const r = await post(`${proxy.url}/responses`, { model: 'native', input: 'hi' });
      assert.equal(r.status, 200);
      assert.equal((r.json as { object: string }).object, 'response');
      assert.equal(native.requests[0]!.path, '/v1/responses');
    });
  });
}
