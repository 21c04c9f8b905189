/**
 * The router's vocabulary: what a request, an attempt and its end look like. Shared by the
 * plan, the attempt, the facade and the server; imports nothing from router.ts, plan.ts or
 * attempt.ts, so those can import it without a circle.
 */
import type { Endpoint } from '../providers/index.js';
import type { StreamHandle } from '../upstream/dispatch.js';
import type { Usage } from '../upstream/wire.js';
import type { ErrorClass, ErrorEnvelope } from '../errors.js';
import type { ProxyMetrics } from '../metrics/prometheus.js';
import type { Members } from '../json/scan.js';

/** A parsed, validated API request. */
export interface ApiRequest {
  readonly endpoint: Endpoint;
  readonly model: string;
  readonly stream: boolean;
  /** The client's raw body, handed to the worker untouched (transferred). */
  readonly body: ArrayBuffer;
  readonly json: Readonly<Record<string, unknown>>;
  /** The scan of `body`'s top-level members (the server makes it), so attempts can splice the upstream body without another. */
  readonly members?: Members | null;
  readonly hints: RequestHints;
  /** The request's id (the server makes one per request): sent upstream as `x-request-id`, used in router log lines. */
  readonly requestId?: string;
}

/** LiteLLM's request headers `x-litellm-num-retries`, `x-litellm-timeout`, `x-litellm-stream-timeout` ('' when absent). */
export interface RequestHints {
  readonly numRetries: string;
  readonly timeout: string;
  readonly streamTimeout: string;
}

/**
 * How an attempt ended (kinds: errors.ts `OutcomeKind`). A closed union: every path through a
 * lease ends in exactly one. Only `upstream-error`, `timeout` and `connect-error` count against
 * the deployment.
 */
export type Outcome =
  | { readonly kind: 'ok'; readonly latencyMs: number; readonly usage: Usage | null; readonly ttftMs?: number }
  | { readonly kind: 'upstream-error'; readonly status: number; readonly retryAfterMs: number | null }
  | { readonly kind: 'timeout'; readonly phase: 'first-byte' | 'between-chunks' | 'total' }
  | { readonly kind: 'connect-error'; readonly message: string }
  /** The client went away. */
  | { readonly kind: 'client-aborted' }
  /** Our worker could not run the call (it died, or the task could not be built). */
  | { readonly kind: 'worker-failed' };

/** Why one attempt failed, in the shape the plan decides on. */
export interface AttemptFailure {
  readonly cls: ErrorClass;
  readonly status: number;
  /** The OpenAI error the client would get for this failure alone, as data (serialised once, when replying). */
  readonly error: ErrorEnvelope;
  readonly headers: readonly string[];
  readonly retryAfterMs: number | null;
  /** `group/deployment` (never a key), for the final message. */
  readonly label: string;
  readonly group: string;
  /** Deployments of the group not cooling after this failure, and the group's size. */
  readonly healthy: number;
  readonly groupSize: number;
}

/** One attempt's end: null when the client left; a reply; or a failure for the plan to judge. */
export type AttemptResult =
  | null
  | { readonly ok: true; readonly reply: Reply; readonly group: string }
  | { readonly ok: false; readonly failure: AttemptFailure; readonly deploymentNumRetries: number | null };

/** What the plan tells an attempt beyond the model. */
export interface AttemptOptions {
  /** A body that replaces the client's (a fallback entry with its own messages); null = the client's. */
  readonly body: ArrayBuffer | null;
  /** `finish_reason: content_filter` counts as a content-policy failure (a content-policy fallback exists). */
  readonly contentFilterFails: boolean;
  /** The request's own timeout / stream timeout / cooldown_time, ms, already bounded; null = the config's. */
  readonly timeoutMs: number | null;
  readonly streamTimeoutMs: number | null;
  readonly cooldownTimeMs: number | null;
  /** A fallback's attempt: the response keeps the upstream's `model` instead of the requested name. */
  readonly keepUpstreamModel: boolean;
}

/** Runs one attempt on `model`, avoiding deployments in `tried` while others are available. */
export type Attempt = (model: string, tried: Set<string>, opts: AttemptOptions) => Promise<AttemptResult>;

/** A complete non-streaming answer. */
export interface Reply {
  readonly status: number;
  readonly body: ArrayBuffer | string;
  /** Flat `[name, value, ...]` pairs. */
  readonly headers: readonly string[];
  /** A deployment's answer: the time its attempt took (ms, router clock; a stream: to the upstream's head, ms, performance clock), for the overhead header. */
  readonly upstreamMs?: number;
  /** A deployment's answer: the tokens it reported, for the access log. */
  readonly usage?: Usage | null;
}

/** The server's side of one request: whether the client has gone, and who to tell if it goes. */
export class RequestContext {
  aborted = false;
  #onAbort: (() => void) | null = null;

  /** Registers what cancels the current attempt; replaces any earlier one. */
  setAbort(fn: (() => void) | null): void {
    this.#onAbort = fn;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const fn = this.#onAbort;
    this.#onAbort = null;
    fn?.();
  }
}

/** What the server supplies to relay a stream. */
export interface StreamConsumer {
  /** The attempt now running: credit goes back through it. Called again if a retry replaces it. */
  bind(handle: StreamHandle): void;
  /**
   * Upstream accepted: commit the 200 and SSE headers (frames that came first are held until
   * now). `upstreamMs`: the answering attempt's time from dispatch to the upstream's head.
   */
  start(headers: readonly string[], upstreamMs?: number): void;
  data(text: string): void;
  /** The stream finished; `usage` is what its end frame reported (null when the upstream sent none). */
  end(usage: Usage | null): void;
  /** Failed after `start` (`status`: what the failure stands for): an SSE error event, and no `[DONE]`. */
  error(body: string, status: number): void;
  /** Failed before `start`: an ordinary JSON reply. */
  reply(reply: Reply): void;
}

export interface RouterOptions {
  readonly random?: () => number;
  /** Epoch milliseconds. Wall-clock, so usage windows line up across instances. */
  readonly now?: () => number;
  /** Where the router counts attempts, retries and fallbacks (GET /metrics); absent = not counted. */
  readonly metrics?: ProxyMetrics | null;
}

/** Marks the reply of a stream attempt that started (by identity): the consumer writes its headers, not a body. */
export const STREAM_STARTED_BODY = new ArrayBuffer(0);
