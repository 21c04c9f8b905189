/**
 * The Responses API translation modules on their own: request bodies (pass-through defaults,
 * Responses → chat), Azure's URL shapes, chat answers and chat streams told as Responses
 * objects and events, and the pass-through SSE restamper.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response as OpenAIResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { ChatToResponsesEvents, responseAsEvents } from '../src/providers/responses-events.js';
import { chatToResponse, readResponsesUsage, responsesFinishReason } from '../src/providers/responses-reply.js';
import { passThroughBody, responsesPromptText, responsesToChatBody, ResponsesTranslationError } from '../src/providers/responses-request.js';
import { ResponsesSseRestamper } from '../src/providers/responses-sse.js';
import { azureResponsesUrl, responsesTarget } from '../src/providers/responses-target.js';
import { mockResponseBody, mockStreamEvents } from '../src/providers/mock.js';
import { countPromptTokens } from '../src/upstream/tokens.js';

type Json = Record<string, unknown>;

/** Parses `event: x\ndata: {...}\n\n` text into its events, checking each event line names its data's type. */
function events(text: string): Json[] {
  const out: Json[] = [];
  for (const raw of text.split('\n\n')) {
    if (raw === '') continue;
    const [eventLine, dataLine] = raw.split('\n');
    const data = JSON.parse(dataLine!.slice('data: '.length)) as Json;
    assert.equal(eventLine, `event: ${String(data.type)}`);
    out.push(data);
  }
  return out;
}

describe('passThroughBody', () => {
  test('model replaced, proxy-only keys removed, chat defaults under their Responses names or left out', () => {
    const body = passThroughBody(
      { model: 'group', input: 'hi', metadata: { a: 1 }, mock_testing_fallbacks: false, temperature: 1 },
      'gpt-4.1',
      { temperature: 0.2, top_p: 0.9, max_tokens: 50, reasoning_effort: 'low', stop: ['x'], seed: 1, n: 2, custom_flag: true },
    );
    assert.deepEqual(body, { model: 'gpt-4.1', input: 'hi', temperature: 1, top_p: 0.9, max_output_tokens: 50, reasoning: { effort: 'low' }, custom_flag: true });
  });

  test('the request keeps its own max_output_tokens and reasoning', () => {
    const body = passThroughBody({ model: 'g', input: 'hi', max_output_tokens: 5, reasoning: { effort: 'high' } }, 'm', { max_completion_tokens: 50, reasoning_effort: 'low' });
    assert.equal(body.max_output_tokens, 5);
    assert.deepEqual(body.reasoning, { effort: 'high' });
  });
});

