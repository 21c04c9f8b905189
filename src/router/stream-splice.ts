/**
 * Splices a fallback's stream onto the one a client is already reading, so the client sees
 * one stream: every chunk keeps the first stream's `id` and `created`, the fallback's role
 * chunk is dropped when a role already went out, and text the fallback repeats from what the
 * client already has is cut (LiteLLM's continuation prompt asks the model not to repeat
 * itself; not every model obeys, and a provider that honours `prefix` may echo it). The
 * fallback's `[DONE]` is the stream's only one, since the broken stream never sent its own.
 */
import type { StreamTranscript } from './stream-transcript.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export class StreamSplice {
  readonly #id: string | null;
  readonly #created: number | null;
  readonly #roleSent: boolean;
  /** What the client already has; the fallback's text is matched against it until it departs. */
  readonly #prefix: string;
  #matching: boolean;
  #held = '';
  #pending = '';

  constructor(from: Pick<StreamTranscript, 'id' | 'created' | 'roleSent' | 'text'>) {
    this.#id = from.id;
    this.#created = from.created;
    this.#roleSent = from.roleSent;
    this.#prefix = from.text;
    this.#matching = from.text !== '';
  }

  /** The fallback's complete events, rewritten; '' when nothing of them is left to send. */
  push(chunk: string): string {
    const text = this.#pending + chunk;
    let out = '';
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n\n', start);
      if (end === -1) break;
      out += this.#event(text.slice(start, end));
      start = end + 2;
    }
    this.#pending = text.slice(start);
    return out;
  }

  #event(raw: string): string {
    if (!raw.startsWith('data:')) return `${raw}\n\n`;
    const payload = raw.charCodeAt(5) === 32 ? raw.slice(6) : raw.slice(5);
    if (payload === '[DONE]') return 'data: [DONE]\n\n';
    let o: unknown;
    try {
      o = JSON.parse(payload);
    } catch {
      return `${raw}\n\n`;
    }
    if (!isRecord(o)) return `${raw}\n\n`;
    if (this.#id !== null && 'id' in o) o.id = this.#id;
    if (this.#created !== null && 'created' in o) o.created = this.#created;
    const choices = o.choices;
    if (Array.isArray(choices) && choices.length > 0) {
      let empty = true;
      for (const c of choices as unknown[]) {
        if (!isRecord(c)) {
          empty = false;
          continue;
        }
        const d = c.delta;
        if (isRecord(d)) {
          if (this.#roleSent) delete d.role;
          if (typeof d.content === 'string') {
            const content = this.#dedupe(d.content);
            if (content === '') delete d.content;
            else d.content = content;
          }
          if (Object.keys(d).length > 0) empty = false;
        } else {
          empty = false;
        }
        if (c.finish_reason !== undefined && c.finish_reason !== null) empty = false;
      }
      // A chunk left with nothing to say (the role chunk, repeated text) is not sent.
      if (empty && (o.usage === undefined || o.usage === null)) return '';
    }
    return `data: ${JSON.stringify(o)}\n\n`;
  }

  /**
   * The part of `content` that is new to the client. While the fallback's text so far is a
   * start of what the client has, it is held back; once it covers all of it, only what
   * follows is sent; if it departs first, everything held is sent (it was not a repeat).
   */
  #dedupe(content: string): string {
    if (!this.#matching) return content;
    this.#held += content;
    const held = this.#held;
    const prefix = this.#prefix;
    if (held.length <= prefix.length) {
      if (prefix.startsWith(held)) {
        if (held.length === prefix.length) this.#stopMatching();
        return '';
      }
      this.#stopMatching();
      return held;
    }
    this.#stopMatching();
    return held.startsWith(prefix) ? held.slice(prefix.length) : held;
  }

  #stopMatching(): void {
    this.#matching = false;
    this.#held = '';
  }
}
