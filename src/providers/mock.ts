/**
 * `mock_response` answers, built the way LiteLLM's `mock_completion` does: the text as the
 * assistant message, usage of 10 prompt / 20 completion tokens, streams in 3-character
 * deltas, and the magic strings that raise LiteLLM's errors.
 */
import type { Endpoint } from './index.js';
import { ChatToResponsesEvents } from './responses-events.js';
import { chatToResponse } from './responses-reply.js';

/** A JSON value, as YAML gives it (the same shape as config/types.ts JsonValue, which is built on this floor). */
export type MockJson = string | number | boolean | null | MockJson[] | { [key: string]: MockJson };

/** `litellm_params.mock_response`: a deployment that answers in-process instead of calling an upstream. */
export type MockResponse = string | { [key: string]: MockJson };

export const MOCK_USAGE = { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } as const;

/** A mock that fails: LiteLLM's error strings mapped to the status and body its exceptions produce. */
export interface MockFailure {
  readonly status: number;
  readonly body: string;
}

const mockErrors: Readonly<Record<string, { status: number; type: string; message: string; code?: string }>> = {
  'litellm.RateLimitError': { status: 429, type: 'throttling_error', message: 'litellm.RateLimitError: mock rate limit error' },
  'litellm.ContextWindowExceededError': {
    status: 400,
    type: 'invalid_request_error',
    message: 'litellm.ContextWindowExceededError: mock context window exceeded',
    code: 'context_length_exceeded',
  },
  'litellm.InternalServerError': { status: 500, type: 'internal_server_error', message: 'litellm.InternalServerError: mock internal server error' },
};

export function mockFailure(mock: MockResponse): MockFailure | null {
  if (typeof mock !== 'string') return null;
  const e = mockErrors[mock];
  if (e) {
    return { status: e.status, body: JSON.stringify({ error: { message: e.message, type: e.type, param: null, code: e.code ?? String(e.status) } }) };
  }
  if (mock.startsWith('Exception: content_filter_policy')) {
    return {
      status: 400,
      body: JSON.stringify({ error: { message: `litellm.ContentPolicyViolationError: ${mock}`, type: 'invalid_request_error', param: null, code: 'content_policy_violation' } }),
    };
  }
  return null;
}

let seq = 0;
function mockId(prefix: string): string {
  seq = (seq + 1) % 1e9;
  return `${prefix}-mock-${Date.now().toString(36)}${seq.toString(36)}`;
}

function mockText(mock: MockResponse): string {
  return typeof mock === 'string' ? mock : '';
}

/** The full non-stream response body for a mock deployment. */
export function mockResponseBody(mock: MockResponse, endpoint: Endpoint, model: string, requestBody: Record<string, unknown>): string {
  const created = Math.floor(Date.now() / 1000);
  if (typeof mock === 'object') return JSON.stringify({ ...mock, model });
  if (endpoint === 'responses') {
    // LiteLLM answers a Responses mock through mock_completion and its chat → Responses bridge.
    return JSON.stringify(chatToResponse(JSON.parse(mockResponseBody(mock, 'chat', model, requestBody)) as Record<string, unknown>, requestBody, model));
  }
  if (endpoint === 'embeddings') {
    const input = requestBody.input;
    const n = Array.isArray(input) ? input.length : 1;
    const data = [];
    for (let i = 0; i < n; i++) data.push({ object: 'embedding', index: i, embedding: [0.1, 0.2, 0.3] });
    return JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: MOCK_USAGE.prompt_tokens, total_tokens: MOCK_USAGE.prompt_tokens } });
  }
  if (endpoint === 'completions') {
    return JSON.stringify({
      id: mockId('cmpl'),
      object: 'text_completion',
      created,
      model,
      choices: [{ index: 0, text: mockText(mock), logprobs: null, finish_reason: 'stop' }],
      usage: MOCK_USAGE,
    });
  }
  return JSON.stringify({
    id: mockId('chatcmpl'),
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: mockText(mock) }, finish_reason: 'stop' }],
    usage: MOCK_USAGE,
  });
}

/**
 * SSE events for a mock stream: 3-character deltas, a finish chunk, usage when asked, `[DONE]`.
 * A Responses stream is the chat one re-told as Responses events, usage always included.
 * `requestBody`: the client's body (a Responses stream echoes its settings).
 */
export function mockStreamEvents(mock: MockResponse, endpoint: Endpoint, model: string, includeUsage: boolean, requestBody: Record<string, unknown> = {}): string[] {
  if (endpoint === 'responses') {
    const events = new ChatToResponsesEvents(model, requestBody);
    const out: string[] = [];
    for (const ev of mockStreamEvents(mock, 'chat', model, true)) {
      const data = ev.slice('data: '.length, -2);
      out.push(data === '[DONE]' ? events.end() : events.chunk(JSON.parse(data)));
    }
    return out;
  }
  const text = mockText(mock);
  const id = mockId(endpoint === 'completions' ? 'cmpl' : 'chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const events: string[] = [];
  const chunk = (delta: string | null, finish: string | null): string => {
    if (endpoint === 'completions') {
      return JSON.stringify({ id, object: 'text_completion', created, model, choices: [{ index: 0, text: delta ?? '', logprobs: null, finish_reason: finish }] });
    }
    const d: Record<string, string> = {};
    if (delta !== null) d.content = delta;
    return JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: d, finish_reason: finish }] });
  };
  if (endpoint === 'chat') {
    events.push(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`);
  }
  for (let i = 0; i < text.length; i += 3) events.push(`data: ${chunk(text.slice(i, i + 3), null)}\n\n`);
  events.push(`data: ${chunk(null, 'stop')}\n\n`);
  if (includeUsage) {
    const obj = endpoint === 'completions' ? 'text_completion' : 'chat.completion.chunk';
    events.push(`data: ${JSON.stringify({ id, object: obj, created, model, choices: [], usage: MOCK_USAGE })}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  return events;
}
