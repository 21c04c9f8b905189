/**
 * The worker's one seam for Responses API tasks: which body goes upstream, what the answer
 * becomes, and which SSE filter a stream runs through, for pass-through deployments and for
 * chat-only ones (`task.viaChat`). The translations themselves live in
 * src/providers/responses-*.ts; this file only picks between them.
 */
import { ChatToResponsesEvents, responseAsEvents } from '../providers/responses-events.js';
import { chatToResponse, readResponsesUsage, responsesFinishReason } from '../providers/responses-reply.js';
import { passThroughBody, responsesToChatBody, ResponsesTranslationError } from '../providers/responses-request.js';
import { ResponsesSseRestamper } from '../providers/responses-sse.js';
import { readUsage, SseRestamper } from './sse.js';
import type { TaskBase, Usage } from './wire.js';

type Json = Record<string, unknown>;

/** A request the translation refused: the 400 body to answer with instead of calling the upstream. */
export interface Refusal {
  readonly status: 400;
  readonly body: string;
}

/** The upstream body text for a Responses task, or the refusal. `request` is not modified on the translated path. */
export function responsesUpstreamBody(task: TaskBase, request: Json): string | Refusal {
  if (!task.viaChat) return JSON.stringify(passThroughBody(request, task.upstreamModel, task.bodyDefaults));
  try {
    return JSON.stringify(responsesToChatBody(request, task.upstreamModel, task.bodyDefaults));
  } catch (err) {
    if (!(err instanceof ResponsesTranslationError)) throw err;
    return { status: 400, body: JSON.stringify({ error: { message: err.message, type: 'invalid_request_error', param: err.param, code: null } }) };
  }
}

/** A successful non-stream answer as the client gets it, with what the router reads from it. */
export function responsesReply(task: TaskBase, answer: Json, request: Json): { body: Json; usage: Usage | null; finishReason: string | null } {
  if (task.viaChat) {
    const choice: unknown = Array.isArray(answer.choices) ? answer.choices[0] : undefined;
    const fr = choice !== null && typeof choice === 'object' ? (choice as Json).finish_reason : undefined;
    return { body: chatToResponse(answer, request, task.responseModel ?? task.upstreamModel), usage: readUsage(answer.usage), finishReason: typeof fr === 'string' ? fr : null };
  }
  if (task.responseModel !== null && 'model' in answer) answer.model = task.responseModel;
  return { body: answer, usage: readResponsesUsage(answer.usage), finishReason: responsesFinishReason(answer) };
}

/** What the worker's stream loop needs of an SSE filter (SseRestamper's surface). */
export interface SseFilter {
  push(text: string): string;
  flush(): string;
  readonly done: boolean;
  readonly failure: string | null;
  readonly usage: Usage | null;
}

/** The filter a Responses stream runs through. */
export function responsesSse(task: TaskBase, request: Json): SseFilter {
  // After a fallback (no name to restamp with), the answering model's own name.
  return task.viaChat ? new ChatStreamAsResponses(task.responseModel ?? task.upstreamModel, request) : new ResponsesSseRestamper(task.responseModel ?? task.upstreamModel);
}

/** An upstream that answered `stream: true` with one JSON body: the whole answer told as events. */
export function responsesWholeAsEvents(task: TaskBase, answer: Json, request: Json): { text: string; usage: Usage | null } {
  const r = responsesReply(task, answer, request);
  return { text: responseAsEvents(r.body), usage: r.usage };
}

/**
 * A chat stream re-told as a Responses stream: SseRestamper splits it, finds error events and
 * reads usage as for any chat stream; each complete chunk it passes becomes Responses events,
 * and `[DONE]` becomes the closing ones.
 */
class ChatStreamAsResponses implements SseFilter {
  readonly #chat: SseRestamper;
  readonly #events: ChatToResponsesEvents;

  constructor(model: string, request: Json) {
    this.#chat = new SseRestamper(model);
    this.#events = new ChatToResponsesEvents(model, request);
  }

  get done(): boolean {
    return this.#chat.done;
  }

  get failure(): string | null {
    return this.#chat.failure;
  }

  get usage(): Usage | null {
    return this.#chat.usage;
  }

  push(text: string): string {
    return this.#tell(this.#chat.push(text));
  }

  flush(): string {
    return this.#tell(this.#chat.flush());
  }

  #tell(chat: string): string {
    let out = '';
    for (const ev of chat.split('\n\n')) {
      if (!ev.startsWith('data:')) continue;
      const payload = ev.slice(ev.charCodeAt(5) === 32 ? 6 : 5);
      if (payload === '[DONE]') {
        out += this.#events.end();
        continue;
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(payload);
      } catch {
        continue;
      }
      out += this.#events.chunk(chunk);
    }
    return out;
  }
}
