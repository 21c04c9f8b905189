/**
 * A buffered JSON POST on undici's low-level `dispatch`: no Readable stream, AbortSignal or
 * Response object per call, which is most of what undici's `request()` spends on a small
 * non-streaming answer. Used for non-stream upstream calls, the hot path of the proxy.
 */
import type { Dispatcher } from 'undici';

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

/** Cancels a call in flight; `cancel` before the request starts cancels it as soon as it does. */
export class Cancel {
  #abort: ((err: Error) => void) | null = null;
  #reason: Error | null = null;

  get reason(): Error | null {
    return this.#reason;
  }

  cancel(reason: Error): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    this.#abort?.(reason);
  }

  /** Called by the handler once undici hands it a way to abort. */
  bind(abort: (err: Error) => void): void {
    this.#abort = abort;
    if (this.#reason !== null) abort(this.#reason);
  }
}

const parsed = new Map<string, { origin: string; path: string }>();

/** Origin and path of a target URL; targets are few and fixed, so each is parsed once per thread. */
function split(url: string): { origin: string; path: string } {
  let p = parsed.get(url);
  if (p === undefined) {
    const u = new URL(url);
    p = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (parsed.size < 10_000) parsed.set(url, p);
  }
  return p;
}

export function rawPost(dispatcher: Dispatcher, url: string, headers: readonly string[], body: Uint8Array | string, cancel: Cancel): Promise<RawResponse> {
  const { origin, path } = split(url);
  return new Promise((resolve, reject) => {
    let status = 0;
    let resHeaders: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];
    let size = 0;
    dispatcher.dispatch(
      { origin, path, method: 'POST', headers: headers as string[], body },
      {
        onRequestStart(controller) {
          cancel.bind((err) => controller.abort(err));
        },
        onResponseStart(_controller, statusCode, h) {
          status = statusCode;
          resHeaders = h;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
          size += chunk.length;
        },
        onResponseEnd() {
          resolve({ status, headers: resHeaders, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
        },
        onResponseError(_controller, err) {
          reject(cancel.reason ?? err);
        },
      },
    );
  });
}
