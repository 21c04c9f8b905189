/**
 * The upstream body of a Responses API request. Pure functions over plain JSON.
 *
 * - Pass-through (OpenAI, Azure): the client's body with `model` rewritten and proxy-only keys
 *   removed. Deployment defaults (`litellm_params.temperature`, `max_tokens`, ...) are chat
 *   parameters: the ones the Responses API has are applied under their Responses names, the
 *   chat-only ones are left out (the upstream would refuse them), and `extra_body` keys pass.
 * - Translated (chat-only families): a chat completions body built the way LiteLLM's
 *   `LiteLLMCompletionResponsesConfig.transform_responses_api_request_to_chat_completion_request`
 *   does: `instructions` → a system message, `input` → messages, `max_output_tokens` →
 *   `max_tokens`, function tools → chat tools, `text.format` → `response_format`.
 *   What a chat endpoint cannot do (server-side state, built-in tools) is refused with a 400
 *   rather than dropped, so a client never gets an answer to a question it did not ask.
 */
import { buildUpstreamBody, proxyOnlyBodyKeys } from './index.js';

type Json = Record<string, unknown>;

/** A request the translation refuses: answered as a 400 `invalid_request_error` naming `param`. */
export class ResponsesTranslationError extends Error {
  constructor(message: string, readonly param: string) {
    super(message);
  }
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Chat-only defaults with no Responses counterpart (temperature, top_p, user, ... keep their name there). */
const chatOnlyDefaults = new Set(['n', 'stop', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'seed', 'logprobs', 'response_format', 'tools', 'tool_choice']);

/** The body for a deployment that speaks the Responses API. */
export function passThroughBody(clientBody: Json, upstreamModel: string, defaults: Readonly<Json> | null): Json {
  const body = buildUpstreamBody(clientBody, upstreamModel, null);
  if (defaults === null) return body;
  for (const k in defaults) {
    const v = defaults[k];
    if (k === 'max_tokens' || k === 'max_completion_tokens') {
      if (!('max_output_tokens' in body)) body.max_output_tokens = v;
    } else if (k === 'reasoning_effort') {
      if (!('reasoning' in body)) body.reasoning = { effort: v };
    } else if (!chatOnlyDefaults.has(k)) {
      if (!(k in body)) body[k] = v;
    }
  }
  return body;
}

/** Keys copied to the chat body as they are. */
const copied = ['temperature', 'top_p', 'user', 'parallel_tool_calls', 'stream', 'top_logprobs', 'service_tier', 'seed'];
/**
 * Keys of the Responses API that mean nothing to a chat endpoint and change nothing about the
 * answer, left out: storage and what to include of it, truncation, prompt-cache hints.
 */
const ignored = new Set(['store', 'include', 'truncation', 'prompt_cache_key', 'safety_identifier', 'stream_options', 'background']);
/** Keys handled one by one below. */
const mapped = new Set(['model', 'input', 'instructions', 'max_output_tokens', 'tools', 'tool_choice', 'text', 'reasoning', 'previous_response_id', 'conversation', 'prompt', ...copied]);

/**
 * The chat completions body for a Responses request to a chat-only deployment; deployment
 * defaults (chat parameters) fill what the request left unset. Keys this module does not know
 * pass through unchanged, as the chat path passes them (a server's own extensions, `extra_body`).
 */
export function responsesToChatBody(clientBody: Json, upstreamModel: string, defaults: Readonly<Json> | null): Json {
  for (const k of ['previous_response_id', 'conversation', 'prompt'] as const) {
    if (clientBody[k] !== undefined && clientBody[k] !== null) {
      throw new ResponsesTranslationError(`\`${k}\` needs a deployment that speaks the Responses API (OpenAI or Azure); this one only speaks chat completions, so send the whole conversation in \`input\`.`, k);
    }
  }
  if (clientBody.background === true) {
    throw new ResponsesTranslationError('`background: true` needs a deployment that speaks the Responses API (OpenAI or Azure); this one only speaks chat completions.', 'background');
  }
  const chat: Json = { model: upstreamModel, messages: messagesOf(clientBody) };
  for (const k of copied) if (clientBody[k] !== undefined) chat[k] = clientBody[k];
  if (clientBody.max_output_tokens !== undefined && clientBody.max_output_tokens !== null) chat.max_tokens = clientBody.max_output_tokens;
  if (Array.isArray(clientBody.tools) && clientBody.tools.length > 0) chat.tools = clientBody.tools.map(chatTool);
  if (clientBody.tool_choice !== undefined) chat.tool_choice = chatToolChoice(clientBody.tool_choice);
  const format = isObject(clientBody.text) ? clientBody.text.format : undefined;
  if (format !== undefined) {
    const rf = responseFormat(format);
    if (rf !== null) chat.response_format = rf;
  }
  if (isObject(clientBody.reasoning) && typeof clientBody.reasoning.effort === 'string') chat.reasoning_effort = clientBody.reasoning.effort;
  if (chat.stream === true) chat.stream_options = { include_usage: true };
  const proxyOnly = new Set(proxyOnlyBodyKeys);
  for (const k in clientBody) {
    if (!mapped.has(k) && !ignored.has(k) && !proxyOnly.has(k)) chat[k] = clientBody[k];
  }
  if (defaults) for (const k in defaults) if (!(k in chat)) chat[k] = defaults[k];
  return chat;
}

function messagesOf(body: Json): Json[] {
  const messages: Json[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '') messages.push({ role: 'system', content: body.instructions });
  const input = body.input;
  if (typeof input === 'string') {
    messages.push({ role: 'user', content: input });
    return messages;
  }
  if (!Array.isArray(input)) throw new ResponsesTranslationError('`input` must be a string or an array of input items.', 'input');
  input.forEach((item, i) => addItem(messages, item, i));
  if (messages.length === 0) throw new ResponsesTranslationError('`input` has no messages to send.', 'input');
  return messages;
}

/** Appends one input item as chat messages; function calls join the assistant turn before them. */
function addItem(messages: Json[], item: unknown, i: number): void {
  if (!isObject(item)) throw new ResponsesTranslationError(`input[${i}] must be an object.`, `input[${i}]`);
  const type = item.type ?? 'message';
  switch (type) {
    case 'message': {
      const role = item.role === 'developer' ? 'system' : item.role;
      if (role !== 'user' && role !== 'assistant' && role !== 'system') {
        throw new ResponsesTranslationError(`input[${i}].role must be user, assistant, system or developer.`, `input[${i}].role`);
      }
      messages.push({ role, content: chatContent(item.content, i) });
      return;
    }
    case 'function_call': {
      const call = { id: item.call_id, type: 'function', function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments ?? {}) } };
      const last = messages[messages.length - 1];
      if (last !== undefined && last.role === 'assistant') {
        const calls = Array.isArray(last.tool_calls) ? last.tool_calls : [];
        last.tool_calls = [...calls, call];
      } else {
        messages.push({ role: 'assistant', content: null, tool_calls: [call] });
      }
      return;
    }
    case 'function_call_output':
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? '') });
      return;
    case 'reasoning':
      // The model's own reasoning from an earlier turn: a chat endpoint takes no such input.
      return;
    default:
      throw new ResponsesTranslationError(`input[${i}] is a "${String(type)}" item, which a chat-only deployment cannot take (message, function_call and function_call_output can be translated).`, `input[${i}].type`);
  }
}

