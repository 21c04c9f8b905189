/**
 * The upstream task module. Piscina runs it in worker threads; with `workers: 0` the
 * dispatcher imports and calls the very same functions on the main thread.
 *
 * Tasks are stateless; per-thread resources (the undici agent and its keep-alive pools per
 * origin) are created once at module level. Everything that comes back is plain data.
 */
import { StringDecoder } from 'node:string_decoder';
import { threadId, type MessagePort } from 'node:worker_threads';
import { Agent, errors as undiciErrors } from 'undici';
import { mockFailure, mockResponseBody, mockStreamEvents } from '../src/providers/mock.js';
import { failureStatus, readUsage, SseRestamper } from '../src/upstream/sse.js';
import { restampReply } from '../src/upstream/restamp.js';
import { rawPost, type RawResponse } from '../src/upstream/raw-post.js';
import { Cancel } from '../src/upstream/cancel.js';
import { RawStream, rawStream } from '../src/upstream/raw-stream.js';
import { countPromptTokens } from '../src/upstream/tokens.js';
import { timerDelay } from '../src/timer-delay.js';
import { rawIncludes, rawName, relayedFromRaw, retryAfterOf } from '../src/upstream/relay-headers.js';
import { Outbox } from '../src/upstream/outbox.js';
import { responsesReply, responsesSse, responsesUpstreamBody, responsesWholeAsEvents, type Refusal, type SseFilter } from '../src/upstream/responses-shape.js';
import {
  type CallResult,
  type CallTask,
  type FromWorker,
  type OnWire,
  type StreamControl,
  type StreamFrame,
  type StreamTask,
  type TaskBase,
  type ToWorker,
  type WireBody,
  type WireError,
} from '../src/upstream/wire.js';

