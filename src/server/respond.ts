/**
 * Response writing. Every write from outside a uWS callback is corked: one syscall per
 * response instead of one per header. Every response carries the common headers
 * (`writeCommonHeaders`): request id, version, duration, CORS; every error response says
 * whether a client should retry it (`x-should-retry`).
 */
import { ProxyError, proxyErrorBody, statusLine } from '../errors.js';
import type { Reply } from '../router/types.js';
import { version } from '../version.js';
import { logAccess } from './access-log.js';
import type { ResponseState } from './response-state.js';
import { HeaderBlock, type HeaderSink } from './header-block.js';
import { KEEP_ALIVE_HINT, type HttpResponse } from './uws.js';

export { newResponseState, type ReplyContext, type ResponseState } from './response-state.js';

/** The request id, version, time in the proxy so far and CORS headers; inside a cork. */
export function writeCommonHeaders(res: HeaderSink, st: ResponseState): void {
  res.writeHeader('x-request-id', st.requestId);
  res.writeHeader('x-litellm-call-id', st.requestId);
  res.writeHeader('x-litellm-version', version);
  res.writeHeader('x-litellm-response-duration-ms', (performance.now() - st.startedAt).toFixed(3));
  st.ctx.cors.write(res, st.origin);
}

/**
 * LiteLLM's `x-litellm-overhead-duration-ms`, inside a cork: the time in the proxy so far minus
 * `upstreamMs`, the answering attempt's own time (a non-stream: the whole call; a stream: from
 * dispatch to the upstream's head). What remains is the proxy's own work and any earlier failed
 * attempts, retries' waits and queueing for a slot.
 */
export function writeOverhead(res: HeaderSink, st: ResponseState, upstreamMs: number | undefined): void {
  if (upstreamMs === undefined) return;
  res.writeHeader('x-litellm-overhead-duration-ms', Math.max(0, performance.now() - st.startedAt - upstreamMs).toFixed(3));
}

/**
 * `x-should-retry` for an error reply: `true` when it carries `Retry-After` (no deployment is
 * available now, one will be then) or already says so, `false` otherwise: the proxy has spent
 * its own retries and fallbacks, or the request itself is wrong, and a client retry on top
 * would only multiply the load.
 */
function shouldRetry(headers: readonly string[]): string | null {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (name === 'x-should-retry') return null;
    if (name === 'retry-after') return 'true';
  }
  return 'false';
}

/** The access line of a request whose client went away (status: what was sent, or 499). */
export function logAborted(st: ResponseState): void {
  logAccess(st.ctx.log, st, null);
}


export function writeReply(res: HttpResponse, st: ResponseState, reply: Reply): void {
  if (st.aborted || st.finished) return;
  try {
    res.cork(() => {
      res.writeStatus(statusLine(reply.status));
      const block = new HeaderBlock().writeHeader('content-type', 'application/json');
      if (!st.closeConnection) block.writeHeader('keep-alive', KEEP_ALIVE_HINT);
      const h = reply.headers;
      for (let i = 0; i < h.length; i += 2) block.writeHeader(h[i]!, h[i + 1]!);
      writeCommonHeaders(block, st);
      writeOverhead(block, st, reply.upstreamMs);
      if (reply.status >= 400) {
        const retry = shouldRetry(h);
        if (retry !== null) block.writeHeader('x-should-retry', retry);
      }
      block.writeTo(res);
      res.end(reply.body, st.closeConnection);
    });
  } catch (err) {
    // Half a response is out (a status line cannot be taken back): drop the connection rather
    // than finish it with a status that is not the answer, then let the caller report the error.
    abandon(res, st);
    throw err;
  }
  st.finished = true;
  st.status = reply.status;
  logAccess(st.ctx.log, st, reply.headers, reply.usage ?? null);
}

/** Answers a CORS preflight: 204, no auth asked (browsers send none on a preflight). */
export function writePreflight(res: HttpResponse, st: ResponseState, requestedHeaders: string): void {
  if (st.aborted || st.finished) return;
  res.cork(() => {
    res.writeStatus('204 No Content');
    const block = new HeaderBlock();
    if (!st.closeConnection) block.writeHeader('keep-alive', KEEP_ALIVE_HINT);
    writeCommonHeaders(block, st);
    st.ctx.cors.writePreflight(block, st.origin, requestedHeaders);
    block.writeTo(res);
    res.end(undefined, st.closeConnection);
  });
  st.finished = true;
  st.status = 204;
  logAccess(st.ctx.log, st, null);
}

/** `{"error":…}` with `"request_id"` beside `error`: an SSE error event, once the headers are out. */
export function withRequestId(body: string, st: ResponseState): string {
  const end = body.lastIndexOf('}');
  return end <= 0 ? body : `${body.slice(0, end)},"request_id":${JSON.stringify(st.requestId)}}`;
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
        res.write(`data: ${withRequestId(proxyErrorBody(internalError), st)}\n\n`);
        res.end();
      });
      st.finished = true;
      logAccess(st.ctx.log, st, null);
    } else {
      writeError(res, st, internalError);
    }
  } catch {
    abandon(res, st);
  }
}
