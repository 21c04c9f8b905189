/**
 * Response writing. Every write from outside a uWS callback is corked: one syscall per
 * response instead of one per header.
 */
import { ProxyError, proxyErrorBody, statusLine } from '../errors.js';
import type { Reply } from '../router/types.js';
import { KEEP_ALIVE_HINT, type HttpResponse } from './uws.js';

/** Per-response state the server keeps beside uWS's object. */
export interface ResponseState {
  aborted: boolean;
  /** Set when the response has been ended (or taken over by a stream relay that ended it). */
  finished: boolean;
  /** Set once a stream relay has written the 200 and SSE headers: from then on only events can follow. */
  streaming: boolean;
  /** Ask the client to close the connection (during shutdown, after a refused body). */
  closeConnection: boolean;
}

export function newResponseState(closeConnection: boolean): ResponseState {
  return { aborted: false, finished: false, streaming: false, closeConnection };
}


export function writeReply(res: HttpResponse, st: ResponseState, reply: Reply): void {
  if (st.aborted || st.finished) return;
  try {
    res.cork(() => {
      res.writeStatus(statusLine(reply.status));
      res.writeHeader('content-type', 'application/json');
      if (!st.closeConnection) res.writeHeader('keep-alive', KEEP_ALIVE_HINT);
      const h = reply.headers;
      for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i]!, h[i + 1]!);
      res.end(reply.body, st.closeConnection);
    });
  } catch (err) {
    // Half a response is out (a status line cannot be taken back): drop the connection rather
    // than finish it with a status that is not the answer, then let the caller report the error.
    abandon(res, st);
    throw err;
  }
  st.finished = true;
}

/** Closes the connection under a response that cannot be completed. Never throws. */
function abandon(res: HttpResponse, st: ResponseState): void {
  st.finished = true;
  try {
    if (!st.aborted) res.close();
  } catch {
    /* already gone */
  }
}

export function writeError(res: HttpResponse, st: ResponseState, e: ProxyError, extraHeaders: readonly string[] = []): void {
  const headers: string[] = [...extraHeaders];
  if (e.headers) for (const k in e.headers) headers.push(k, e.headers[k]!);
  writeReply(res, st, { status: e.status, body: proxyErrorBody(e), headers });
}

export function writeJson(res: HttpResponse, st: ResponseState, status: number, body: string): void {
  writeReply(res, st, { status, body, headers: [] });
}

const internalError = new ProxyError('INTERNAL', 'The proxy failed while handling this request; the error has been logged. Other requests are unaffected.');

/**
 * Answers a request whose handling threw: a 500 envelope that closes the connection (the
 * request may not have been read to its end), or, once a stream has committed its 200, a last
 * SSE error event. Never throws: if the response cannot be written, the socket is closed.
 */
export function writeInternalError(res: HttpResponse, st: ResponseState): void {
  if (st.aborted || st.finished) return;
  st.closeConnection = true;
  try {
    if (st.streaming) {
      // end() without closing: see SseRelay (closing corrupts a chunked response's last chunk).
      res.cork(() => {
        res.write(`data: ${proxyErrorBody(internalError)}\n\n`);
        res.end();
      });
      st.finished = true;
    } else {
      writeError(res, st, internalError);
    }
  } catch {
    abandon(res, st);
  }
}