const agent = new Agent({
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 600_000,
  // No cap on connections per origin: how many requests run at once is the router's to bound
  // (max_parallel_requests, rpm/tpm), never a hidden queue here that eats into the timeout.
  connections: null,
  pipelining: 1,
  // Timeouts are ours (per task); undici's defaults would cut long generations at 300 s.
  headersTimeout: 0,
  bodyTimeout: 0,
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Whatever cancels one task: its Cancel, or a wrapper around a mock stream's AbortController. */
interface Canceller {
  cancel(reason: TaskAbort): void;
}

/** In-flight tasks by id, so an abort can reach them: each entry cancels its task. */
const inflight = new Map<number, Canceller>();
/** Aborts that arrived before their task started (a race in pool mode): id → time seen. */
const earlyAborts = new Map<number, number>();

class TaskAbort extends Error {
  constructor(readonly why: 'client' | 'timeout', readonly phase?: WireError['phase']) {
    super(why);
  }
}

/** Cancels a task: the upstream request is aborted and nothing more is sent for it. */
export function abort(id: number): void {
  const c = inflight.get(id);
  if (c) {
    c.cancel(new TaskAbort('client'));
    return;
  }
  const now = Date.now();
  earlyAborts.set(id, now);
  if (earlyAborts.size > 256) for (const [k, t] of earlyAborts) if (now - t > 10_000) earlyAborts.delete(k);
}

/**
 * Tasks whose body may still be read after their answer: a plain-HTTP upstream that answered
 * other than 2xx may have done so before reading the whole body, on a connection it keeps
 * open, and the socket then writes the rest later, from the task's memory. Their last answer
 * tells the main thread to keep the body's slab block out of use (body-slab.ts). TLS copies
 * what it is given at once, and an aborted or closed connection writes nothing more.
 */
const bodyMayBeRead = new Set<number>();

function noteAnswer(task: TaskBase, status: number): void {
  if ((status < 200 || status > 299) && task.url !== null && task.url.startsWith('http:')) bodyMayBeRead.add(task.id);
}

/** Running streams' control handlers by task id (credit, abort from the main thread). */
const streamControls = new Map<number, (m: StreamControl) => void>();

/** Delivers a control message to stream `id`; one for a stream that has ended is dropped. */
export function control(id: number, m: StreamControl): void {
  streamControls.get(id)?.(m);
}

/** Where a stream's frames go: the shared channel in a worker, the dispatcher directly inline. */
export type FrameOut = (f: StreamFrame, transfer?: ArrayBuffer) => void;

/**
 * The pool's long-lived task: serves every call, stream and token count the main thread sends
 * over `port` until the main thread closes it. One per worker thread. `slab`: the memory the
 * main thread writes bodies into (body-slab.ts); a body there is read in place.
 */
export function serve(task: { port: MessagePort; slab: SharedArrayBuffer }): Promise<void> {
  const port = task.port;
  const slab = new Uint8Array(task.slab);
  /** The received task with its body as bytes (the message is this thread's own copy). */
  const onThread = <T extends TaskBase>(t: OnWire<T>): T => {
    const b: WireBody = t.body;
    (t as { body: unknown }).body = b instanceof ArrayBuffer ? new Uint8Array(b) : slab.subarray(b.at, b.at + b.length);
    return t as unknown as T;
  };
  // An answer that cannot be sent fails its task on the main thread instead (a crash has no transfer).
  const out: Outbox<FromWorker> = new Outbox<FromWorker>(port, (m, err) => {
    if (m.t === 'result' || m.t === 'frame') crash(m.id, err);
    else if (m.t === 'count') out.push({ t: 'count', id: m.id, n: null, message: err instanceof Error ? err.message : String(err) });
  });
  const crash = (id: number, err: unknown): void => out.push({ t: 'crash', id, message: err instanceof Error ? err.message : String(err) });
  // One pair for every call the thread runs: nothing allocated per call to receive its result.
  const result: CallDone = (r, task) => out.push({ t: 'result', id: task.id, r, ...(bodyMayBeRead.delete(task.id) ? { hold: true as const } : null) }, 'body' in r && typeof r.body !== 'string' ? r.body : undefined);
  const crashed: CallCrashed = (err, task) => crash(task.id, err);
  const handle = (m: ToWorker): void => {
    switch (m.t) {
      case 'call':
        runCall(onThread(m.task), result, crashed);
        break;
      case 'stream': {
        const id = m.task.id;
        // `done` after everything else: the main thread frees the body's slab block on it.
        stream(onThread(m.task), (f, transfer) => out.push({ t: 'frame', id, f }, transfer))
          .catch((err: unknown) => crash(id, err))
          .finally(() => out.push({ t: 'done', id, ...(bodyMayBeRead.delete(id) ? { hold: true as const } : null) }));
        break;
      }
      case 'control':
        control(m.id, m.c);
        break;
      case 'abort':
        abort(m.id);
        break;
      case 'count':
        countTokens(m).then((n) => out.push({ t: 'count', id: m.id, n }), (err: unknown) => out.push({ t: 'count', id: m.id, n: null, message: err instanceof Error ? err.message : String(err) }));
        break;
    }
  };
  return new Promise((resolve) => {
    port.on('message', (batch: ToWorker[]) => {
      for (const m of batch) handle(m);
    });
    port.on('close', () => {
      out.close();
      resolve();
    });
    out.push({ t: 'hello', threadId });
  });
}

/** Prompt tokens of a request body, for the context-window pre-call check. */
export async function countTokens(task: { body: ArrayBuffer; model: string }): Promise<number> {
  return countPromptTokens(JSON.parse(decoder.decode(task.body)) as Record<string, unknown>, task.model);
}


function begin(id: number): AbortController {
  const c = new AbortController();
  track(id, { cancel: (reason) => c.abort(reason) });
  return c;
}

/** Registers how to cancel task `id`; an abort that raced ahead of the task cancels it now. */
function track(id: number, c: Canceller): void {
  inflight.set(id, c);
  if (earlyAborts.delete(id)) c.cancel(new TaskAbort('client'));
}

function toArrayBuffer(s: string): ArrayBuffer {
  return encoder.encode(s).buffer as ArrayBuffer;
}

/** The task's body as an object: only mock answers need it (a real call forwards the bytes). */
function parseBody(task: TaskBase): Record<string, unknown> {
  return JSON.parse(decoder.decode(task.body)) as Record<string, unknown>;
}

/**
 * What goes upstream: the task's bytes as the main thread spliced them, or for a Responses
 * request (`request`: its parsed body) the body reshaped here, or the 400 it gets instead.
 */
function upstreamBody(task: TaskBase, request: Record<string, unknown> | null): Uint8Array | string | Refusal {
  return request === null ? task.body : responsesUpstreamBody(task, request);
}

function isRefusal(sent: Uint8Array | string | Refusal): sent is Refusal {
  return typeof sent !== 'string' && !(sent instanceof Uint8Array);
}

/** A Responses request's body, parsed: the worker reshapes those itself. Null for the other endpoints. */
function responsesRequest(task: TaskBase): Record<string, unknown> | null {
  return task.endpoint === 'responses' ? parseBody(task) : null;
}
/** `Retry-After` in seconds or as an HTTP date, in ms; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  const secs = Number(v);
  if (Number.isFinite(secs)) return secs >= 0 ? Math.round(secs * 1000) : null;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Maps whatever undici or our own abort threw to a wire error. */
function toWireError(err: unknown, reason: unknown, label: string, defaultPhase: WireError['phase']): WireError {
  if (reason instanceof TaskAbort) {
    if (reason.why === 'timeout') {
      return { code: 'UPSTREAM_TIMEOUT', message: `upstream ${label} timed out (${reason.phase ?? defaultPhase})`, phase: reason.phase ?? defaultPhase };
    }
    return { code: 'UPSTREAM_ABORTED', message: 'client went away' };
  }
  if (err instanceof undiciErrors.HeadersTimeoutError) {
    return { code: 'UPSTREAM_TIMEOUT', message: `upstream ${label} sent no response headers in time`, phase: 'first-byte' };
  }
  if (err instanceof undiciErrors.BodyTimeoutError) {
    return { code: 'UPSTREAM_TIMEOUT', message: `upstream ${label} stalled between chunks`, phase: 'between-chunks' };
  }
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : 'UNKNOWN';
  const msg = typeof e.cause?.message === 'string' ? e.cause.message : typeof e.message === 'string' ? e.message : String(err);
  if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_URL') {
    return { code: 'WORKER_FAILED', message: `cannot call upstream ${label}: ${msg}` };
  }
  return { code: 'UPSTREAM_CONNECT', message: `cannot reach upstream ${label}: ${code}${msg && !msg.includes(code) ? ` (${msg})` : ''}` };
}

/** Where a call's result goes, or (a bug, never an upstream failure) what it threw; both get the task. */
type CallDone = (r: CallResult, task: CallTask) => void;
type CallCrashed = (err: unknown, task: CallTask) => void;

/** One non-stream call, as a promise (the dispatcher's inline mode; a worker uses runCall). */
export function call(task: CallTask): Promise<CallResult> {
  return new Promise((resolve, reject) => runCall(task, resolve, reject));
}

/** Runs a call and hands its result to `done`: a real upstream's without any promise. */
function runCall(task: CallTask, done: CallDone, crashed: CallCrashed): void {
  if (task.mockTimeout || task.mock !== null) {
    mockCall(task).then(
      (r) => done(r, task),
      (err: unknown) => crashed(err, task),
    );
  } else {
    upstreamCall(task, done);
  }
}

/** A mock deployment's call (mock_response, mock_timeout): its answer from the task alone. */
async function mockCall(task: CallTask): Promise<CallResult> {
  const cancel = new Cancel();
  track(task.id, cancel);
  try {
    if (task.mockTimeout) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timerDelay(task.timeoutMs));
        cancel.bind(() => {
          clearTimeout(t);
          resolve();
        });
      });
      cancel.cancel(new TaskAbort('timeout', 'total'));
      throw cancel.reason;
    }
    // call() sends only mock tasks here: without mock_timeout, mock_response is set.
    const mock = task.mock!;
    const failure = mockFailure(mock);
    if (failure) return { ok: false, status: failure.status, body: toArrayBuffer(failure.body), retryAfterMs: null };
    const text = mockResponseBody(mock, task.endpoint, task.responseModel ?? task.upstreamModel, parseBody(task));
    const usage = task.endpoint === 'embeddings' ? { promptTokens: 10, completionTokens: 0, totalTokens: 10 } : { promptTokens: 10, completionTokens: 20, totalTokens: 30 };
    return { ok: true, status: 200, body: toArrayBuffer(text), usage, finishReason: mockFinishReason(mock) };
  } catch (err) {
    return failedCall(task, cancel, err);
  } finally {
    inflight.delete(task.id);
  }
}