describe('responsesToChatBody', () => {
  test('a string input with instructions: a system and a user message; defaults fill the rest', () => {
    const chat = responsesToChatBody({ model: 'g', input: 'hi', instructions: 'be brief', max_output_tokens: 9, metadata: { x: 1 }, store: true, top_k: 3 }, 'llama', { temperature: 0.5, max_tokens: 100 });
    assert.deepEqual(chat, {
      model: 'llama',
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
      max_tokens: 9,
      top_k: 3,
      temperature: 0.5,
    });
  });

  test('does not modify the client body (the answer echoes it)', () => {
    const client = { model: 'g', input: [{ role: 'user', content: 'hi' }], stream: true };
    const before = structuredClone(client);
    const chat = responsesToChatBody(client, 'llama', null);
    assert.deepEqual(client, before);
    assert.deepEqual(chat.stream_options, { include_usage: true });
  });

  test('items: parts become text or image parts; consecutive function calls join one assistant turn', () => {
    const chat = responsesToChatBody({
      model: 'g',
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'look: ' }, { type: 'input_image', image_url: 'https://x/cat.png', detail: 'low' }] },
        { role: 'assistant', content: [{ type: 'output_text', text: 'calling' }] },
        { type: 'function_call', call_id: 'c1', name: 'a', arguments: '{}' },
        { type: 'function_call', call_id: 'c2', name: 'b', arguments: { k: 1 } },
        { type: 'reasoning', summary: [] },
        { type: 'function_call_output', call_id: 'c1', output: 'one' },
        { type: 'function_call_output', call_id: 'c2', output: { two: 2 } },
      ],
    }, 'm', null);
    assert.deepEqual(chat.messages, [
      { role: 'user', content: [{ type: 'text', text: 'look: ' }, { type: 'image_url', image_url: { url: 'https://x/cat.png', detail: 'low' } }] },
      {
        role: 'assistant',
        content: 'calling',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'c2', type: 'function', function: { name: 'b', arguments: '{"k":1}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'one' },
      { role: 'tool', tool_call_id: 'c2', content: '{"two":2}' },
    ]);
  });

  test('text.format: json_object and json_schema become response_format; text is the chat default', () => {
    assert.deepEqual(responsesToChatBody({ input: 'x', text: { format: { type: 'json_object' } } }, 'm', null).response_format, { type: 'json_object' });
    assert.equal(responsesToChatBody({ input: 'x', text: { format: { type: 'text' } } }, 'm', null).response_format, undefined);
    assert.deepEqual(
      responsesToChatBody({ input: 'x', text: { format: { type: 'json_schema', name: 'n', schema: { type: 'object' }, strict: true, description: 'd' } } }, 'm', null).response_format,
      { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'object' }, strict: true, description: 'd' } },
    );
  });

  test('tool_choice strings pass, a named function is nested; reasoning.effort becomes reasoning_effort', () => {
    assert.equal(responsesToChatBody({ input: 'x', tool_choice: 'required' }, 'm', null).tool_choice, 'required');
    const chat = responsesToChatBody({ input: 'x', tool_choice: { type: 'function', name: 'f' }, reasoning: { effort: 'medium' } }, 'm', null);
    assert.deepEqual(chat.tool_choice, { type: 'function', function: { name: 'f' } });
    assert.equal(chat.reasoning_effort, 'medium');
  });

  const refused: Array<[string, Json, RegExp]> = [
    ['previous_response_id', { input: 'x', previous_response_id: 'resp_1' }, /previous_response_id/],
    ['conversation', { input: 'x', conversation: 'conv_1' }, /conversation/],
    ['background', { input: 'x', background: true }, /background/],
    ['a built-in tool', { input: 'x', tools: [{ type: 'file_search' }] }, /function tools only/],
    ['an unknown item', { input: [{ type: 'item_reference', id: 'x' }] }, /item_reference/],
    ['an unknown content part', { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] }, /input_file/],
    ['a bad role', { input: [{ role: 'tool', content: 'x' }] }, /role/],
    ['a missing input', { instructions: 'x' }, /input/],
  ];
  for (const [what, body, message] of refused) {
    test(`refuses ${what}`, () => {
      assert.throws(() => responsesToChatBody(body, 'm', null), (err: unknown) => err instanceof ResponsesTranslationError && message.test(err.message));
    });
  }
});

