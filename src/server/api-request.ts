/**
 * A request body and LiteLLM's control headers → the router's ApiRequest, or the 400 to answer
 * with. Runs on the main thread for every API request: one depth scan, one JSON.parse, and the
 * few field checks the router relies on.
 */
import { ProxyError } from '../errors.js';
import type { Endpoint } from '../providers/index.js';
import type { ApiRequest, RequestHints } from '../router/types.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';
import type { HttpRequest } from './uws.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

export const noHints: RequestHints = { numRetries: '', timeout: '', streamTimeout: '' };

/** LiteLLM's per-request control headers; read while the uWS request object is alive. */
export function readHints(req: HttpRequest): RequestHints {
  const numRetries = req.getHeader('x-litellm-num-retries');
  const timeout = req.getHeader('x-litellm-timeout');
  const streamTimeout = req.getHeader('x-litellm-stream-timeout');
  return numRetries === '' && timeout === '' && streamTimeout === '' ? noHints : { numRetries, timeout, streamTimeout };
}

function validationError(message: string, param: string | null): ProxyError {
  return new ProxyError('INVALID_REQUEST', message, { param });
}

/** Parses and checks a request body; returns the request or the error to answer with. */
/** `requestId`: the server's id for this request, sent upstream as `x-request-id`. */
export function parseApiRequest(body: Uint8Array, endpoint: Endpoint, pathModel: string | null, hints: RequestHints = noHints, requestId?: string): ApiRequest | ProxyError {
  if (exceedsJsonDepth(body)) {
    return new ProxyError('INVALID_REQUEST', `The request body nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch (err) {
    const why = err instanceof Error ? err.message : 'invalid JSON';
    return new ProxyError('INVALID_JSON', `The request body is not valid JSON: ${why}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return new ProxyError('INVALID_REQUEST', 'The request body must be a JSON object.');
  }
  const o = json as Record<string, unknown>;
  const model = pathModel ?? o.model;
  if (typeof model !== 'string' || model === '') {
    return validationError('Missing required parameter: `model` (a non-empty string naming a model group; see /v1/models).', 'model');
  }
  if (endpoint === 'chat') {
    if (!Array.isArray(o.messages) || o.messages.length === 0) {
      return validationError('Missing required parameter: `messages` (a non-empty array of chat messages).', 'messages');
    }
  } else if (endpoint === 'completions') {
    if (typeof o.prompt !== 'string' && !Array.isArray(o.prompt)) {
      return validationError('Missing required parameter: `prompt` (a string or an array).', 'prompt');
    }
  } else if (o.input === undefined || o.input === null) {
    return validationError('Missing required parameter: `input`.', 'input');
  }
  if (o.stream !== undefined && typeof o.stream !== 'boolean') {
    return validationError('`stream` must be a boolean.', 'stream');
  }
  return { endpoint, model, stream: o.stream === true && endpoint !== 'embeddings', body: body.buffer as ArrayBuffer, json: o, hints, requestId };
}