/**
 * A real upstream's call, the hot path: `done` gets the finished result straight from rawPost's
 * callback (no promise, async frame or microtask per call). It never throws: a failure is a result.
 */
function upstreamCall(task: CallTask, done: CallDone): void {
  // A Cancel rather than an AbortController: the hot path needs no signal or listener.
  const cancel = new Cancel();
  track(task.id, cancel);
  let responsesBody: Record<string, unknown> | null;
  let sent: Uint8Array | string | Refusal;
  try {
    if (cancel.reason !== null) throw cancel.reason;
    responsesBody = responsesRequest(task);
    sent = upstreamBody(task, responsesBody);
  } catch (err) {
    inflight.delete(task.id);
    return done(failedCall(task, cancel, err), task);
  }
  if (isRefusal(sent)) {
    inflight.delete(task.id);
    return done({ ok: false, status: sent.status, body: toArrayBuffer(sent.body), retryAfterMs: null }, task);
  }
  // timerDelay: a timeout past what a timer holds would otherwise fire at once (a 408 for every call).
  const timer = setTimeout(() => cancel.cancel(new TaskAbort('timeout', 'total')), timerDelay(task.timeoutMs));
  const posted = (err: unknown, res: RawResponse | null): void => {
    clearTimeout(timer);
    inflight.delete(task.id);
    let r: CallResult;
    try {
      r = res === null ? failedCall(task, cancel, err) : answered(task, res, responsesBody);
    } catch (e) {
      r = failedCall(task, cancel, e);
    }
    done(r, task);
  };
  try {
    rawPost(agent, task.url!, task.headers, sent, cancel, posted);
  } catch (err) {
    posted(err, null);
  }
}

