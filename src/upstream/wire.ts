/**
 * Messages that cross the thread boundary between the main thread and the upstream workers.
 * Plain data only: bodies are ArrayBuffers (transferred, not copied), errors are
 * `{ code, message, phase? }` with a `code` from errors.ts's `failures` table, which says what
 * the main thread makes of it.
 */
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
  /**
   * The upstream request body (UTF-8 JSON). On the main thread a block of the pool's shared
   * slab (body-slab.ts) or bytes of its own; on the wire a `WireBody`.
   */
  readonly body: Uint8Array;
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
  /** A Responses API request to a chat-only deployment (`url` is its chat endpoint): translated both ways. */
  readonly viaChat?: boolean;
}

export interface CallTask extends TaskBase {
  readonly timeoutMs: number;
}

export type CallResult =
  | {
      readonly ok: true;
      readonly status: number;
      /**
       * The answer: text when the worker has it as a string (a small answer, restamped on its text),
       * which crosses without an ArrayBuffer on either side; else bytes, transferred.
       */
      readonly body: ArrayBuffer | string;
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
  /** How many data frames the worker may send before waiting for credit. */
  readonly window: number;
}

/** Where in the shared slab a task's body lies. */
export interface SlabSpan {
  readonly at: number;
  readonly length: number;
}

/** A body as it crosses to a worker: a span of the shared slab, or its own transferred bytes. */
export type WireBody = SlabSpan | ArrayBuffer;

/** A task as it crosses to a worker. */
export type OnWire<T extends TaskBase> = Omit<T, 'body'> & { readonly body: WireBody };

/** Worker → main thread frames of one stream. */
export type StreamFrame =
  /** Upstream accepted: the main thread may now commit a 200 to the client. */
  | { readonly t: 'head'; readonly headers?: readonly string[] | null }
  /** Upstream refused before the first byte (relayed like a non-stream error), or sent an error event mid-stream (`body` is its data). */
  | { readonly t: 'fail'; readonly status: number; readonly body: ArrayBuffer; readonly retryAfterMs: number | null; readonly headers?: readonly string[] | null }
  /** SSE text, complete events only, already restamped: a string crosses without an ArrayBuffer on either side. */
  | { readonly t: 'data'; readonly text: string }
  | { readonly t: 'end'; readonly usage: Usage | null }
  | { readonly t: 'error'; readonly error: WireError };

/** Main thread → worker messages of one stream. */
export type StreamControl = { readonly t: 'credit'; readonly n: number } | { readonly t: 'abort' };

/**
 * The one channel between the main thread and a worker (one MessagePort per worker, opened by a
 * long-lived `serve` task): messages for many tasks, sent in batches, one postMessage per turn
 * of the event loop, tagged with their task's id.
 */
export type ToWorker =
  | { readonly t: 'call'; readonly task: OnWire<CallTask> }
  | { readonly t: 'stream'; readonly task: OnWire<StreamTask> }
  | { readonly t: 'control'; readonly id: number; readonly c: StreamControl }
  /** Cancels a running call. */
  | { readonly t: 'abort'; readonly id: number }
  | { readonly t: 'count'; readonly id: number; readonly body: ArrayBuffer; readonly model: string };

export type FromWorker =
  /** The worker's thread id, once, when its end of the channel is up. */
  | { readonly t: 'hello'; readonly threadId: number }
  /** `hold`: the task's body may still be read by a socket (worker's bodyMayBeRead): its slab block is never reused. */
  | { readonly t: 'result'; readonly id: number; readonly r: CallResult; readonly hold?: true }
  | { readonly t: 'frame'; readonly id: number; readonly f: StreamFrame }
  /** A stream's task is over in the worker (its body is no longer read): after its last frame. */
  | { readonly t: 'done'; readonly id: number; readonly hold?: true }
  | { readonly t: 'count'; readonly id: number; readonly n: number | null; readonly message?: string }
  /** A call or stream that threw inside the worker (a bug, not an upstream failure). */
  | { readonly t: 'crash'; readonly id: number; readonly message: string };
