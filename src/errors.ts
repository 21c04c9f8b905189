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
  NO_DEPLOYMENTS: { status: 429, type: 'rate_limit_error' },
  INTERNAL: { status: 500, type: 'internal_server_error' },
  UPSTREAM_CONNECT: { status: 502, type: 'api_connection_error' },
  UPSTREAM_PROTOCOL: { status: 502, type: 'api_error' },
  /** An upstream answered with an error status; the status is the upstream's. */
  UPSTREAM_ERROR: { status: 500, type: 'api_error' },
  SHUTTING_DOWN: { status: 503, type: 'service_unavailable' },
  NOT_READY: { status: 503, type: 'service_unavailable' },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof errors;

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
export function upstreamErrorBody(status: number, raw: string, deploymentLabel: string, secrets: Secrets): string {
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
      return JSON.stringify({
        error: {
          message: typeof e.message === 'string' ? clean(e.message) : `upstream ${deploymentLabel} answered ${status}`,
          type: typeof e.type === 'string' ? clean(e.type) : errors.UPSTREAM_ERROR.type,
          param: typeof e.param === 'string' ? clean(e.param) : null,
          code: typeof code === 'string' ? clean(code) : typeof code === 'number' || typeof code === 'boolean' ? code : String(status),
        },
      });
    }
    if (typeof err === 'string') return errorBody(clean(err), errors.UPSTREAM_ERROR.type, null, status);
  }
  // Re-serialised when it has escapes, so a key written `\u0073k-...` or `sk\/...` reads as itself.
  const text = clean(parsed !== undefined && raw.includes('\\') ? JSON.stringify(parsed) : raw);
  const shown = text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
  return errorBody(
    `upstream ${deploymentLabel} answered ${status}${shown ? `: ${shown}` : ''}`,
    errors.UPSTREAM_ERROR.type,
    null,
    status,
  );
}
