/**
 * Incremental SSE handling for relayed streams: split upstream bytes into complete events,
 * restamp each JSON event's `model` with the name the client asked for (LiteLLM's
 * `_restamp_streaming_chunk_model`) and pick up `usage` when the upstream reports it.
 * An error event (`data: {"error": ...}`, or `event: error`) is not relayed: it ends the
 * stream as a failure, so its text reaches the client only through the error path, which
 * cuts secrets out of it (an upstream may echo the request headers there).
 */
import { findMember } from '../json/find-member.js';
import { SseEventFilter } from '../sse-events.js';
import type { Usage } from './wire.js';

export function readUsage(u: unknown): Usage | null {
  if (u === null || typeof u !== 'object') return null;
  const o = u as Record<string, unknown>;
  const p = typeof o.prompt_tokens === 'number' ? o.prompt_tokens : 0;
  const c = typeof o.completion_tokens === 'number' ? o.completion_tokens : 0;
  const t = typeof o.total_tokens === 'number' ? o.total_tokens : p + c;
  return { promptTokens: p, completionTokens: c, totalTokens: t };
}

/** Keys whose chunks are parsed: what they carry is read. */
const notFastPath: readonly string[] = ['usage', 'error'];

export class SseRestamper extends SseEventFilter {
  /** Null: keep each chunk's own `model` (a fallback answered). */
  readonly #model: string | null;
  /** `model` as JSON text, for the chunks restamped without a parse. */
  readonly #modelJson: string | null;

  constructor(model: string | null) {
    super();
    this.#model = model;
    this.#modelJson = model === null ? null : JSON.stringify(model);
  }

  protected event(raw: string): string {
    // Only single-line `data:` events carry JSON chunks; comments and other fields pass through.
    if (!raw.startsWith('data:') || raw.includes('\ndata:')) {
      if (raw.includes('event:') && /^event:[ \t]*error[ \t]*$/m.test(raw)) {
        this.failure = raw.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(l.charCodeAt(5) === 32 ? 6 : 5)).join('\n');
        return '';
      }
      return `${raw}\n\n`;
    }
    const payload = raw.charCodeAt(5) === 32 ? raw.slice(6) : raw.slice(5);
    if (payload === '[DONE]') {
      this.done = true;
      return 'data: [DONE]\n\n';
    }
    // The usual chunk carries neither usage nor an error: its one `model` is found and replaced
    // in the text, its values are never read (a parse and a stringify per chunk were most of a
    // stream's cost). A chunk with either key, an escaped key, two `model`s, or text the finder
    // cannot follow is parsed.
    const m = findMember(payload, 'model', notFastPath);
    if (m !== null) return this.#modelJson === null ? `${raw}\n\n` : `data: ${payload.slice(0, m.start)}${this.#modelJson}${payload.slice(m.end)}\n\n`;
    let obj: unknown;
    try {
      obj = JSON.parse(payload);
    } catch {
      return `${raw}\n\n`;
    }
    if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
      const o = obj as Record<string, unknown>;
      if (o.error !== undefined && o.error !== null) {
        this.failure = payload;
        return '';
      }
      if (this.#model !== null && 'model' in o) o.model = this.#model;
      if (o.usage) this.usage = readUsage(o.usage) ?? this.usage;
    }
    return `data: ${JSON.stringify(obj)}\n\n`;
  }
}

/** The status an error event stands for: its `error.code` or `status` when that is an HTTP error status, else 500. */
export function failureStatus(payload: string): number {
  let o: unknown;
  try {
    o = JSON.parse(payload);
  } catch {
    return 500;
  }
  if (o === null || typeof o !== 'object') return 500;
  const err = (o as { error?: unknown }).error;
  const candidates = [err !== null && typeof err === 'object' ? (err as Record<string, unknown>).code : undefined, (o as Record<string, unknown>).status];
  for (const c of candidates) {
    const n = typeof c === 'number' ? c : typeof c === 'string' && /^\d{3}$/.test(c) ? Number(c) : NaN;
    if (Number.isInteger(n) && n >= 400 && n <= 599) return n;
  }
  return 500;
}