/** The result of an upstream's answer. `responsesBody`: the Responses request this call reshaped, if any. */
function answered(task: CallTask, res: RawResponse, responsesBody: Record<string, unknown> | null): CallResult {
  noteAnswer(task, res.status);
  if (res.status >= 400) {
    return { ok: false, status: res.status, body: bufferToArrayBuffer(res.body), retryAfterMs: parseRetryAfter(res.retryAfter), headers: res.relayed };
  }
  if (responsesBody !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body.toString('utf8'));
    } catch {
      return notJson(task, res.status);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return { ok: true, status: res.status, body: toArrayBuffer(JSON.stringify(parsed)), usage: null, finishReason: null, headers: res.relayed };
    }
    const reshaped = responsesReply(task, parsed as Record<string, unknown>, responsesBody);
    return { ok: true, status: res.status, body: toArrayBuffer(JSON.stringify(reshaped.body)), usage: reshaped.usage, finishReason: reshaped.finishReason, headers: res.relayed };
  }
  const answer = restampReply(res.body, task.responseModel);
  if (answer === null) {
    return notJson(task, res.status);
  }
  return { ok: true, status: res.status, body: answer.body, usage: answer.usage, finishReason: answer.finishReason, headers: res.relayed };
}

/** What a call that threw (a body that is not JSON, the upstream's error, our abort) answers. */
function failedCall(task: CallTask, cancel: Cancel, err: unknown): CallResult {
  if (err instanceof SyntaxError) return { ok: false, status: 0, error: { code: 'WORKER_FAILED', message: 'request body is not valid JSON' } };
  return { ok: false, status: 0, error: toWireError(err, cancel.reason, task.label, 'total') };
}

/** An upstream's success status with a body that is not JSON: a protocol failure (retried elsewhere). */
function notJson(task: TaskBase, status: number): CallResult {
  return { ok: false, status: 0, error: { code: 'UPSTREAM_PROTOCOL', message: `upstream ${task.label} answered ${status} with a body that is not JSON` } };
}

/** A standalone copy of a Buffer's bytes (a Buffer may be a view into a larger pooled slab). */
function bufferToArrayBuffer(b: Buffer): ArrayBuffer {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out.buffer;
}

/**
 * Credit-based flow control for a mock stream: `take()` resolves when a frame may be sent.
 * The main thread returns credit as the client's socket drains, so a slow client holds the
 * stream here instead of growing buffers on the main thread. (A real upstream's stream pauses
 * its read instead: StreamRelay.)
 */
class Credit {
  #n: number;
  #waiter: (() => void) | null = null;
  constructor(n: number) {
    this.#n = n;
  }
  add(n: number): void {
    this.#n += n;
    const w = this.#waiter;
    if (w && this.#n > 0) {
      this.#waiter = null;
      w();
    }
  }
  /** Wakes a waiter without credit (used on abort). */
  release(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
  take(): Promise<void> | null {
    if (this.#n > 0) {
      this.#n--;
      return null;
    }
    return new Promise<void>((resolve) => {
      this.#waiter = () => {
        this.#n = Math.max(0, this.#n - 1);
        resolve();
      };
    });
  }
}

