/**
 * A streamed POST on undici's low-level `dispatch`, for stream upstream calls: body chunks
 * reach `data()` as undici parses them, with no Readable, AbortSignal, Response object or
 * promise per call or per chunk (what undici's `request()` and a `for await` spend on a
 * stream of small events).
 *
 * The handler speaks undici's original callback API (onConnect / onHeaders / onData /
 * onComplete / onError), which undici 7's core calls directly, as raw-post.ts does: a handler
 * with onRequestStart / onResponseStart is wrapped in an UnwrapHandler that parses every raw
 * header into an object first, and keeps the raw header Buffers on its controller for the
 * whole response. Here the subclass gets the raw headers for the length of `start()` and
 * decodes only what it needs (relay-headers.ts); nothing keeps them after.
 *
 * Flow control is undici's own: `pause()` makes the current `onData` return false, which stops
 * the parser after that chunk, so the rest waits in the socket and TCP holds the upstream back;
 * `resume()` calls the resume function undici handed to `onHeaders`, which goes on reading.
 *
 * A subclass says per answer whether its body is streamed (an SSE stream) or read whole (an
 * error status, or an upstream that ignored `stream: true`), and gets each in its own callback.
 *
 * Risk: undici 7 marks the callback API `@deprecated` in its types (see raw-post.ts).
 */
import type { Dispatcher } from 'undici';
import type { Cancel } from './cancel.js';
import { split } from './target.js';

export abstract class RawStream implements Dispatcher.DispatchHandler {
  protected readonly cancel: Cancel;
  /** undici's abort for this request, from onConnect. */
  #abort: ((err?: Error) => void) | null = null;
  /**
   * undici's resume for this request's parser, from onHeaders; dropped once the request ends,
   * as the parser (the socket's) goes on to serve other requests.
   */
  #resume: (() => void) | null = null;
  /** Paused by the handler: the next `onData` says so, `resume()` undoes it. */
  #paused = false;
  /** The chunks of a body read whole; null while the body is streamed. */
  #chunks: Buffer[] | null = null;
  #size = 0;

  constructor(cancel: Cancel) {
    this.cancel = cancel;
  }

  /**
   * The response's status and raw headers (`[name, value, …]` Buffers, names in the upstream's
   * case; read them, keep nothing of them). True: read the body whole and hand it to `whole()`;
   * false: hand each chunk to `data()` and the end to `end()`.
   */
  protected abstract start(status: number, raw: readonly Buffer[]): boolean;
  protected abstract data(chunk: Buffer): void;
  protected abstract end(): void;
  protected abstract whole(body: Buffer): void;
  /** The request failed: `err` is the cancel's reason when it was cancelled. */
  protected abstract failed(err: Error): void;

  /** Stops reading the upstream once the current chunk is handled. */
  protected pause(): void {
    this.#paused = true;
  }

  /** Goes on reading; chunks held meanwhile may arrive before this returns. */
  protected resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    // A no-op unless undici's parser is paused (it is not while the chunk that paused is handled).
    this.#resume?.();
  }

  /** Ends the request from the handler's side (its `failed` is not expected to report it). */
  protected abort(err: Error): void {
    this.#abort?.(err);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    this.cancel.bind(abort);
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    // An informational answer (1xx; undici fails a 100 itself): the final one comes after it.
    if (status < 200) return true;
    this.#resume = resume;
    if (this.start(status, raw)) this.#chunks = [];
    return !this.#paused;
  }

  onData(chunk: Buffer): boolean {
    const chunks = this.#chunks;
    if (chunks === null) this.data(chunk);
    else {
      chunks.push(chunk);
      this.#size += chunk.length;
    }
    return !this.#paused;
  }

  onComplete(): void {
    this.#resume = null;
    const chunks = this.#chunks;
    if (chunks === null) this.end();
    else this.whole(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size));
  }

  onError(err: Error): void {
    this.#resume = null;
    this.failed(this.cancel.reason ?? err);
  }
}

/** POSTs `body` to `url` with `handler` receiving the answer. Throws for a URL that is not one. */
export function rawStream(dispatcher: Dispatcher, url: string, headers: readonly string[], body: Uint8Array | string, handler: RawStream): void {
  const { origin, path } = split(url);
  dispatcher.dispatch({ origin, path, method: 'POST', headers: headers as string[], body }, handler);
}
