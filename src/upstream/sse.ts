/**
 * Incremental SSE handling for relayed streams: split upstream bytes into complete events,
 * restamp each JSON event's `model` with the name the client asked for (LiteLLM's
 * `_restamp_streaming_chunk_model`) and pick up `usage` when the upstream reports it.
 */
import type { Usage } from './wire.js';

export function readUsage(u: unknown): Usage | null {
  if (u === null || typeof u !== 'object') return null;
  const o = u as Record<string, unknown>;
  const p = typeof o.prompt_tokens === 'number' ? o.prompt_tokens : 0;
  const c = typeof o.completion_tokens === 'number' ? o.completion_tokens : 0;
  const t = typeof o.total_tokens === 'number' ? o.total_tokens : p + c;
  return { promptTokens: p, completionTokens: c, totalTokens: t };
}

export class SseRestamper {
  #pending = '';
  usage: Usage | null = null;
  /** True once `data: [DONE]` has passed. */
  done = false;
  readonly #model: string;

  constructor(model: string) {
    this.#model = model;
  }

  /** Feeds decoded text; returns the complete events it finished, re-serialised (possibly ''). */
  push(text: string): string {
    let buf = this.#pending + (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);
    let out = '';
    let start = 0;
    for (;;) {
      const end = buf.indexOf('\n\n', start);
      if (end === -1) break;
      out += this.#event(buf.slice(start, end));
      start = end + 2;
    }
    buf = buf.slice(start);
    this.#pending = buf;
    return out;
  }

  /** Whatever is left when the upstream closes (an event without its blank line). */
  flush(): string {
    const rest = this.#pending.trim();
    this.#pending = '';
    return rest === '' ? '' : this.#event(rest);
  }

  #event(raw: string): string {
    // Only single-line `data:` events carry JSON chunks; comments and other fields pass through.
    if (!raw.startsWith('data:') || raw.includes('\ndata:')) return `${raw}\n\n`;
    const payload = raw.charCodeAt(5) === 32 ? raw.slice(6) : raw.slice(5);
    if (payload === '[DONE]') {
      this.done = true;
      return 'data: [DONE]\n\n';
    }
    let obj: unknown;
    try {
      obj = JSON.parse(payload);
    } catch {
      return `${raw}\n\n`;
    }
    if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
      const o = obj as Record<string, unknown>;
      if ('model' in o) o.model = this.#model;
      if (o.usage) this.usage = readUsage(o.usage) ?? this.usage;
    }
    return `data: ${JSON.stringify(obj)}\n\n`;
  }
}