describe('Azure and target URLs', () => {
  const cases: Array<[string, string | null, string]> = [
    ['https://r.openai.azure.com', '2025-04-01-preview', 'https://r.openai.azure.com/openai/responses?api-version=2025-04-01-preview'],
    ['https://r.openai.azure.com/', null, 'https://r.openai.azure.com/openai/v1/responses?api-version=preview'],
    ['https://r.openai.azure.com/openai', 'latest', 'https://r.openai.azure.com/openai/v1/responses?api-version=latest'],
    ['https://r.openai.azure.com/openai/v1/', 'v1', 'https://r.openai.azure.com/openai/v1/responses'],
    ['https://r.openai.azure.com/openai/responses', '2025-03-01-preview', 'https://r.openai.azure.com/openai/responses?api-version=2025-03-01-preview'],
    ['https://r.openai.azure.com/openai/deployments/d', '2025-03-01-preview', 'https://r.openai.azure.com/openai/responses?api-version=2025-03-01-preview'],
  ];
  for (const [base, version, url] of cases) {
    test(`${base} with ${String(version)}`, () => assert.equal(azureResponsesUrl(base, version), url));
  }

  test('OpenAI calls its own /responses; Azure keeps its api-key; chat-only families are marked for translation', () => {
    const p = { upstreamModel: 'm', apiKey: 'k', apiVersion: null, extraHeaders: {} };
    assert.deepEqual(responsesTarget({ ...p, family: 'openai', apiBase: 'https://api.openai.com/v1' }), { url: 'https://api.openai.com/v1/responses', headers: ['content-type', 'application/json', 'authorization', 'Bearer k'] });
    const azure = responsesTarget({ ...p, family: 'azure', apiBase: 'https://r.openai.azure.com' });
    assert.deepEqual(azure.headers, ['content-type', 'application/json', 'api-key', 'k']);
    assert.equal(azure.viaChat, undefined);
    assert.deepEqual(responsesTarget({ ...p, family: 'openai-compatible', apiBase: 'http://vllm:8000/v1' }), {
      url: 'http://vllm:8000/v1/chat/completions', headers: ['content-type', 'application/json', 'authorization', 'Bearer k'], viaChat: true,
    });
  });
});

describe('chatToResponse', () => {
  test('text, tool calls, usage; the request settings echoed', () => {
    const resp = chatToResponse({
      id: 'chatcmpl-1', created: 123,
      choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: 'let me check', tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] } }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 1 } },
    }, { instructions: 'sys', temperature: 0.3, max_output_tokens: 20 }, 'group');
    assert.match(String(resp.id), /^resp_[0-9a-f]{48}$/);
    assert.equal(resp.object, 'response');
    assert.equal(resp.created_at, 123);
    assert.equal(resp.status, 'completed');
    assert.equal(resp.model, 'group');
    assert.equal(resp.instructions, 'sys');
    assert.equal(resp.temperature, 0.3);
    assert.equal(resp.max_output_tokens, 20);
    const [msg, call] = resp.output as Json[];
    assert.deepEqual({ ...msg, id: 'x' }, { id: 'x', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'let me check', annotations: [], logprobs: [] }] });
    assert.match(String(msg!.id), /^msg_/);
    assert.deepEqual({ ...call, id: 'x' }, { id: 'x', type: 'function_call', status: 'completed', call_id: 'call_9', name: 'f', arguments: '{"a":1}' });
    assert.deepEqual(resp.usage, { input_tokens: 3, input_tokens_details: { cached_tokens: 1 }, output_tokens: 4, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 7 });
  });

  test('a cut answer is incomplete with the reason; an empty one still has its message', () => {
    const cut = chatToResponse({ choices: [{ finish_reason: 'length', message: { content: 'abc' } }] }, {}, 'g');
    assert.equal(cut.status, 'incomplete');
    assert.deepEqual(cut.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(responsesFinishReason(cut), 'length');
    const filtered = chatToResponse({ choices: [{ finish_reason: 'content_filter', message: { content: null } }] }, {}, 'g');
    assert.equal(responsesFinishReason(filtered), 'content_filter');
    assert.equal((filtered.output as Json[]).length, 1);
    assert.equal(filtered.usage, null);
  });

  test('Responses usage is read as the router counts tokens', () => {
    assert.deepEqual(readResponsesUsage({ input_tokens: 2, output_tokens: 3, total_tokens: 5 }), { promptTokens: 2, completionTokens: 3, totalTokens: 5 });
    assert.deepEqual(readResponsesUsage({ input_tokens: 2, output_tokens: 3 }), { promptTokens: 2, completionTokens: 3, totalTokens: 5 });
    assert.equal(readResponsesUsage(null), null);
  });
});

