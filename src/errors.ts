/**
 * The error catalogue: every error the proxy itself produces has a code here, mapped to its
 * HTTP status and OpenAI error `type`. The wire shape is the OpenAI envelope
 * `{"error":{"message","type","param","code"}}`; `code` carries the HTTP status as a string,
 * as LiteLLM's proxy does (`ProxyException`), so clients that read either keep working.
 */
import type { Secrets } from './secrets.js';

export const errors = {
  INVALID_JSON: { status: 400, type: 'invalid_request_error' },
  INVALID_REQUEST: { status: 400, type: 'invalid_request_error' },
  MODEL_NOT_FOUND: { status: 400, type: 'invalid_request_error' },
  CONTEXT_WINDOW_EXCEEDED: { status: 400, type: 'invalid_request_error' },
  UNAUTHORIZED: { status: 401, type: 'auth_error' },
  ROUTE_NOT_FOUND: { status: 404, type: 'invalid_request_error' },
  METHOD_NOT_ALLOWED: { status: 405, type: 'invalid_request_error' },
  UPSTREAM_TIMEOUT: { status: 408, type: 'timeout' },
  BODY_TOO_LARGE: { status: 413, type: 'invalid_request_error' },
  /** LiteLLM's proxy sends the literal string "None" as this error's type (a ValueError, not an HTTP error, inside its router). */
  NO_DEPLOYMENTS: { status: 429, type: 'None' },
  INTERNAL: { status: 500, type: 'internal_server_error' },
  UPSTREAM_CONNECT: { status: 502, type: 'api_connection_error' },
  UPSTREAM_PROTOCOL: { status: 502, type: 'api_error' },
  /** An upstream answered with an error status; the status is the upstream's. */
  UPSTREAM_ERROR: { status: 500, type: 'api_error' },
  SHUTTING_DOWN: { status: 503, type: 'service_unavailable' },
  NOT_READY: { status: 503, type: 'service_unavailable' },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof errors;

/**
 * What went wrong, in LiteLLM's exception vocabulary: `bad-request` BadRequestError (400 and
 * other 4xx), `auth` AuthenticationError (401), `permission` PermissionDeniedError (403),
 * `not-found` NotFoundError (404), `unprocessable` UnprocessableEntityError (422), `timeout`
 * Timeout (408), `rate-limit` RateLimitError (429), `context-window` ContextWindowExceededError,
 * `content-policy` ContentPolicyViolationError (both BadRequest subclasses), `server` 5xx,
 * `connection` APIConnectionError, `no-deployments` the router's own "No deployments available".
 */
export type ErrorClass =
  | 'bad-request'
  | 'auth'
  | 'permission'
  | 'not-found'
  | 'unprocessable'
  | 'timeout'
  | 'rate-limit'
  | 'context-window'
  | 'content-policy'
  | 'server'
  | 'connection'
  | 'no-deployments';

/**
 * How an attempt ended, as the deployment's actor counts it. `client-aborted` and
 * `worker-failed` never count against the deployment: the client left, or our own worker (not
 * the upstream) could not run the call.
 */
export type OutcomeKind = 'ok' | 'upstream-error' | 'timeout' | 'connect-error' | 'client-aborted' | 'worker-failed';

/**
 * What went wrong below the router: the one closed set of failure codes, from the wire to the
 * client. A worker reports one of these codes (upstream/wire.ts), the router settles the row's
 * outcome on the deployment and judges the row's error class, and the client gets the row's
 * catalogue error (none when the client has gone). This table is the only mapping between them.
 */
export const failures = {
  /** A timeout fired (first byte, between chunks, or the total). */
  UPSTREAM_TIMEOUT: { outcome: 'timeout', error: 'UPSTREAM_TIMEOUT', cls: 'timeout' },
  /** The upstream could not be reached (refused, reset, DNS, TLS). */
  UPSTREAM_CONNECT: { outcome: 'connect-error', error: 'UPSTREAM_CONNECT', cls: 'connection' },
  /** The upstream answered something that is not the protocol (a 2xx that is not JSON, a stream cut before [DONE]); counted as a 502. */
  UPSTREAM_PROTOCOL: { outcome: 'upstream-error', error: 'UPSTREAM_PROTOCOL', cls: 'server' },
  /** The call was cancelled because the client went away: nobody to answer. */
  UPSTREAM_ABORTED: { outcome: 'client-aborted', error: null, cls: null },
  /** Our worker could not run the call (it died, or the task could not be built): not the deployment's fault. */
  WORKER_FAILED: { outcome: 'worker-failed', error: 'INTERNAL', cls: 'server' },
} as const satisfies Record<string, { outcome: OutcomeKind; error: ErrorCode | null; cls: ErrorClass | null }>;

export type FailureCode = keyof typeof failures;

/**
 * The OpenAI error envelope's contents, as data. An error is carried in this shape from where
 * it happens to the reply and serialised once (`envelopeJson`). `code` is the HTTP status as a
 * string for our own errors; an upstream's own code is kept as it sent it.
 */
export interface ErrorEnvelope {
  readonly message: string;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | number | boolean;
}

/** An error on its way to a client: code, message and (optionally) a status that overrides the catalogue's. */
export class ProxyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  /** Extra response headers (e.g. `retry-after`). */
  readonly headers: Readonly<Record<string, string>> | null;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { status?: number; type?: string; param?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ProxyError';
    this.code = code;
    this.status = opts.status ?? errors[code].status;
    this.type = opts.type ?? errors[code].type;
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? null;
  }
}

