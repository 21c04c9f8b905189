/**
 * A streamed POST on undici's low-level `dispatch`, for stream upstream calls: body chunks
 * reach `data()` as undici parses them, with no Readable, AbortSignal, Response object or
 * promise per call or per chunk (what undici's `request()` and a `for await` spend on a
 * stream of small events).
 *
 * Flow control is undici's own: `pause()` stops the parser after the chunk being handled, so
 * the rest waits in the socket and TCP holds the upstream back; `resume()` goes on reading.
 *
 * A subclass says per answer whether its body is streamed (an SSE stream) or read whole (an
 * error status, or an upstream that ignored `stream: true`), and gets each in its own callback.
 */
import type { Dispatcher } from 'undici';
import type { Cancel } from './cancel.js';
import { split } from './target.js';

export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

export abstract class RawStream implements Dispatcher.DispatchHandler {
  protected readonly cancel: Cancel;
  #controller: Dispatcher.DispatchController | null = null;
  /** The chunks of a body read whole; null while the body is streamed. */
  #chunks: Buffer[] | null = null;
  #size = 0;

  constructor(cancel: Cancel) {
    this.cancel = cancel;
  }

  /**
   * The response's status and headers. True: read the body whole and hand it to `whole()`;
   * false: hand each chunk to `data()` and the end to `end()`.
   */
  protected abstract start(status: number, headers: ResponseHeaders): boolean;
  protected abstract data(chunk: Buffer): void;
  protected abstract end(): void;
  protected abstract whole(body: Buffer): void;
  /** The request failed: `err` is the cancel's reason when it was cancelled. */
  protected abstract failed(err: Error): void;

  /** Stops reading the upstream once the current chunk is handled (a no-op before the request starts). */
  protected pause(): void {
    this.#controller?.pause();
  }

  /** Goes on reading; chunks held meanwhile may arrive before this returns. */
  protected resume(): void {
    this.#controller?.resume();
  }

  /** Ends the request from the handler's side (its `failed` is not expected to report it). */
  protected abort(err: Error): void {
    this.#controller?.abort(err);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.cancel.bind((err) => controller.abort(err));
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: ResponseHeaders): void {
    // undici's controller keeps the raw header Buffers (a name and a value each) for the whole
    // response; the parsed `headers` are all this handler reads, so they go now (~1 KB a stream).
    if ('rawHeaders' in controller) (controller as { rawHeaders: unknown }).rawHeaders = null;
    if (this.start(status, headers)) this.#chunks = [];
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const chunks = this.#chunks;
    if (chunks === null) {
      this.data(chunk);
      return;
    }
    chunks.push(chunk);
    this.#size += chunk.length;
  }

  onResponseEnd(): void {
    const chunks = this.#chunks;
    if (chunks === null) this.end();
    else this.whole(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#size));
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.failed(this.cancel.reason ?? err);
  }
}

/** POSTs `body` to `url` with `handler` receiving the answer. Throws for a URL that is not one. */
export function rawStream(dispatcher: Dispatcher, url: string, headers: readonly string[], body: Uint8Array | string, handler: RawStream): void {
  const { origin, path } = split(url);
  dispatcher.dispatch({ origin, path, method: 'POST', headers: headers as string[], body }, handler);
}