describe('ChatToResponsesEvents', () => {
  test('text then two tool calls: items announced before their deltas, indices consistent, sequence numbered', () => {
    const t = new ChatToResponsesEvents('group', { instructions: 'sys' }, 100);
    let text = '';
    text += t.chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    text += t.chunk({ choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] });
    text += t.chunk({ choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: null }] });
    text += t.chunk({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"x"' } }] }, finish_reason: null }] });
    text += t.chunk({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }, finish_reason: null }] });
    text += t.chunk({ choices: [{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } }] }, finish_reason: null }] });
    text += t.chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] });
    text += t.chunk({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 } });
    text += t.end();
    assert.equal(t.end(), '', 'the end comes once');
    const evs = events(text);
    assert.deepEqual(evs.map((e) => e.type), [
      'response.created', 'response.in_progress',
      'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.delta',
      'response.output_item.added', 'response.function_call_arguments.delta',
      'response.function_call_arguments.done', 'response.output_item.done',
      'response.function_call_arguments.done', 'response.output_item.done',
      'response.completed',
    ]);
    assert.deepEqual(evs.map((e) => e.sequence_number), evs.map((_, i) => i));
    const created = evs[0]!.response as Json;
    assert.equal(created.status, 'in_progress');
    assert.equal(created.model, 'group');
    assert.equal(created.instructions, 'sys');
    const textDone = evs.find((e) => e.type === 'response.output_text.done')!;
    assert.equal(textDone.text, 'Hello');
    assert.equal(textDone.output_index, 0);
    const argsDone = evs.filter((e) => e.type === 'response.function_call_arguments.done');
    assert.deepEqual(argsDone.map((e) => [e.output_index, e.name, e.arguments]), [[1, 'f', '{"x":1}'], [2, 'g', '{}']]);
    const final = evs.at(-1)!.response as Json;
    assert.equal(final.status, 'completed');
    const output = final.output as Json[];
    assert.deepEqual(output.map((o) => [o.type, o.status]), [['message', 'completed'], ['function_call', 'completed'], ['function_call', 'completed']]);
    assert.equal((output[1] as Json).call_id, 'call_a');
    assert.deepEqual(final.usage, { input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 6, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 11 });
    // Every delta names an item announced before it.
    const announced = new Map<number, string>();
    for (const e of evs) {
      if (e.type === 'response.output_item.added') announced.set(e.output_index as number, String((e.item as Json).id));
      if (typeof e.item_id === 'string') assert.equal(announced.get(e.output_index as number), e.item_id);
    }
    // openai-node's own accumulator (what ResponseStream runs; it throws on an index it was not told
    // of) builds, from the events before the last, the output the final response carries.
    let snapshot: OpenAIResponse | undefined;
    for (const e of evs.slice(0, -1)) snapshot = accumulateResponse(e as unknown as ResponseStreamEvent, snapshot);
    assert.deepEqual(snapshot!.output, output);
  });

  test('a stream cut for length ends in response.incomplete; an empty stream still tells a message', () => {
    const cut = new ChatToResponsesEvents('g', {});
    const evs = events(cut.chunk({ choices: [{ delta: { content: 'ab' }, finish_reason: 'length' }] }) + cut.end());
    assert.equal(evs.at(-1)!.type, 'response.incomplete');
    assert.deepEqual((evs.at(-1)!.response as Json).incomplete_details, { reason: 'max_output_tokens' });
    const empty = new ChatToResponsesEvents('g', {});
    assert.deepEqual(events(empty.end()).map((e) => e.type), [
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
    ]);
  });

  test('a whole response told as events keeps its output and ends in its status', () => {
    const resp = chatToResponse({ choices: [{ finish_reason: 'stop', message: { content: 'hi' } }] }, {}, 'g');
    const evs = events(responseAsEvents(resp));
    assert.deepEqual(evs.map((e) => e.type), ['response.created', 'response.output_item.added', 'response.output_item.done', 'response.completed']);
    assert.deepEqual(evs.at(-1)!.response, resp);
  });
});

