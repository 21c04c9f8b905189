/**
 * Response writing. Every write from outside a uWS callback is corked: one syscall per
 * response instead of one per header.
 */
import { ProxyError, proxyErrorBody, statusLine } from '../errors.js';
import type { Reply } from '../router/router.js';
import type { HttpResponse } from './uws.js';

/** Per-response state the server keeps beside uWS's object. */
export interface ResponseState {
  aborted: boolean;
  /** Set when the response has been ended (or taken over by a stream relay that ended it). */
  finished: boolean;
  /** Ask the client to close the connection (during shutdown, after a refused body). */
  closeConnection: boolean;
}

export function writeReply(res: HttpResponse, st: ResponseState, reply: Reply): void {
  if (st.aborted || st.finished) return;
  st.finished = true;
  res.cork(() => {
    res.writeStatus(statusLine(reply.status));
    res.writeHeader('content-type', 'application/json');
    const h = reply.headers;
    for (let i = 0; i < h.length; i += 2) res.writeHeader(h[i]!, h[i + 1]!);
    res.end(reply.body, st.closeConnection);
  });
}

export function writeError(res: HttpResponse, st: ResponseState, e: ProxyError, extraHeaders: readonly string[] = []): void {
  const headers: string[] = [...extraHeaders];
  if (e.headers) for (const k in e.headers) headers.push(k, e.headers[k]!);
  writeReply(res, st, { status: e.status, body: proxyErrorBody(e), headers });
}

export function writeJson(res: HttpResponse, st: ResponseState, status: number, body: string): void {
  writeReply(res, st, { status, body, headers: [] });
}

