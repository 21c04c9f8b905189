/**
 * A Responses API stream relayed from a deployment that speaks it: split into complete events,
 * `response.model` restamped with the name the client asked for (only the lifecycle events
 * carry it; deltas pass as they came), usage read from the final response, and the end of the
 * stream recognised by its terminal event (Responses streams send no `[DONE]`). An error event
 * (`event: error`, `"type": "error"`, or a top-level `error` object) is not relayed: it ends the
 * stream as a failure, so its text reaches the client only through the error path, which cuts
 * secrets out of it. The same surface as upstream/sse.ts's SseRestamper, which the worker uses
 * for the other endpoints.
 */
import { SseEventFilter } from '../sse-events.js';
import { readResponsesUsage } from './responses-reply.js';

const terminal = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export class ResponsesSseRestamper extends SseEventFilter {
  readonly #model: string;

  constructor(model: string) {
    super();
    this.#model = model;
  }

  protected event(raw: string): string {
    let name: string | null = null;
    let data = '';
    let dataLines = 0;
    for (const line of raw.split('\n')) {
      if (line.startsWith('event:')) name = line.slice(6).trim();
      else if (line.startsWith('data:')) {
        data += (dataLines++ > 0 ? '\n' : '') + line.slice(line.charCodeAt(5) === 32 ? 6 : 5);
      }
    }
    if (name === 'error') {
      this.failure = data;
      return '';
    }
    if (dataLines === 0) return `${raw}\n\n`;
    if (data === '[DONE]') {
      this.done = true;
      return `${raw}\n\n`;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      return `${raw}\n\n`;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return `${raw}\n\n`;
    const o = obj as Record<string, unknown>;
    if (o.type === 'error' || (o.error !== null && typeof o.error === 'object')) {
      this.failure = data;
      return '';
    }
    const resp = o.response;
    if (resp === null || typeof resp !== 'object' || Array.isArray(resp)) return `${raw}\n\n`;
    const r = resp as Record<string, unknown>;
    if (typeof o.type === 'string' && terminal.has(o.type)) {
      this.done = true;
      this.usage = readResponsesUsage(r.usage) ?? this.usage;
    }
    if ('model' in r) r.model = this.#model;
    const head = name ?? (typeof o.type === 'string' ? o.type : null);
    return `${head === null ? '' : `event: ${head}\n`}data: ${JSON.stringify(o)}\n\n`;
  }
}
