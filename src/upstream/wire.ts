/**
 * Messages that cross the thread boundary between the main thread and the upstream workers.
 * Plain data only: bodies are ArrayBuffers (transferred, not copied), errors are
 * `{ code, message, phase? }` with a `code` from errors.ts's `failures` table, which says what
 * the main thread makes of it.
 */
import type { MessagePort } from 'node:worker_threads';
import type { MockResponse } from '../providers/mock.js';
import type { FailureCode } from '../errors.js';
import type { Endpoint } from '../providers/index.js';

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
}

/** The failure codes of errors.ts (`failures`): the one vocabulary from the worker to the client. */
export type WireErrorCode = FailureCode;

export interface WireError {
  readonly code: WireErrorCode;
  readonly message: string;
  /** For timeouts: which bound fired. */
  readonly phase?: 'first-byte' | 'between-chunks' | 'total';
}

/** What one attempt needs, for either task. */
export interface TaskBase {
  /** Process-unique, so an abort can find its task in whichever worker runs it. */
  readonly id: number;
  readonly endpoint: Endpoint;
  /** The client's request body (UTF-8 JSON), transferred. */
  readonly body: ArrayBuffer;
  /**
   * The name the client asked for; responses are restamped with it, as LiteLLM does. Null after
   * a fallback: the response keeps the model the upstream answered with (LiteLLM does too).
   */
  readonly responseModel: string | null;
  /** Null for mock deployments. */
  readonly url: string | null;
  readonly headers: readonly string[];
  readonly upstreamModel: string;
  readonly bodyDefaults: Readonly<Record<string, unknown>> | null;
  readonly mock: MockResponse | null;
  /** LiteLLM's `mock_timeout`: wait out the timeout, then fail as a timeout (no upstream call). */
  readonly mockTimeout: boolean;
  /** Label for messages: `group/deployment-id`, never a key. */
  readonly label: string;
}

export interface CallTask extends TaskBase {
  readonly timeoutMs: number;
}

export type CallResult =
  | {
      readonly ok: true;
      readonly status: number;
      readonly body: ArrayBuffer;
      readonly usage: Usage | null;
      /** The first choice's finish_reason (`content_filter` can trigger content-policy fallbacks). */
      readonly finishReason: string | null;
      /** Upstream headers relayed to the client (relay-headers.ts); null when none. */
      readonly headers?: readonly string[] | null;
    }
  | {
      /** The upstream answered, with an error status; `body` is its raw error body. */
      readonly ok: false;
      readonly status: number;
      readonly body: ArrayBuffer;
      readonly retryAfterMs: number | null;
      readonly headers?: readonly string[] | null;
    }
  | { readonly ok: false; readonly status: 0; readonly error: WireError };

export interface StreamTask extends TaskBase {
  /** Bound on the wait for response headers and on each gap between chunks. */
  readonly streamTimeoutMs: number;
  /** Frames are sent here; the main thread sends credit and abort messages back. */
  readonly port: MessagePort;
  /** How many data frames the worker may send before waiting for credit. */
  readonly window: number;
}

/** Worker → main thread frames on a stream's port. */
export type StreamFrame =
  /** Upstream accepted: the main thread may now commit a 200 to the client. */
  | { readonly t: 'head'; readonly headers?: readonly string[] | null }
  /** Upstream refused before the first byte (relayed like a non-stream error), or sent an error event mid-stream (`body` is its data). */
  | { readonly t: 'fail'; readonly status: number; readonly body: ArrayBuffer; readonly retryAfterMs: number | null; readonly headers?: readonly string[] | null }
  /** SSE bytes, complete events only, already restamped. */
  | { readonly t: 'data'; readonly buf: ArrayBuffer }
  | { readonly t: 'end'; readonly usage: Usage | null }
  | { readonly t: 'error'; readonly error: WireError };

/** Main thread → worker messages on a stream's port. */
export type StreamControl = { readonly t: 'credit'; readonly n: number } | { readonly t: 'abort' };

/** The broadcast channel non-stream aborts travel on (a stream aborts on its own port). */
export const ABORT_CHANNEL = 'switchyard:abort';
