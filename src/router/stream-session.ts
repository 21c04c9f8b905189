/**
 * One client stream across the attempts that feed it. It sits between the attempts and the
 * server's relay when the requested group has a fallback: it keeps the transcript of what the
 * client got, and when the stream breaks after its first byte with an error worth another model
 * (5xx, 408, 429, a cut connection; LiteLLM's MidStreamFallbackError covers the same, 4xx aside)
 * it asks the plan to continue it on a fallback instead of ending it with an error event. The
 * fallback's bytes then pass through a splice, so the client keeps reading one stream. When no
 * fallback takes over, the client gets the original error event, as without a fallback.
 */
import type { StreamHandle } from '../upstream/dispatch.js';
import { StreamSplice } from './stream-splice.js';
import { StreamTranscript } from './stream-transcript.js';
import type { Reply, StreamConsumer } from './types.js';
import type { Usage } from '../upstream/wire.js';

/** Continues the broken stream on a fallback from `generated`; resolves true once one is streaming. */
export type StreamContinuer = (generated: string) => Promise<boolean>;

/** Statuses of a mid-stream failure that another model may get past. */
function worthContinuing(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export class StreamSession implements StreamConsumer {
  readonly #out: StreamConsumer;
  readonly #continue: StreamContinuer;
  readonly #transcript = new StreamTranscript();
  #splice: StreamSplice | null = null;
  #handle: StreamHandle | null = null;

  constructor(out: StreamConsumer, continuer: StreamContinuer) {
    this.#out = out;
    this.#continue = continuer;
  }

  bind(handle: StreamHandle): void {
    this.#handle = handle;
    this.#out.bind(handle);
  }

  start(headers: readonly string[], upstreamMs?: number): void {
    this.#out.start(headers, upstreamMs);
  }

  data(text: string): void {
    let out = text;
    if (this.#splice !== null) {
      out = this.#splice.push(text);
      if (out === '') {
        // Nothing of this frame reaches the socket: its credit goes back now, or the worker's window would shrink.
        this.#handle?.credit(1);
        return;
      }
    }
    this.#transcript.observe(out);
    this.#out.data(out);
  }

  end(usage: Usage | null): void {
    this.#out.end(usage);
  }

  reply(reply: Reply): void {
    this.#out.reply(reply);
  }

  error(body: string, status: number): void {
    const t = this.#transcript;
    if (!t.continuable || !worthContinuing(status)) {
      this.#out.error(body, status);
      return;
    }
    this.#splice = new StreamSplice(t);
    const giveUp = (): void => this.#out.error(body, status);
    this.#continue(t.text).then((ok) => {
      if (!ok) giveUp();
    }, giveUp);
  }
}
