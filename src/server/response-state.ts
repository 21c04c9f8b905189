/**
 * The state the server keeps beside uWS's response object for one request: what the
 * response has done so far, and what was read from the request for the common headers and
 * the access log.
 */
import type { Logger } from '../log.js';
import type { Cors } from './cors.js';
import { requestIdFrom } from './request-id.js';
import type { HttpRequest } from './uws.js';

/** What every response of one server shares: where the access log goes, its CORS rules. */
export interface ReplyContext {
  readonly log: Logger | null;
  readonly cors: Cors;
}

/** Per-response state the server keeps beside uWS's object. */
export interface ResponseState {
  aborted: boolean;
  /** Set when the response has been ended (or taken over by a stream relay that ended it). */
  finished: boolean;
  /** Set once a stream relay has written the 200 and SSE headers: from then on only events can follow. */
  streaming: boolean;
  /** Ask the client to close the connection (during shutdown, after a refused body). */
  closeConnection: boolean;
  /** The client's `x-litellm-call-id` / `x-request-id` when acceptable, else a fresh id. */
  readonly requestId: string;
  /** Upper-case method and the path, for the access log. */
  readonly method: string;
  readonly url: string;
  /** The request's `Origin` ('' when absent). */
  readonly origin: string;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  /** When a stream's first event went out (0: not a stream, or none yet). */
  firstByteAt: number;
  /** The status sent (0: none yet). */
  status: number;
  /** Whether the access line has been written. */
  logged: boolean;
  readonly ctx: ReplyContext;
}

/** Reads what the response needs from the request; must run inside the uWS handler (req is gone after). */
export function newResponseState(ctx: ReplyContext, req: HttpRequest, closeConnection: boolean): ResponseState {
  return {
    aborted: false,
    finished: false,
    streaming: false,
    closeConnection,
    requestId: requestIdFrom(req.getHeader('x-litellm-call-id'), req.getHeader('x-request-id')),
    method: req.getMethod().toUpperCase(),
    url: req.getUrl(),
    origin: req.getHeader('origin'),
    startedAt: performance.now(),
    firstByteAt: 0,
    status: 0,
    logged: false,
    ctx,
  };
}

