/**
 * An SSE stream split into complete events as text arrives (CRLF and CR line ends read as LF),
 * each event handed to `event()` for what to relay in its place. The relaying filters for chat
 * chunks (upstream/sse.ts) and Responses events (providers/responses-sse.ts) share it. Once
 * an event sets `failure`, nothing after it is read.
 */
import type { Usage } from './upstream/wire.js';

export abstract class SseEventFilter {
  #pending = '';
  usage: Usage | null = null;
  /** True once the stream's last event (`[DONE]`, or a terminal event) has passed. */
  done = false;
  /** The data of the first error event. */
  failure: string | null = null;

  /** Feeds decoded text; returns what the complete events it finished relay as (possibly ''). */
  push(text: string): string {
    const buf = this.#pending + (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);
    let out = '';
    let start = 0;
    for (;;) {
      const end = buf.indexOf('\n\n', start);
      if (end === -1) break;
      out += this.event(buf.slice(start, end));
      start = end + 2;
      if (this.failure !== null) {
        this.#pending = '';
        return out;
      }
    }
    this.#pending = buf.slice(start);
    return out;
  }

  /** Whatever is left when the upstream closes (an event without its blank line). */
  flush(): string {
    const rest = this.#pending.trim();
    this.#pending = '';
    return rest === '' ? '' : this.event(rest);
  }

  /** One event's text (no blank line): what to relay instead, with its blank line, or ''. */
  protected abstract event(raw: string): string;
}