/**
 * A stream's frames on their way out: nothing after the frame that ends it (fail, end or
 * error), nothing once the client is gone (a timeout still reports its error frame).
 */
class Frames {
  clientGone = false;
  /** Whether the frame that ends the stream has gone out. */
  ended = false;
  readonly #out: FrameOut;

  constructor(out: FrameOut) {
    this.#out = out;
  }

  post(f: StreamFrame, transfer?: ArrayBuffer): void {
    if (this.clientGone || this.ended) return;
    if (f.t === 'fail' || f.t === 'end' || f.t === 'error') this.ended = true;
    this.#out(f, transfer);
  }

  /** A frame of SSE text (none for ''). */
  data(text: string): void {
    if (text !== '') this.post({ t: 'data', text });
  }

  /** The frame every stream the main thread still waits on gets, whichever way it ended. */
  last(): void {
    this.post({ t: 'error', error: { code: 'WORKER_FAILED', message: 'upstream worker ended the stream unexpectedly' } });
  }
}

export function stream(task: StreamTask, out: FrameOut): Promise<boolean> {
  return task.mockTimeout || task.mock !== null ? mockStream(task, out) : upstreamStream(task, out);
}

/** A mock deployment's stream (mock_response, mock_timeout): events from the task alone, paced by credit. */
async function mockStream(task: StreamTask, out: FrameOut): Promise<boolean> {
  const controller = begin(task.id);
  const credit = new Credit(task.window);
  const frames = new Frames(out);
  streamControls.set(task.id, (m) => {
    if (m.t === 'credit') credit.add(m.n);
    else {
      frames.clientGone = true;
      controller.abort(new TaskAbort('client'));
      credit.release();
    }
  });
  const sendData = async (text: string): Promise<void> => {
    if (text === '') return;
    const wait = credit.take();
    if (wait) await wait;
    frames.data(text);
  };
  try {
    if (task.mockTimeout) {
      await waitOrAbort(task.streamTimeoutMs, controller.signal);
      if (!controller.signal.aborted) controller.abort(new TaskAbort('timeout', 'first-byte'));
      throw controller.signal.reason;
    }
    // stream() sends only mock tasks here: without mock_timeout, mock_response is set.
    const mock = task.mock!;
    const failure = mockFailure(mock);
    if (failure) {
      const buf = toArrayBuffer(failure.body);
      frames.post({ t: 'fail', status: failure.status, body: buf, retryAfterMs: null }, buf);
      return true;
    }
    frames.post({ t: 'head' });
    const mockBody = parseBody(task);
    for (const ev of mockStreamEvents(mock, task.endpoint, task.responseModel ?? task.upstreamModel, isIncludeUsage(mockBody), mockBody)) {
      if (controller.signal.aborted) return false;
      await sendData(ev);
    }
    frames.post({ t: 'end', usage: { promptTokens: 10, completionTokens: 20, totalTokens: 30 } });
    return true;
  } catch (err) {
    streamFailed(task, frames, err, controller.signal.aborted ? controller.signal.reason : null);
    return false;
  } finally {
    inflight.delete(task.id);
    streamControls.delete(task.id);
    frames.last();
  }
}

/** The frame for what a stream threw: a body that is not JSON, or the upstream's (or our abort's) error. */
function streamFailed(task: StreamTask, frames: Frames, err: unknown, reason: unknown): void {
  if (err instanceof SyntaxError) {
    frames.post({ t: 'error', error: { code: 'WORKER_FAILED', message: 'request body is not valid JSON' } });
    return;
  }
  const e = toWireError(err, reason, task.label, 'first-byte');
  if (e.code !== 'UPSTREAM_ABORTED') frames.post({ t: 'error', error: e });
}

