/**
 * What went wrong, as the reliability rules see it: the error class of a failure (LiteLLM's
 * exception vocabulary) and the per-class lookup both policies (retry and allowed-fails) share.
 * Pure functions only: no I/O, no clock.
 */
import type { ErrorClass, OutcomeKind } from '../../errors.js';

export type { ErrorClass } from '../../errors.js';

export interface FailureInput {
  readonly status: number | null;
  /** The upstream's error body (or its message), when there was one. */
  readonly body?: string | null;
  readonly kind: Extract<OutcomeKind, 'upstream-error' | 'timeout' | 'connect-error'> | 'no-deployments';
}

/**
 * Phrases LiteLLM's exception mapping turns into ContextWindowExceededError (OpenAI's code,
 * vLLM/OpenAI wording, Anthropic's wording, and LiteLLM's own class name when the upstream is
 * another LiteLLM proxy).
 */
const contextWindowText = /context_length_exceeded|maximum context length|ContextWindowExceeded|prompt is too long|input is too long for requested model|exceeds the context window/i;
/** …and into ContentPolicyViolationError (OpenAI's code, Azure's content filter and its wording). */
const contentPolicyText = /content_policy_violation|content_filter|ContentPolicyViolation|content management policy|ResponsibleAIPolicyViolation/i;
/** Error bodies are small; a huge one is searched only at its start, so classifying stays cheap. */
const BODY_SCAN_LIMIT = 8192;

/**
 * The class of a failed attempt. The body decides context-window and content-policy errors
 * whatever the status (they arrive as 400, sometimes 413/422/500, and LiteLLM maps them by
 * message first), except for statuses whose meaning is unambiguous (401, 404, 408, 429).
 */
export function classifyFailure(f: FailureInput): ErrorClass {
  switch (f.kind) {
    case 'timeout':
      return 'timeout';
    case 'connect-error':
      return 'connection';
    case 'no-deployments':
      return 'no-deployments';
    case 'upstream-error':
      break;
  }
  const s = f.status;
  if (s !== 401 && s !== 404 && s !== 408 && s !== 429 && f.body) {
    const text = f.body.length > BODY_SCAN_LIMIT ? f.body.slice(0, BODY_SCAN_LIMIT) : f.body;
    if (contextWindowText.test(text)) return 'context-window';
    if (contentPolicyText.test(text)) return 'content-policy';
  }
  if (s === null || s < 400) return 'server';
  if (s >= 500) return 'server';
  switch (s) {
    case 401:
      return 'auth';
    case 403:
      return 'permission';
    case 404:
      return 'not-found';
    case 408:
      return 'timeout';
    case 422:
      return 'unprocessable';
    case 429:
      return 'rate-limit';
    default:
      return 'bad-request';
  }
}

/**
 * LiteLLM's exception names per class, most specific first: both policies key their entries
 * `<name>Retries` / `<name>AllowedFails`. ContentPolicyViolation and ContextWindowExceeded are
 * BadRequestError subclasses, so the BadRequest entry covers them when nothing more specific is set.
 */
const policyNames: Readonly<Partial<Record<ErrorClass, readonly string[]>>> = {
  auth: ['AuthenticationError'],
  timeout: ['TimeoutError'],
  'rate-limit': ['RateLimitError'],
  'content-policy': ['ContentPolicyViolationError', 'BadRequestError'],
  'context-window': ['BadRequestError'],
  'bad-request': ['BadRequestError'],
  'not-found': ['NotFoundError'],
  server: ['InternalServerError'],
};

export function fromPolicy(cls: ErrorClass, policy: object | null | undefined, suffix: 'Retries' | 'AllowedFails'): number | null {
  if (!policy) return null;
  for (const name of policyNames[cls] ?? []) {
    const v = (policy as Readonly<Record<string, unknown>>)[name + suffix];
    if (typeof v === 'number') return v;
  }
  return null;
}
