/**
 * Per-attempt detail for debug logs: one record per attempt of a request (successful ones
 * included) with what the plan decided next. The plan builds these only when a listener is
 * registered (the router does that only when the log is at debug), so at info level an
 * attempt costs one null check.
 */
import type { AttemptFailure, Reply } from './types.js';

/** What the plan did after an attempt. */
export type AttemptDecision =
  /** The attempt answered the client (a stream: its upstream accepted). */
  | 'done'
  /** Another attempt in the same group follows (after `retryInMs`). */
  | 'retry'
  /** The group is given up; the fallback group `fallbackTo` runs next. */
  | 'fallback'
  /** The group is given up and nothing follows: the client gets the error (or has gone). */
  | 'fail';

export interface AttemptTrace {
  readonly requestId: string | null;
  /** The group the attempt ran in (a fallback's group for a fallback attempt). */
  readonly group: string;
  /** The deployment's id; null when none was picked (nothing available, a mock switch). */
  readonly deploymentId: string | null;
  /** 1-based over the whole request, fallbacks included. */
  readonly attempt: number;
  /** 1-based within the group's run. */
  readonly groupAttempt: number;
  /** `ok`, the failure's class (`rate-limit`, `server`, `timeout`, …), or `client-gone`. */
  readonly outcome: string;
  /** The status the attempt ended with (0 when the client had gone). */
  readonly status: number;
  /** From the lease request to the answer (a stream: to the upstream's response head). */
  readonly durationMs: number;
  readonly decision: AttemptDecision;
  /** Why the group was given up (`retries spent`, `not retryable`, …), for `fallback` and `fail`. */
  readonly reason: string | null;
  readonly retryInMs: number | null;
  readonly fallbackTo: string | null;
  /** The failure's (already redacted) message. */
  readonly error: string | null;
}

/** Who hears about each attempt (the debug log). */
export type AttemptListener = (t: AttemptTrace) => void;

/** The deployment id a reply's or failure's headers name (`x-litellm-model-id`). */
function deploymentIn(headers: readonly string[]): string | null {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'x-litellm-model-id') return headers[i + 1] ?? null;
  return null;
}

/** The record of an attempt that answered. */
export function answered(requestId: string | null, group: string, attempt: number, groupAttempt: number, durationMs: number, reply: Reply): AttemptTrace {
  return {
    requestId, group, deploymentId: deploymentIn(reply.headers), attempt, groupAttempt, outcome: 'ok', status: reply.status, durationMs,
    decision: 'done', reason: null, retryInMs: null, fallbackTo: null, error: null,
  };
}

/** The record of a failed attempt; `decision` and the rest are filled in once the plan knows them. */
export function failed(requestId: string | null, group: string, attempt: number, groupAttempt: number, durationMs: number, f: AttemptFailure | null): AttemptTrace {
  return {
    requestId, group, deploymentId: f === null ? null : deploymentIn(f.headers), attempt, groupAttempt,
    outcome: f === null ? 'client-gone' : f.cls, status: f === null ? 0 : f.status, durationMs,
    decision: 'fail', reason: f === null ? 'client gone' : null, retryInMs: null, fallbackTo: null, error: f === null ? null : f.error.message,
  };
}
