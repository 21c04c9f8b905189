/**
 * Request ids. A client's own id (`x-litellm-call-id`, LiteLLM's, else `x-request-id`) is kept
 * when it is visible ASCII (no spaces or control characters) of at most 128 characters; any
 * other gets a fresh one. Fresh ids are a per-process random prefix and a counter, shaped like
 * a UUID: unique across processes (the prefix is 64 random bits) and across one process's life
 * (the counter), at the cost of one string concatenation, where `crypto.randomUUID()` would
 * draw entropy for every request.
 */
import { randomBytes } from 'node:crypto';

export const MAX_REQUEST_ID_LENGTH = 128;

const acceptable = /^[!-~]{1,128}$/;
const random = randomBytes(10).toString('hex');
/** `xxxxxxxx-xxxx-xxxx-xxxx-` and 12 hex digits of counter. */
const prefix = `${random.slice(0, 8)}-${random.slice(8, 12)}-${random.slice(12, 16)}-${random.slice(16, 20)}-`;
let counter = 0;

/** A fresh id: `<random prefix><12 hex digit counter>`. */
export function newRequestId(): string {
  counter = (counter + 1) % 0x1000000000000;
  const hex = counter.toString(16);
  return prefix + (hex.length >= 12 ? hex : '000000000000'.slice(hex.length) + hex);
}

/** The client's id when acceptable ('' is absent), else a fresh one. */
export function requestIdFrom(callId: string, requestId: string): string {
  if (callId !== '' && acceptable.test(callId)) return callId;
  if (requestId !== '' && acceptable.test(requestId)) return requestId;
  return newRequestId();
}