/** The OpenAI error envelope as a JSON string. */
export function errorBody(message: string, type: string, param: string | null, status: number): string {
  return JSON.stringify({ error: { message, type, param, code: String(status) } });
}

export function proxyErrorBody(e: ProxyError): string {
  return errorBody(e.message, e.type, e.param, e.status);
}

/** A ProxyError's envelope, as data. */
export function proxyEnvelope(e: ProxyError): ErrorEnvelope {
  return { message: e.message, type: e.type, param: e.param, code: String(e.status) };
}

/** The one place an envelope becomes text. */
export function envelopeJson(e: ErrorEnvelope): string {
  return JSON.stringify({ error: { message: e.message, type: e.type, param: e.param, code: e.code } });
}

/** Status line text uWebSockets.js needs (`writeStatus('429 Too Many Requests')`). */
const reasons: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 408: 'Request Timeout', 409: 'Conflict', 413: 'Payload Too Large',
  415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};
const statusLines = new Map<number, string>();

export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${reasons[status] ?? 'Status'}`;
    statusLines.set(status, line);
  }
  return line;
}

/**
 * Relays an upstream error body in the OpenAI envelope: an upstream that already speaks it is
 * passed through with its `code` kept; anything else is wrapped, its text in the message.
 * Every string taken from the upstream has the config's secrets cut out (an upstream may echo
 * the request headers, keys included); JSON text is read decoded, so an escaped key is caught.
 */
export function upstreamError(status: number, raw: string, deploymentLabel: string, secrets: Secrets): ErrorEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const clean = (v: string): string => secrets.redact(v);
  if (parsed !== null && typeof parsed === 'object' && 'error' in parsed) {
    const err = (parsed as { error: unknown }).error;
    if (err !== null && typeof err === 'object') {
      const e = err as Record<string, unknown>;
      const code = e.code === undefined || e.code === null ? String(status) : e.code;
      return {
        message: typeof e.message === 'string' ? clean(e.message) : `upstream ${deploymentLabel} answered ${status}`,
        type: typeof e.type === 'string' ? clean(e.type) : errors.UPSTREAM_ERROR.type,
        param: typeof e.param === 'string' ? clean(e.param) : null,
        code: typeof code === 'string' ? clean(code) : typeof code === 'number' || typeof code === 'boolean' ? code : String(status),
      };
    }
    if (typeof err === 'string') return { message: clean(err), type: errors.UPSTREAM_ERROR.type, param: null, code: String(status) };
  }
  // Re-serialised when it has escapes, so a key written `\u0073k-...` or `sk\/...` reads as itself.
  const text = clean(parsed !== undefined && raw.includes('\\') ? JSON.stringify(parsed) : raw);
  const shown = text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
  return {
    message: `upstream ${deploymentLabel} answered ${status}${shown ? `: ${shown}` : ''}`,
    type: errors.UPSTREAM_ERROR.type,
    param: null,
    code: String(status),
  };
}

/** `upstreamError` as the JSON text a client gets. */
export function upstreamErrorBody(status: number, raw: string, deploymentLabel: string, secrets: Secrets): string {
  return envelopeJson(upstreamError(status, raw, deploymentLabel, secrets));
}
