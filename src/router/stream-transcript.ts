/**
 * What a client has been sent of a chat stream so far, read from the SSE bytes on their way
 * to it: the stream's `id` and `created`, whether the role chunk went out, and the assistant
 * text. A stream that breaks after its first byte continues on a fallback from this text
 * (LiteLLM's mid-stream fallback, router.py `_acompletion_streaming_iterator`).
 *
 * Only what can be continued honestly is: one choice of plain text. A tool call, a second
 * choice, a finish reason or `[DONE]` makes the transcript not continuable, and it stops
 * reading (the bytes still flow; nothing more is parsed). Only streams whose group has a
 * fallback are read at all, so streams without one pay nothing.
 */

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export class StreamTranscript {
  /** The first chunk's `id` and `created`: every chunk of a continued stream carries them. */
  id: string | null = null;
  created: number | null = null;
  /** A chunk with `delta.role` went out: a continuation sends no second one. */
  roleSent = false;
  /** The assistant text sent so far. */
  text = '';
  continuable = true;
  #pending = '';

  /** Reads SSE text the client is about to get (complete events, as the worker sends them). */
  observe(chunk: string): void {
    if (!this.continuable) return;
    const text = this.#pending + chunk;
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n\n', start);
      if (end === -1) break;
      this.#event(text.slice(start, end));
      start = end + 2;
      if (!this.continuable) {
        this.#pending = '';
        return;
      }
    }
    this.#pending = text.slice(start);
  }

  #event(raw: string): void {
    if (!raw.startsWith('data:')) return;
    const payload = raw.charCodeAt(5) === 32 ? raw.slice(6) : raw.slice(5);
    if (payload === '[DONE]') {
      this.continuable = false;
      return;
    }
    let o: unknown;
    try {
      o = JSON.parse(payload);
    } catch {
      this.continuable = false;
      return;
    }
    if (!isRecord(o)) return;
    if (this.id === null && typeof o.id === 'string') this.id = o.id;
    if (this.created === null && typeof o.created === 'number') this.created = o.created;
    const choices = o.choices;
    if (!Array.isArray(choices)) return;
    for (const c of choices as unknown[]) {
      if (!isRecord(c) || (c.index !== undefined && c.index !== 0) || (c.finish_reason !== undefined && c.finish_reason !== null)) {
        this.continuable = false;
        return;
      }
      const d = c.delta;
      if (!isRecord(d)) continue;
      if (d.role !== undefined && d.role !== null) this.roleSent = true;
      if ((d.tool_calls !== undefined && d.tool_calls !== null) || (d.function_call !== undefined && d.function_call !== null)) {
        this.continuable = false;
        return;
      }
      if (typeof d.content === 'string') this.text += d.content;
    }
  }
}
