/**
 * A request body and LiteLLM's control headers → the router's ApiRequest, or the 400 to answer
 * with. Runs on the main thread for every API request, so it reads only what the proxy needs:
 * one scan checks the whole body's grammar and finds its top-level members (src/json/scan.ts);
 * a small body is then parsed whole, a large one member by member, and a large member (a long
 * `messages`) only if something asks for it — it is forwarded as bytes.
 */
import { isUtf8 } from 'node:buffer';
import { ProxyError } from '../errors.js';
import { asBuffer, JsonScanError, MAX_JSON_DEPTH, scanObject, type Members } from '../json/scan.js';
import type { Endpoint } from '../providers/index.js';
import type { ApiRequest, RequestHints } from '../router/types.js';
import type { HttpRequest } from './uws.js';

export const noHints: RequestHints = { numRetries: '', timeout: '', streamTimeout: '' };

/** Bodies up to this size are parsed whole (one JSON.parse beats a parse per member). */
const WHOLE_PARSE_BYTES = 8 * 1024;
/** In a larger body, members up to this size are parsed up front; larger ones on first read. */
const EAGER_MEMBER_BYTES = 1024;

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

function invalidJson(why: string): ProxyError {
  return new ProxyError('INVALID_JSON', `The request body is not valid JSON: ${why}`);
}

/**
 * The members of a large body as an object: small values parsed now, large ones when first
 * read (a getter that parses once). Duplicate keys: the last wins, as in JSON.parse.
 */
function membersObject(b: Buffer, m: Members): Record<string, unknown> | ProxyError {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < m.names.length; i++) {
    const name = m.names[i]!;
    const start = m.valueStarts[i]!;
    const end = m.valueEnds[i]!;
    if (end - start <= EAGER_MEMBER_BYTES) {
      let v: unknown;
      try {
        v = JSON.parse(b.toString('utf8', start, end));
      } catch (err) {
        return invalidJson(`${err instanceof Error ? err.message : 'invalid JSON'} (in member ${JSON.stringify(name)})`);
      }
      Object.defineProperty(o, name, { value: v, enumerable: true, configurable: true, writable: true });
      continue;
    }
    let parsed: { v: unknown } | null = null;
    Object.defineProperty(o, name, {
      enumerable: true,
      configurable: true,
      get() {
        if (parsed === null) {
          let v: unknown = null;
          try {
            v = JSON.parse(b.toString('utf8', start, end));
          } catch {
            /* the upstream will refuse it; for the proxy's own reads it is absent */
          }
          parsed = { v };
        }
        return parsed.v;
      },
    });
  }
  return o;
}

/** The first byte of member `name`'s value (0 when absent): enough to tell arrays, strings and null apart without parsing. */
function firstByte(b: Buffer, m: Members, name: string): number {
  const i = m.names.lastIndexOf(name);
  return i < 0 ? 0 : b[m.valueStarts[i]!]!;
}

/** True when member `name` is an array with at least one element. */
function nonEmptyArray(b: Buffer, m: Members, name: string): boolean {
  const i = m.names.lastIndexOf(name);
  if (i < 0 || b[m.valueStarts[i]!] !== 0x5b) return false;
  let k = m.valueStarts[i]! + 1;
  while (b[k] === 0x20 || b[k] === 0x0a || b[k] === 0x0d || b[k] === 0x09) k++;
  return b[k] !== 0x5d;
}

/** Parses and checks a request body; returns the request or the error to answer with. */
/** `requestId`: the server's id for this request, sent upstream as `x-request-id`. */
export function parseApiRequest(body: Uint8Array, endpoint: Endpoint, pathModel: string | null, hints: RequestHints = noHints, requestId?: string): ApiRequest | ProxyError {
  const b = asBuffer(body);
  let members: Members | null;
  try {
    members = scanObject(b);
  } catch (err) {
    if (err instanceof JsonScanError && err.kind === 'depth') {
      return new ProxyError('INVALID_REQUEST', `The request body nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep.`);
    }
    return invalidJson(err instanceof Error ? err.message : 'invalid JSON');
  }
  if (members === null) return new ProxyError('INVALID_REQUEST', 'The request body must be a JSON object.');
  if (!isUtf8(b)) return invalidJson('the body is not valid UTF-8');
  let o: Record<string, unknown>;
  if (b.length <= WHOLE_PARSE_BYTES) {
    try {
      o = JSON.parse(b.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      return invalidJson(err instanceof Error ? err.message : 'invalid JSON');
    }
  } else {
    const made = membersObject(b, members);
    if (made instanceof ProxyError) return made;
    o = made;
  }
  const model = pathModel ?? o.model;
  if (typeof model !== 'string' || model === '') {
    return validationError('Missing required parameter: `model` (a non-empty string naming a model group; see /v1/models).', 'model');
  }
  if (endpoint === 'chat') {
    if (!nonEmptyArray(b, members, 'messages')) {
      return validationError('Missing required parameter: `messages` (a non-empty array of chat messages).', 'messages');
    }
  } else if (endpoint === 'completions') {
    const c = firstByte(b, members, 'prompt');
    if (c !== 0x22 && c !== 0x5b) {
      return validationError('Missing required parameter: `prompt` (a string or an array).', 'prompt');
    }
  } else {
    const c = firstByte(b, members, 'input');
    if (c === 0 || c === 0x6e) return validationError('Missing required parameter: `input`.', 'input');
  }
  if (o.stream !== undefined && typeof o.stream !== 'boolean') {
    return validationError('`stream` must be a boolean.', 'stream');
  }
  return { endpoint, model, stream: o.stream === true && endpoint !== 'embeddings', body: body.buffer as ArrayBuffer, json: o, members, hints, requestId };
}


