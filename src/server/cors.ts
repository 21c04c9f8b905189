/**
 * CORS. Default as LiteLLM's proxy: every origin allowed (`*`). With
 * `general_settings.allowed_origins` listing origins, a response carries
 * `Access-Control-Allow-Origin: <origin>` only for a listed origin, and `Vary: Origin`
 * always (caches must key on it). Preflights (`OPTIONS`) are answered here, before auth.
 */
import type { HeaderSink } from './header-block.js';

/** How long a browser may cache a preflight answer, s (Starlette's default, which LiteLLM uses). */
export const PREFLIGHT_MAX_AGE_S = 600;
const ALLOW_METHODS = 'GET, POST, OPTIONS';
/** When the preflight names no headers, or names them in a form we will not echo. */
const DEFAULT_ALLOW_HEADERS = 'authorization, content-type, x-api-key, api-key, x-request-id, x-litellm-call-id, x-litellm-num-retries, x-litellm-timeout, x-litellm-stream-timeout';
const headerList = /^[A-Za-z0-9!#$%&'*+.^_`|~, -]{1,2048}$/;
const RATE_LIMIT_HEADERS = ['limit', 'remaining', 'reset'].flatMap((k) => [`x-ratelimit-${k}-requests`, `x-ratelimit-${k}-tokens`]);
/**
 * What a browser script may read of a response: every header the proxy sets or relays
 * (`*` would not do: browsers ignore it on requests with credentials).
 */
const EXPOSE_HEADERS = [
  'x-request-id', 'x-litellm-call-id', 'x-litellm-version', 'x-litellm-response-duration-ms', 'x-litellm-overhead-duration-ms',
  'x-litellm-model-id', 'x-litellm-model-group', 'x-litellm-model-api-base',
  'x-litellm-attempted-retries', 'x-litellm-max-retries', 'x-litellm-attempted-fallbacks', 'x-litellm-timeout',
  'x-should-retry', 'retry-after',
  ...RATE_LIMIT_HEADERS,
  'llm_provider-x-request-id', 'llm_provider-openai-processing-ms', ...RATE_LIMIT_HEADERS.map((n) => `llm_provider-${n}`),
].join(', ');

export class Cors {
  readonly #any: boolean;
  readonly #origins: ReadonlySet<string>;

  /** `origins`: the allowed origins; `*` among them (or the default) allows every one. */
  constructor(origins: readonly string[] = ['*']) {
    this.#any = origins.includes('*');
    this.#origins = new Set(origins);
  }

  /** The CORS headers of an ordinary response, for a request's `Origin` ('' when absent). */
  write(res: HeaderSink, origin: string): void {
    if (this.#any) {
      res.writeHeader('access-control-allow-origin', '*');
      if (origin !== '') res.writeHeader('access-control-expose-headers', EXPOSE_HEADERS);
      return;
    }
    res.writeHeader('vary', 'Origin');
    if (origin !== '' && this.#origins.has(origin)) {
      res.writeHeader('access-control-allow-origin', origin);
      res.writeHeader('access-control-expose-headers', EXPOSE_HEADERS);
    }
  }

  /** The extra headers of a preflight answer (204), beside `write`'s. */
  writePreflight(res: HeaderSink, origin: string, requestedHeaders: string): void {
    if (!this.#any && !(origin !== '' && this.#origins.has(origin))) return;
    res.writeHeader('access-control-allow-methods', ALLOW_METHODS);
    res.writeHeader('access-control-allow-headers', requestedHeaders !== '' && headerList.test(requestedHeaders) ? requestedHeaders : DEFAULT_ALLOW_HEADERS);
    res.writeHeader('access-control-max-age', String(PREFLIGHT_MAX_AGE_S));
  }
}
