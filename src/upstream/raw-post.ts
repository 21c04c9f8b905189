/**
 * A buffered JSON POST on undici's low-level `dispatch`: no Readable stream, AbortSignal or
 * Response object per call, which is most of what undici's `request()` spends on a small
 * non-streaming answer. Used for non-stream upstream calls, the hot path of the proxy.
 *
 * The handler speaks undici's original callback API (onConnect / onHeaders / onData /
 * onComplete / onError), which undici 7's core still calls natively. A handler with the newer
 * onRequestStart / onResponseStart is wrapped in an UnwrapHandler that parses every raw header
 * into an object first (a lower-cased name and a latin1 string each, arrays for repeats):
 * measured, that was the largest cost of a call after the socket write and GC against an
 * OpenAI-like upstream (~20 headers an answer). This handler decodes only the headers the
 * worker uses: the relayed ones (relay-headers.ts) and, on an error status, Retry-After.
 *
 * Risk: undici 7 marks the callback API `@deprecated` in its types (no runtime warning; its own
 * `request()` and `stream()` still use it). Should a later undici drop it, this handler moves to
 * onResponseStart and reads `controller.rawHeaders` the same way, if that still skips the parse.
 */
import type { Dispatcher } from 'undici';
import type { Cancel } from './cancel.js';
import { relayedFromRaw, retryAfterOf } from './relay-headers.js';
import { split } from './target.js';

export interface RawResponse {
  readonly status: number;
  /** The upstream headers relayed to the client (relay-headers.ts); null when none. */
  readonly relayed: string[] | null;
  /** The first Retry-After value of an error answer (status ≥ 400); undefined otherwise. */
  readonly retryAfter: string | undefined;
  readonly body: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** How a call ends: (null, the answer), or (what failed, null); a cancelled call fails with the cancel's reason. */
export type PostDone = (err: unknown, res: RawResponse | null) => void;

/** One call's handler; it is also the RawResponse it hands over (one object a call). */
class Post implements Dispatcher.DispatchHandler, RawResponse {
  status = 0;
  relayed: string[] | null = null;
  retryAfter: string | undefined = undefined;
  body: Buffer = EMPTY;
  /** Chunks after the first, for an answer that comes in more than one. */
  #more: Buffer[] | null = null;
  #size = 0;
  readonly #cancel: Cancel;
  readonly #done: PostDone;

  constructor(cancel: Cancel, done: PostDone) {
    this.#cancel = cancel;
    this.#done = done;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#cancel.bind(abort);
  }

  onHeaders(status: number, raw: Buffer[]): boolean {
    // Called again after an informational (1xx) answer: the final one's are what count.
    this.status = status;
    this.relayed = relayedFromRaw(raw);
    this.retryAfter = status >= 400 ? retryAfterOf(raw) : undefined;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#size === 0) this.body = chunk;
    else (this.#more ??= []).push(chunk);
    this.#size += chunk.length;
    return true;
  }

  onComplete(): void {
    if (this.#more !== null) this.body = Buffer.concat([this.body, ...this.#more], this.#size);
    this.#done(null, this);
  }

  onError(err: Error): void {
    this.#done(this.#cancel.reason ?? err, null);
  }
}

/**
 * POSTs `body` to `url`; `done` gets the answer or the failure, once, from undici's callbacks
 * (a callback, not a promise: the caller resolves its own promise with the finished result).
 * Throws for a URL that is not one.
 */
export function rawPost(dispatcher: Dispatcher, url: string, headers: readonly string[], body: Uint8Array | string, cancel: Cancel, done: PostDone): void {
  const { origin, path } = split(url);
  dispatcher.dispatch({ origin, path, method: 'POST', headers: headers as string[], body }, new Post(cancel, done));
}