/** A real upstream's stream, relayed by a StreamRelay on undici's dispatch. */
async function upstreamStream(task: StreamTask, out: FrameOut): Promise<boolean> {
  const cancel = new Cancel();
  track(task.id, cancel);
  const frames = new Frames(out);
  let relay: StreamRelay | null = null;
  streamControls.set(task.id, (m) => {
    if (m.t === 'credit') relay?.credit(m.n);
    else {
      frames.clientGone = true;
      cancel.cancel(new TaskAbort('client'));
    }
  });
  try {
    if (cancel.reason !== null) throw cancel.reason;
    const responsesBody = responsesRequest(task);
    const sent = upstreamBody(task, responsesBody);
    if (isRefusal(sent)) {
      const buf = toArrayBuffer(sent.body);
      frames.post({ t: 'fail', status: sent.status, body: buf, retryAfterMs: null }, buf);
      return true;
    }
    return await new Promise<boolean>((resolve) => {
      relay = new StreamRelay(task, cancel, frames, responsesBody, resolve);
      rawStream(agent, task.url!, task.headers, sent, relay);
    });
  } catch (err) {
    streamFailed(task, frames, err, cancel.reason);
    return false;
  } finally {
    (relay as StreamRelay | null)?.stop();
    inflight.delete(task.id);
    streamControls.delete(task.id);
    frames.last();
  }
}

/** A stream's Content-Type holds this when it is one (as bytes: raw header values are latin1). */
const EVENT_STREAM = Buffer.from('text/event-stream', 'latin1');
const CONTENT_TYPE = rawName('content-type');

/**
 * One upstream stream relayed as frames. SSE is restamped chunk by chunk, one data frame per
 * chunk that completes an event. Each data frame takes one credit; with none left the upstream
 * read is paused until the main thread returns some (its bytes wait in the socket, TCP holds
 * the upstream back), and the gap timer stops meanwhile: a slow client is not a stalled upstream.
 *
 * One timer bounds the wait for headers (`first-byte`, also while an error or JSON body is read
 * whole) and then each gap between chunks (`between-chunks`), stream_timeout each.
 */
class StreamRelay extends RawStream {
  readonly #task: StreamTask;
  readonly #frames: Frames;
  /** The Responses request (its body reshaped here), or null for chat and completions. */
  readonly #responsesBody: Record<string, unknown> | null;
  readonly #settle: (ok: boolean) => void;
  #settled = false;
  #credit: number;
  /** Paused for credit: the upstream read and the gap timer wait for the main thread. */
  #held = false;
  readonly #gapMs: number;
  #phase: 'first-byte' | 'between-chunks' = 'first-byte';
  #timer: NodeJS.Timeout | null;
  #status = 0;
  /** A body read whole: the relayed headers and (error status) Retry-After, decoded at its start. */
  #relayed: string[] | null = null;
  #retryAfter: string | undefined = undefined;
  #sse: SseFilter | null = null;
  /**
   * UTF-8 across chunk boundaries. A StringDecoder, not a TextDecoder with `stream: true`:
   * about five times faster on a chunk of events (no options object to convert per call).
   */
  #decoder: StringDecoder | null = null;
  /** Whether the next chunk is the body's first (a byte order mark there is dropped, as TextDecoder did). */
  #first = true;

  constructor(task: StreamTask, cancel: Cancel, frames: Frames, responsesBody: Record<string, unknown> | null, settle: (ok: boolean) => void) {
    super(cancel);
    this.#task = task;
    this.#frames = frames;
    this.#responsesBody = responsesBody;
    this.#settle = settle;
    this.#credit = task.window;
    // timerDelay: a timeout past what a timer holds would otherwise fire at once.
    this.#gapMs = timerDelay(task.streamTimeoutMs);
    this.#timer = setTimeout(this.#expired, this.#gapMs);
  }

