/**
 * The dispatch seam: runs upstream tasks either in a Piscina worker pool (default) or inline
 * on the main thread (`workers: 0`). Both paths run the same task module,
 * workers/upstream.ts; only the transport differs.
 */
import { BroadcastChannel, MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { CallResult, CallTask, StreamControl, StreamFrame, StreamTask, Usage, WireError } from './wire.js';
import { ABORT_CHANNEL } from './wire.js';

const taskModuleUrl = new URL('../../workers/upstream.js', import.meta.url);

/** Frames a stream's consumer receives, in order; exactly one of end/error/fail is last. */
export interface StreamSink {
  /** `headers`: upstream headers relayed to the client (relay-headers.ts), null when none. */
  head(headers: readonly string[] | null): void;
  fail(status: number, body: ArrayBuffer, retryAfterMs: number | null, headers: readonly string[] | null): void;
  data(buf: ArrayBuffer): void;
  end(usage: Usage | null): void;
  error(error: WireError): void;
}

export interface StreamHandle {
  /** Returns credit for `n` frames the consumer has written out. */
  credit(n: number): void;
  /** Cancels the upstream request; no more frames are delivered. */
  abort(): void;
}

export type StreamParams = Omit<StreamTask, 'port' | 'window'>;

export interface Dispatcher {
  readonly mode: 'pool' | 'inline';
  readonly threads: number;
  /** Resolves when the dispatcher can take tasks (every pool thread has loaded the task module). */
  ready(): Promise<void>;
  call(task: CallTask): Promise<CallResult>;
  /** Cancels a running `call` by its task id. */
  abortCall(id: number): void;
  stream(task: StreamParams, sink: StreamSink): StreamHandle;
  /** Prompt tokens of a body (a copy is sent; the body stays usable). */
  countTokens(body: ArrayBuffer, model: string): Promise<number>;
  close(): Promise<void>;
}

/** Frames a stream may have in flight before the main thread returns credit. */
export const STREAM_WINDOW = 16;

let nextTaskId = 1;
export function newTaskId(): number {
  nextTaskId = nextTaskId >= Number.MAX_SAFE_INTEGER ? 1 : nextTaskId + 1;
  return nextTaskId;
}

interface TaskModule {
  call(task: CallTask): Promise<CallResult>;
  stream(task: StreamTask): Promise<boolean>;
  countTokens(task: { body: ArrayBuffer; model: string }): Promise<number>;
  abort(id: number): void;
  ping(): boolean;
}

/** Connects a sink to a stream's port; shared by both modes. `failed` reports a task that died outside the port. */
function attach(port: MessagePort, sink: StreamSink): StreamHandle & { failed(message: string): void } {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    port.close();
  };
  port.on('message', (f: StreamFrame) => {
    if (closed) return;
    switch (f.t) {
      case 'head': sink.head(f.headers ?? null); break;
      case 'data': sink.data(f.buf); break;
      case 'fail': close(); sink.fail(f.status, f.body, f.retryAfterMs, f.headers ?? null); break;
      case 'end': close(); sink.end(f.usage); break;
      case 'error': close(); sink.error(f.error); break;
    }
  });
  // A worker that dies mid-task closes its end of the channel: report it as an error, not silence.
  port.on('close', () => {
    if (closed) return;
    closed = true;
    sink.error({ code: 'WORKER_FAILED', message: 'upstream worker ended the stream unexpectedly' });
  });
  return {
    failed(message: string) {
      if (closed) return;
      close();
      sink.error({ code: 'WORKER_FAILED', message });
    },
    credit(n: number) {
      if (!closed) port.postMessage({ t: 'credit', n } satisfies StreamControl);
    },
    abort() {
      if (closed) return;
      port.postMessage({ t: 'abort' } satisfies StreamControl);
      closed = true;
      // Let the abort message go out before closing our end.
      setImmediate(() => port.close());
    },
  };
}

export async function createInlineDispatcher(): Promise<Dispatcher> {
  const mod = (await import(taskModuleUrl.href)) as TaskModule;
  return {
    mode: 'inline',
    threads: 0,
    ready: async () => undefined,
    call: (task) => mod.call(task),
    abortCall: (id) => mod.abort(id),
    stream(params, sink) {
      const { port1, port2 } = new MessageChannel();
      const handle = attach(port1, sink);
      mod.stream({ ...params, port: port2, window: STREAM_WINDOW }).catch((err: unknown) => {
        handle.failed(`upstream task failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      return handle;
    },
    countTokens: (body, model) => mod.countTokens({ body, model }),
    close: async () => undefined,
  };
}

export function createPoolDispatcher(threads: number): Dispatcher {
  const pool = new Piscina({
    filename: taskModuleUrl.href,
    minThreads: threads,
    maxThreads: threads,
    // Tasks are async I/O: many share a thread. Atomics would park an idle thread in
    // Atomics.wait and freeze its keep-alive sockets and running streams.
    concurrentTasksPerWorker: 4096,
    atomics: 'disabled',
    idleTimeout: Infinity,
  });
  const aborts = new BroadcastChannel(ABORT_CHANNEL);
  aborts.unref();
  let readyPromise: Promise<void> | null = null;
  return {
    mode: 'pool',
    threads,
    ready() {
      // One ping per thread; with concurrent tasks they may land on one thread, so this
      // proves the module loads rather than that every thread is up. Piscina starts
      // minThreads eagerly, so the others follow within milliseconds.
      readyPromise ??= Promise.all(Array.from({ length: threads }, () => pool.run(null, { name: 'ping' }))).then(() => undefined);
      return readyPromise;
    },
    call(task) {
      return pool.run(task, { name: 'call', transferList: [task.body] }) as Promise<CallResult>;
    },
    abortCall(id) {
      aborts.postMessage(id);
    },
    stream(params, sink) {
      const { port1, port2 } = new MessageChannel();
      const handle = attach(port1, sink);
      const task: StreamTask = { ...params, port: port2, window: STREAM_WINDOW };
      pool.run(task, { name: 'stream', transferList: [port2, params.body] }).catch((err: unknown) => {
        handle.failed(`upstream worker failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      return handle;
    },
    countTokens(body, model) {
      return pool.run({ body, model }, { name: 'countTokens' }) as Promise<number>;
    },
    async close() {
      aborts.close();
      await pool.close({ force: false });
    },
  };
}

export async function createDispatcher(workers: number): Promise<Dispatcher> {
  return workers <= 0 ? createInlineDispatcher() : createPoolDispatcher(workers);
}