describe('ResponsesSseRestamper', () => {
  const created = 'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","model":"gpt-4.1","status":"in_progress","usage":null}}\n\n';
  const delta = 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,"item_id":"m","output_index":0,"content_index":0,"delta":"hi"}\n\n';
  const completed = 'event: response.completed\ndata: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_1","model":"gpt-4.1","status":"completed","usage":{"input_tokens":3,"output_tokens":2,"total_tokens":5}}}\n\n';

  test('split anywhere: the model restamped in lifecycle events, deltas as they came, usage and the end read from response.completed', () => {
    const whole = created + delta + completed;
    for (const cut of [1, 40, created.length, created.length + 5, whole.length - 3]) {
      const r = new ResponsesSseRestamper('group');
      const out = r.push(whole.slice(0, cut).replace(/\n/g, '\r\n')) + r.push(whole.slice(cut)) + r.flush();
      const evs = events(out);
      assert.deepEqual(evs.map((e) => e.type), ['response.created', 'response.output_text.delta', 'response.completed']);
      assert.equal((evs[0]!.response as Json).model, 'group');
      assert.equal((evs[2]!.response as Json).model, 'group');
      assert.ok(out.includes(delta), 'a delta is relayed byte for byte');
      assert.equal(r.done, true);
      assert.deepEqual(r.usage, { promptTokens: 3, completionTokens: 2, totalTokens: 5 });
    }
  });

  test('a stream that stops before its terminal event is not done', () => {
    const r = new ResponsesSseRestamper('g');
    r.push(created + delta);
    assert.equal(r.done, false);
  });

  test('an error event ends the stream as a failure and is not relayed', () => {
    for (const err of [
      'event: error\ndata: {"type":"error","code":"server_error","message":"boom","sequence_number":2}\n\n',
      'data: {"type":"error","code":"server_error","message":"boom"}\n\n',
      'data: {"error":{"message":"boom","type":"server_error"}}\n\n',
    ]) {
      const r = new ResponsesSseRestamper('g');
      const out = r.push(created + err + completed);
      assert.equal(events(out).length, 1);
      assert.match(r.failure ?? '', /boom/);
      assert.equal(r.done, false);
    }
  });
});

describe('mock_response on the Responses endpoint', () => {
  test('the answer is the chat mock as a Responses object, usage 10/20', () => {
    const resp = JSON.parse(mockResponseBody('hello there', 'responses', 'group', { input: 'x' })) as Json;
    assert.equal(resp.object, 'response');
    assert.equal(((resp.output as Json[])[0]!.content as Json[])[0]!.text, 'hello there');
    assert.equal((resp.usage as Json).input_tokens, 10);
    assert.equal((resp.usage as Json).output_tokens, 20);
  });

  test('the stream is the chat mock stream re-told, 3-character deltas', () => {
    const evs = events(mockStreamEvents('hello there', 'responses', 'group', false, {}).join(''));
    assert.deepEqual(evs.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta), ['hel', 'lo ', 'the', 're']);
    const final = evs.at(-1)!;
    assert.equal(final.type, 'response.completed');
    assert.equal(((final.response as Json).usage as Json).total_tokens, 30);
  });
});

describe('prompt tokens of a Responses body (the context-window pre-call check)', () => {
  test('instructions and the text of input items count; other bodies count as before', async () => {
    const long = 'hello world '.repeat(50);
    const items = await countPromptTokens({ instructions: 'be brief', input: [{ role: 'user', content: [{ type: 'input_text', text: long }] }, { type: 'function_call_output', call_id: 'c', output: long }] }, 'gpt-4o');
    const one = await countPromptTokens({ input: long }, 'gpt-4o');
    assert.ok(one >= 90, `one copy is about 100 tokens, got ${one}`);
    assert.ok(items >= 2 * one, `two copies and the instructions, got ${items}`);
    assert.equal(responsesPromptText({ input: ['a b', 'c'] }), null, 'embeddings-style inputs are counted the old way');
    assert.equal(responsesPromptText({ input: 'a b' }), null);
    assert.equal(responsesPromptText({ instructions: 'x', input: 'a b' }), 'xa b');
  });
});
