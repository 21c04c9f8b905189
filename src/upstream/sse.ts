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

/**
 * Text after a known prefix that sends a chunk back to findMember: a `"model"`, `"usage"` or
 * `"error"` token at any depth, or a `\u` escape (the only escape that could spell one of those
 * names in a key). A false alarm costs only the slower path.
 */
const SUSPECT = /"(?:model|usage|error)"|\\u/;

export class SseRestamper extends SseEventFilter {
  /** Null: keep each chunk's own `model` (a fallback answered). */
  readonly #model: string | null;
  /** `model` as JSON text, for the chunks restamped without a parse. */
  readonly #modelJson: string | null;
  /**
   * The text of the last chunk findMember read, up to the end of its top-level `model` string
   * (null: none yet), and that prefix as relayed. The chunks of one stream start alike (`id`,
   * `object`, `created`, `model`), so a chunk that starts with this prefix has its `model` in the
   * same place, at the top level; only what follows needs looking at.
   */
  #prefix: string | null = null;
  #prefixOut = '';

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
    const p = this.#prefix;
    if (p !== null && payload.length > p.length && payload.slice(0, p.length) === p) {
      // The prefix held the top-level `model` and no other key that matters; the rest is
      // relayed as it came unless something in it might be such a key (then findMember decides).
      const rest = payload.slice(p.length);
      if (!SUSPECT.test(rest)) return this.#modelJson === null ? `${raw}\n\n` : `${this.#prefixOut}${rest}\n\n`;
    }
    const m = findMember(payload, 'model', notFastPath);
    if (m !== null) {
      const head = this.#modelJson === null ? '' : `data: ${payload.slice(0, m.start)}${this.#modelJson}`;
      // Only a string value ends where the next chunk's same prefix would (a number could go on).
      if (payload.charCodeAt(m.start) === 0x22) {
        // Copied, not sliced: a slice keeps the whole text of the read it came from (possibly
        // many events) alive for as long as the stream runs. Once per stream, as a rule.
        this.#prefix = Buffer.from(payload.slice(0, m.end), 'utf16le').toString('utf16le');
        this.#prefixOut = Buffer.from(head, 'utf16le').toString('utf16le');
      }
      return this.#modelJson === null ? `${raw}\n\n` : `${head}${payload.slice(m.end)}\n\n`;
    }
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