  readonly #expired = (): void => {
    this.cancel.cancel(new TaskAbort('timeout', this.#phase));
  };

  /** Credit back from the main thread: a held stream reads on. */
  credit(n: number): void {
    this.#credit += n;
    if (!this.#held || this.#credit <= 0 || this.#settled) return;
    this.#held = false;
    this.#timer = setTimeout(this.#expired, this.#gapMs);
    this.resume();
  }

  /** Ends the stream's own work (its timer); the frames are the caller's. */
  stop(): void {
    this.#settled = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #finish(ok: boolean): void {
    if (this.#settled) return;
    this.stop();
    this.#settle(ok);
  }

  #send(text: string): void {
    if (text === '') return;
    this.#frames.data(text);
    if (--this.#credit > 0) return;
    this.#held = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.pause();
  }

  /** An error event ends the stream as a failure: the main thread relays it with secrets cut. */
  #failMidStream(payload: string): void {
    const buf = toArrayBuffer(payload);
    this.#frames.post({ t: 'fail', status: failureStatus(payload), body: buf, retryAfterMs: null }, buf);
    this.#finish(false);
  }

  protected start(status: number, raw: readonly Buffer[]): boolean {
    this.#status = status;
    noteAnswer(this.#task, status);
    // An error status, or an upstream that ignored `stream: true` and answered JSON: read whole.
    // What `whole` needs of the headers is decoded now: nothing keeps the raw ones after this.
    if (status >= 400 || !rawIncludes(raw, CONTENT_TYPE, EVENT_STREAM)) {
      this.#relayed = relayedFromRaw(raw);
      if (status >= 400) this.#retryAfter = retryAfterOf(raw);
      return true;
    }
    this.#frames.post({ t: 'head', headers: relayedFromRaw(raw) });
    this.#sse = this.#responsesBody !== null ? responsesSse(this.#task, this.#responsesBody) : new SseRestamper(this.#task.responseModel);
    this.#decoder = new StringDecoder('utf8');
    this.#phase = 'between-chunks';
    this.#timer?.refresh();
    return false;
  }

  protected data(chunk: Buffer): void {
    if (this.#settled) return;
    this.#timer?.refresh();
    const sse = this.#sse!;
    let text = this.#decoder!.write(chunk);
    if (this.#first && text !== '') {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.#send(sse.push(text));
    if (sse.failure !== null) {
      this.#failMidStream(sse.failure);
      // Nothing more is read: the upstream request is closed.
      this.abort(new Error('upstream sent an error event'));
    }
  }

  protected end(): void {
    if (this.#settled) return;
    const sse = this.#sse!;
    this.#send(sse.flush());
    if (sse.failure !== null) return this.#failMidStream(sse.failure);
    if (!sse.done) {
      // The upstream closed without `[DONE]`: a cut stream, not a finished one.
      this.#frames.post({ t: 'error', error: { code: 'UPSTREAM_PROTOCOL', message: `upstream ${this.#task.label} closed the stream before [DONE]` } });
      return this.#finish(false);
    }
    this.#frames.post({ t: 'end', usage: sse.usage });
    this.#finish(true);
  }

  protected whole(body: Buffer): void {
    if (this.#settled) return;
    if (this.#status >= 400) {
      const raw = bufferToArrayBuffer(body);
      this.#frames.post({ t: 'fail', status: this.#status, body: raw, retryAfterMs: parseRetryAfter(this.#retryAfter), headers: this.#relayed }, raw);
      return this.#finish(true);
    }
    const raw = decoder.decode(body);
    this.#frames.post({ t: 'head', headers: this.#relayed });
    let text = raw;
    let usage = null;
    let events: string | null = null;
    try {
      const o = JSON.parse(raw) as Record<string, unknown>;
      if (this.#responsesBody !== null) {
        ({ text: events, usage } = responsesWholeAsEvents(this.#task, o, this.#responsesBody));
      } else {
        if (this.#task.responseModel !== null && 'model' in o) o.model = this.#task.responseModel;
        usage = readUsage(o.usage);
        text = JSON.stringify(o);
      }
    } catch {
      /* relay as is */
    }
    this.#frames.data(events ?? `data: ${text}\n\ndata: [DONE]\n\n`);
    this.#frames.post({ t: 'end', usage });
    this.#finish(true);
  }

  protected failed(err: Error): void {
    if (this.#settled) return;
    streamFailed(this.#task, this.#frames, err, this.cancel.reason);
    this.#finish(false);
  }
}

/** A dict mock_response may carry its own finish_reason (content_filter triggers content-policy fallbacks). */
function mockFinishReason(mock: unknown): string {
  if (mock !== null && typeof mock === 'object') {
    const choices = (mock as { choices?: unknown }).choices;
    const first: unknown = Array.isArray(choices) ? choices[0] : undefined;
    const fr = first !== null && typeof first === 'object' ? (first as { finish_reason?: unknown }).finish_reason : undefined;
    if (typeof fr === 'string') return fr;
  }
  return 'stop';
}

/** Resolves after `ms`, or as soon as the signal aborts. */
function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, timerDelay(ms));
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function isIncludeUsage(body: Record<string, unknown>): boolean {
  const so = body.stream_options;
  return so !== null && typeof so === 'object' && (so as Record<string, unknown>).include_usage === true;
}
