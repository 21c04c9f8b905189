/**
 * A chat completions stream re-told as a Responses API stream. Fed parsed
 * `chat.completion.chunk` objects in order, it emits OpenAI's event sequence:
 *
 *   response.created, response.in_progress,
 *   per output item: response.output_item.added, (message) response.content_part.added,
 *     response.output_text.delta… | (function call) response.function_call_arguments.delta…,
 *     then response.output_text.done, response.content_part.done | response.function_call_arguments.done,
 *     response.output_item.done,
 *   response.completed (or response.incomplete).
 *
 * Every event carries `sequence_number`, and `output_index`/`content_index` match the items
 * announced before, which is what openai-node's ResponseStream checks. Pure: strings out.
 */
import { functionCallItem, itemId, messageItem, outputText, responseShell, responsesUsageOf, statusFor } from './responses-reply.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

type Item =
  | { kind: 'message'; readonly id: string; text: string; open: boolean }
  | { kind: 'call'; readonly id: string; readonly callId: string; readonly name: string; args: string; open: boolean };

export class ChatToResponsesEvents {
  readonly #id = itemId('resp');
  readonly #model: string;
  readonly #request: Json;
  readonly #createdAt: number;
  #seq = 0;
  #started = false;
  #ended = false;
  readonly #items: Item[] = [];
  /** Chat `tool_calls[].index` → position in #items. */
  readonly #calls = new Map<number, number>();
  #message = -1;
  #finish: unknown = null;
  #usage: Json | null = null;

  /** `model`: the name the client asked for; `request`: the client's Responses body (echoed in the response object). */
  constructor(model: string, request: Json, createdAt = Math.floor(Date.now() / 1000)) {
    this.#model = model;
    this.#request = request;
    this.#createdAt = createdAt;
  }

  /** The events one chat chunk makes (the opening events come with the first). */
  chunk(c: unknown): string {
    let out = this.#start();
    if (!isObject(c)) return out;
    if (isObject(c.usage)) this.#usage = responsesUsageOf(c.usage);
    const choice = Array.isArray(c.choices) && isObject(c.choices[0]) ? c.choices[0] : null;
    if (choice === null) return out;
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) this.#finish = choice.finish_reason;
    const delta = isObject(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string' && delta.content !== '') out += this.#text(delta.content);
    if (Array.isArray(delta.tool_calls)) for (const tc of delta.tool_calls) if (isObject(tc)) out += this.#toolCall(tc);
    return out;
  }

  /** The closing events: every open item done, then the final response with usage. Once only. */
  end(): string {
    if (this.#ended) return '';
    let out = this.#start();
    this.#ended = true;
    if (this.#items.length === 0) out += this.#openMessage();
    for (let i = 0; i < this.#items.length; i++) out += this.#close(i);
    const { status, incomplete } = statusFor(this.#finish);
    const resp = this.#shell(status);
    resp.incomplete_details = incomplete;
    resp.usage = this.#usage;
    return out + this.#event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: resp });
  }

  #shell(status: 'in_progress' | 'completed' | 'incomplete'): Json {
    const resp = responseShell(this.#id, this.#model, this.#createdAt, this.#request, status);
    resp.output = this.#items.map((it) => this.#itemJson(it));
    return resp;
  }

  #itemJson(it: Item): Json {
    const status = it.open ? 'in_progress' : 'completed';
    return it.kind === 'message' ? messageItem(it.id, it.text, status) : functionCallItem(it.id, it.callId, it.name, it.args, status);
  }

  #event(type: string, fields: Json): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.#seq++, ...fields })}\n\n`;
  }

  #start(): string {
    if (this.#started) return '';
    this.#started = true;
    const resp = this.#shell('in_progress');
    return this.#event('response.created', { response: resp }) + this.#event('response.in_progress', { response: resp });
  }

  #openMessage(): string {
    const index = this.#items.length;
    const item: Item = { kind: 'message', id: itemId('msg'), text: '', open: true };
    this.#items.push(item);
    this.#message = index;
    return this.#event('response.output_item.added', { output_index: index, item: messageItem(item.id, '', 'in_progress') })
      + this.#event('response.content_part.added', { item_id: item.id, output_index: index, content_index: 0, part: outputText('') });
  }

  #text(delta: string): string {
    let out = '';
    if (this.#message === -1) out += this.#openMessage();
    const index = this.#message;
    const item = this.#items[index]!;
    if (item.kind === 'message') item.text += delta;
    return out + this.#event('response.output_text.delta', { item_id: item.id, output_index: index, content_index: 0, delta, logprobs: [] });
  }

  #toolCall(tc: Json): string {
    const chatIndex = typeof tc.index === 'number' ? tc.index : 0;
    const fn = isObject(tc.function) ? tc.function : {};
    let out = '';
    let index = this.#calls.get(chatIndex);
    if (index === undefined) {
      // A new call ends the text before it: items are told one after another.
      if (this.#message !== -1) out += this.#close(this.#message);
      index = this.#items.length;
      const item: Item = { kind: 'call', id: itemId('fc'), callId: typeof tc.id === 'string' ? tc.id : itemId('fc'), name: typeof fn.name === 'string' ? fn.name : '', args: '', open: true };
      this.#items.push(item);
      this.#calls.set(chatIndex, index);
      out += this.#event('response.output_item.added', { output_index: index, item: this.#itemJson(item) });
    }
    const item = this.#items[index]!;
    if (typeof fn.arguments === 'string' && fn.arguments !== '' && item.kind === 'call') {
      item.args += fn.arguments;
      out += this.#event('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: fn.arguments });
    }
    return out;
  }

  #close(index: number): string {
    const item = this.#items[index]!;
    if (!item.open) return '';
    item.open = false;
    let out = '';
    if (item.kind === 'message') {
      if (this.#message === index) this.#message = -1;
      out += this.#event('response.output_text.done', { item_id: item.id, output_index: index, content_index: 0, text: item.text, logprobs: [] });
      out += this.#event('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part: outputText(item.text) });
    } else {
      out += this.#event('response.function_call_arguments.done', { item_id: item.id, output_index: index, name: item.name, arguments: item.args });
    }
    return out + this.#event('response.output_item.done', { output_index: index, item: this.#itemJson(item) });
  }
}

/** A whole Responses object told as a stream (an upstream that answered JSON to `stream: true`). */
export function responseAsEvents(resp: Json): string {
  let seq = 0;
  const ev = (type: string, fields: Json): string => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`;
  const output = Array.isArray(resp.output) ? resp.output : [];
  let out = ev('response.created', { response: { ...resp, status: 'in_progress', output: [], usage: null } });
  output.forEach((item, i) => {
    out += ev('response.output_item.added', { output_index: i, item });
    out += ev('response.output_item.done', { output_index: i, item });
  });
  const final = resp.status === 'incomplete' ? 'response.incomplete' : resp.status === 'failed' ? 'response.failed' : 'response.completed';
  return out + ev(final, { response: resp });
}
