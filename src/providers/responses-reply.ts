/**
 * Responses API objects: a chat completion turned into a Responses `response` (what a
 * chat-only deployment's answer becomes), the shell every streamed lifecycle event carries,
 * and the usage and finish reason the router reads from a Responses answer. Pure functions.
 * Shapes follow OpenAI's `Response` object (openai-node `resources/responses`), as LiteLLM's
 * `transform_chat_completion_response_to_responses_api_response` fills it.
 */
import { randomBytes } from 'node:crypto';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `resp_…`, `msg_…`, `fc_…`: OpenAI's id prefixes, with 24 random bytes in hex as OpenAI's ids carry. */
export function itemId(prefix: 'resp' | 'msg' | 'fc'): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

/** The Responses usage object for chat usage (`prompt_tokens` → `input_tokens`, ...); null when the chat answer had none. */
export function responsesUsageOf(chatUsage: unknown): Json | null {
  if (!isObject(chatUsage)) return null;
  const input = typeof chatUsage.prompt_tokens === 'number' ? chatUsage.prompt_tokens : 0;
  const output = typeof chatUsage.completion_tokens === 'number' ? chatUsage.completion_tokens : 0;
  const pd = isObject(chatUsage.prompt_tokens_details) ? chatUsage.prompt_tokens_details : {};
  const cd = isObject(chatUsage.completion_tokens_details) ? chatUsage.completion_tokens_details : {};
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: typeof pd.cached_tokens === 'number' ? pd.cached_tokens : 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: typeof cd.reasoning_tokens === 'number' ? cd.reasoning_tokens : 0 },
    total_tokens: typeof chatUsage.total_tokens === 'number' ? chatUsage.total_tokens : input + output,
  };
}

/** Token counts of a Responses answer's `usage`, in the router's terms; null when absent. */
export function readResponsesUsage(u: unknown): { promptTokens: number; completionTokens: number; totalTokens: number } | null {
  if (!isObject(u)) return null;
  const p = typeof u.input_tokens === 'number' ? u.input_tokens : 0;
  const c = typeof u.output_tokens === 'number' ? u.output_tokens : 0;
  const t = typeof u.total_tokens === 'number' ? u.total_tokens : p + c;
  return { promptTokens: p, completionTokens: c, totalTokens: t };
}

/**
 * A Responses answer's stop reason in chat terms, for the router's content-policy check:
 * `incomplete_details.reason` `content_filter` → `content_filter`, `max_output_tokens` → `length`.
 */
export function responsesFinishReason(resp: Json): string | null {
  const reason = isObject(resp.incomplete_details) ? resp.incomplete_details.reason : undefined;
  if (reason === 'content_filter') return 'content_filter';
  if (reason === 'max_output_tokens') return 'length';
  return resp.status === 'completed' ? 'stop' : null;
}

/** `incomplete_details` for a chat finish reason. */
function incompleteFor(finish: unknown): Json | null {
  if (finish === 'length') return { reason: 'max_output_tokens' };
  if (finish === 'content_filter') return { reason: 'content_filter' };
  return null;
}

/**
 * The response object without its output: the request's settings echoed as OpenAI echoes them.
 * `request` is the client's Responses body.
 */
export function responseShell(id: string, model: string, createdAt: number, request: Json, status: 'in_progress' | 'completed' | 'incomplete'): Json {
  const text = isObject(request.text) ? request.text : { format: { type: 'text' } };
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: isObject(request.reasoning) ? request.reasoning : { effort: null, summary: null },
    store: false,
    temperature: request.temperature ?? null,
    text,
    tool_choice: request.tool_choice ?? 'auto',
    tools: Array.isArray(request.tools) ? request.tools : [],
    top_p: request.top_p ?? null,
    truncation: 'disabled',
    usage: null,
    user: request.user ?? null,
    metadata: {},
  };
}

/** An assistant message output item. */
export function messageItem(id: string, text: string, status: 'in_progress' | 'completed'): Json {
  return { id, type: 'message', status, role: 'assistant', content: status === 'in_progress' && text === '' ? [] : [outputText(text)] };
}

export function outputText(text: string): Json {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export function functionCallItem(id: string, callId: string, name: string, args: string, status: 'in_progress' | 'completed'): Json {
  return { id, type: 'function_call', status, call_id: callId, name, arguments: args };
}

/** A chat completion (non-stream) as a Responses `response`; `model` is the name the client asked for. */
export function chatToResponse(chat: Json, request: Json, model: string): Json {
  const choice = Array.isArray(chat.choices) && isObject(chat.choices[0]) ? chat.choices[0] : {};
  const message = isObject(choice.message) ? choice.message : {};
  const output: Json[] = [];
  const text = typeof message.content === 'string' ? message.content : '';
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls.filter(isObject) : [];
  if (text !== '' || calls.length === 0) output.push(messageItem(itemId('msg'), text, 'completed'));
  for (const c of calls) {
    const fn = isObject(c.function) ? c.function : {};
    output.push(functionCallItem(itemId('fc'), String(c.id ?? itemId('fc')), String(fn.name ?? ''), typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}), 'completed'));
  }
  const { status, incomplete } = statusFor(choice.finish_reason);
  const createdAt = typeof chat.created === 'number' ? chat.created : Math.floor(Date.now() / 1000);
  const resp = responseShell(itemId('resp'), model, createdAt, request, status);
  resp.incomplete_details = incomplete;
  resp.output = output;
  resp.usage = responsesUsageOf(chat.usage);
  return resp;
}

/** A chat finish reason → the response status it ends in. */
export function statusFor(finish: unknown): { status: 'completed' | 'incomplete'; incomplete: Json | null } {
  const incomplete = incompleteFor(finish);
  return { status: incomplete === null ? 'completed' : 'incomplete', incomplete };
}