/** A message's content: a string stays one; text-only part lists become one string (what every chat server takes). */
function chatContent(content: unknown, i: number): unknown {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw new ResponsesTranslationError(`input[${i}].content must be a string or an array of content parts.`, `input[${i}].content`);
  const parts: Json[] = [];
  let textOnly = true;
  for (const p of content) {
    if (!isObject(p)) continue;
    if (p.type === 'input_text' || p.type === 'output_text' || p.type === 'text') parts.push({ type: 'text', text: p.text });
    else if (p.type === 'input_image') {
      textOnly = false;
      const url = typeof p.image_url === 'string' ? p.image_url : isObject(p.image_url) ? p.image_url.url : undefined;
      parts.push({ type: 'image_url', image_url: p.detail === undefined ? { url } : { url, detail: p.detail } });
    } else if (p.type === 'refusal') parts.push({ type: 'text', text: p.refusal });
    else throw new ResponsesTranslationError(`input[${i}] has a "${String(p.type)}" content part, which a chat-only deployment cannot take.`, `input[${i}].content`);
  }
  return textOnly ? parts.map((p) => p.text).join('') : parts;
}

function chatTool(tool: unknown, i: number): Json {
  if (!isObject(tool) || tool.type !== 'function') {
    const type = isObject(tool) ? String(tool.type) : typeof tool;
    throw new ResponsesTranslationError(`tools[${i}] is a "${type}" tool; a chat-only deployment takes function tools only.`, `tools[${i}]`);
  }
  const fn: Json = { name: tool.name };
  if (tool.description !== undefined) fn.description = tool.description;
  if (tool.parameters !== undefined && tool.parameters !== null) fn.parameters = tool.parameters;
  if (tool.strict !== undefined && tool.strict !== null) fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function chatToolChoice(choice: unknown): unknown {
  if (isObject(choice) && choice.type === 'function') return { type: 'function', function: { name: choice.name } };
  return choice;
}

/** `text.format` → `response_format`; null for plain text (the chat default). */
function responseFormat(format: unknown): Json | null {
  if (!isObject(format) || format.type === 'text') return null;
  if (format.type === 'json_schema') {
    const schema: Json = { name: format.name ?? 'response', schema: format.schema };
    if (format.strict !== undefined && format.strict !== null) schema.strict = format.strict;
    if (format.description !== undefined) schema.description = format.description;
    return { type: 'json_schema', json_schema: schema };
  }
  return { type: format.type };
}

/**
 * The text a Responses request puts before the model — `instructions` and the text of every
 * input item — for the context-window pre-call check; null for a body that is not a Responses
 * one (no `instructions`, no item objects in `input`), which is counted as before.
 */
export function responsesPromptText(body: Json): string | null {
  const input = body.input;
  const items = Array.isArray(input) && input.some(isObject);
  if (!items && typeof body.instructions !== 'string') return null;
  let text = typeof body.instructions === 'string' ? body.instructions : '';
  if (typeof input === 'string') return text + input;
  if (!Array.isArray(input)) return text;
  for (const item of input) {
    if (typeof item === 'string') text += item;
    if (!isObject(item)) continue;
    if (typeof item.content === 'string') text += item.content;
    else if (Array.isArray(item.content)) for (const p of item.content) if (isObject(p) && typeof p.text === 'string') text += p.text;
    if (typeof item.arguments === 'string') text += item.arguments;
    if (typeof item.output === 'string') text += item.output;
  }
  return text;
}
