/**
 * A buffered JSON POST on undici's low-level `dispatch`: no Readable stream, AbortSignal or
 * Response object per call, which is most of what undici's `request()` spends on a small
 * non-streaming answer. Used for non-stream upstream calls, the hot path of the proxy.
 */
import type { Dispatcher } from 'undici';
import type { Cancel } from './cancel.js';
import { split } from './target.js';

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
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
