/**
 * The dispatch seam: runs upstream tasks either in a Piscina worker pool (default) or inline
 * on the main thread (`workers: 0`). Both paths run the same task module, workers/upstream.ts;
 * only the transport differs.
 *
 * In pool mode Piscina owns the threads, and each thread runs one long-lived `serve` task that
 * holds a MessagePort to the main thread (a WorkerLink): every call, stream frame, credit and
 * abort for that thread travels on it, tagged with its task id and batched per turn of the
 * event loop (outbox.ts). A task costs no Piscina task, promise bookkeeping or MessageChannel
 * of its own, and sixty requests started in one turn cross to a worker in one message.
 */
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Outbox } from './outbox.js';
import type { CallResult, CallTask, FromWorker, StreamControl, StreamFrame, StreamTask, ToWorker, Usage, WireError } from './wire.js';

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

export type StreamParams = Omit<StreamTask, 'window'>;

export interface Dispatcher {
  readonly mode: 'pool' | 'inline';
  readonly threads: number;
  /** Resolves when the dispatcher can take tasks (every pool thread serves its channel). */
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

type FrameOut = (f: StreamFrame, transfer?: ArrayBuffer) => void;

interface TaskModule {
  call(task: CallTask): Promise<CallResult>;
  stream(task: StreamTask, out: FrameOut): Promise<boolean>;
  control(id: number, m: StreamControl): void;
  countTokens(task: { body: ArrayBuffer; model: string }): Promise<number>;
  abort(id: number): void;
}

/** One stream's frames to its sink, in either mode; after the last frame (or an abort) nothing more is delivered. */
class StreamRoute {
  closed = false;
  readonly #sink: StreamSink;
  readonly #onClose: () => void;

  constructor(sink: StreamSink, onClose: () => void) {
    this.#sink = sink;
    this.#onClose = onClose;
  }

  deliver(f: StreamFrame): void {
    if (this.closed) return;
    const sink = this.#sink;
    switch (f.t) {
      case 'head': sink.head(f.headers ?? null); break;
      case 'data': sink.data(f.buf); break;
      case 'fail': this.close(); sink.fail(f.status, f.body, f.retryAfterMs, f.headers ?? null); break;
      case 'end': this.close(); sink.end(f.usage); break;
      case 'error': this.close(); sink.error(f.error); break;
    }
  }

  /** The task died outside its frames (a worker crash, a throw): report it as an error, not silence. */
  failed(message: string): void {
    if (this.closed) return;
    this.close();
    this.#sink.error({ code: 'WORKER_FAILED', message });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#onClose();
  }
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
      const id = params.id;
      const route = new StreamRoute(sink, () => undefined);
      // Each frame on a later microtask, never inside the call that sent it: as a worker's would arrive.
      const out: FrameOut = (f) => queueMicrotask(() => route.deliver(f));
      mod.stream({ ...params, window: STREAM_WINDOW }, out).catch((err: unknown) => {
        route.failed(`upstream task failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      return {
        credit(n) {
          if (!route.closed) mod.control(id, { t: 'credit', n });
        },
        abort() {
          if (route.closed) return;
          route.close();
          mod.control(id, { t: 'abort' });
        },
      };
    },
    countTokens: (body, model) => mod.countTokens({ body, model }),
    close: async () => undefined,
  };
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(err: Error): void;
}

/** The main thread's end of one worker's channel: what is in flight there, by task id. */
class WorkerLink {
  readonly out: Outbox<ToWorker>;
  readonly calls = new Map<number, Waiter<CallResult>>();
  readonly streams = new Map<number, StreamRoute>();
  readonly counts = new Map<number, Waiter<number>>();
  threadId = -1;
  dead = false;
  readonly #port: MessagePort;
  readonly #hello: () => void;

  constructor(port: MessagePort, hello: () => void) {
    this.#port = port;
    this.#hello = hello;
    this.out = new Outbox<ToWorker>(port);
    port.on('message', (batch: FromWorker[]) => {
      for (const m of batch) this.#receive(m);
    });
    port.on('close', () => this.die('upstream worker channel closed'));
  }

  get load(): number {
    return this.calls.size + this.streams.size;
  }

  #receive(m: FromWorker): void {
    switch (m.t) {
      case 'hello':
        this.threadId = m.threadId;
        this.#hello();
        break;
      case 'result': {
        const w = this.calls.get(m.id);
        this.calls.delete(m.id);
        w?.resolve(m.r);
        break;
      }
      case 'frame':
        this.streams.get(m.id)?.deliver(m.f);
        break;
      case 'count': {
        const w = this.counts.get(m.id);
        this.counts.delete(m.id);
        if (m.n === null) w?.reject(new Error(m.message ?? 'token count failed'));
        else w?.resolve(m.n);
        break;
      }
      case 'crash': {
        const w = this.calls.get(m.id);
        this.calls.delete(m.id);
        w?.reject(new Error(m.message));
        this.streams.get(m.id)?.failed(`upstream task failed: ${m.message}`);
        break;
      }
    }
  }

  /** Everything in flight on this thread fails (the worker died or the pool is closing). */
  die(message: string): void {
    if (this.dead) return;
    this.dead = true;
    this.out.close();
    this.#port.close();
    const err = new Error(message);
    for (const w of this.calls.values()) w.reject(err);
    for (const w of this.counts.values()) w.reject(err);
    for (const r of [...this.streams.values()]) r.failed(message);
    this.calls.clear();
    this.counts.clear();
    this.streams.clear();
  }
}

type MessagePort = import('node:worker_threads').MessagePort;

/** How often start-up tries again to give each thread its own channel (a thread not yet up takes a second one). */
const ATTACH_TRIES = 100;
const ATTACH_RETRY_MS = 10;

export function createPoolDispatcher(threads: number): Dispatcher {
  const pool = new Piscina({
    filename: taskModuleUrl.href,
    minThreads: threads,
    maxThreads: threads,
    // Each thread runs one `serve` task for its whole life: a second waits for a thread that
    // has none (a new or replacement one). Atomics would park an idle thread in Atomics.wait
    // and freeze its keep-alive sockets and running streams.
    concurrentTasksPerWorker: 1,
    atomics: 'disabled',
    idleTimeout: Infinity,
  });
  let links: WorkerLink[] = [];
  /** Which link runs each call in flight, so an abort can reach it. */
  const callLinks = new Map<number, WorkerLink>();
  let closing = false;

  /** Opens a channel on whichever thread Piscina picks; resolves once that thread has said hello. */
  const open = (): Promise<WorkerLink> => {
    const { port1, port2 } = new MessageChannel();
    return new Promise((resolve, reject) => {
      const link = new WorkerLink(port1, () => resolve(link));
      pool.run({ port: port2 }, { name: 'serve', transferList: [port2] }).then(
        () => link.die('upstream worker stopped serving'),
        (err: unknown) => {
          const message = `upstream worker failed: ${err instanceof Error ? err.message : String(err)}`;
          link.die(message);
          reject(new Error(message));
          // A crashed worker is replaced by Piscina; give the replacement a channel.
          if (!closing && links.includes(link)) {
            links = links.filter((l) => l !== link);
            open().then((l) => (closing ? l.die('closing') : links.push(l)), () => undefined);
          }
        },
      );
    });
  };

  /** One channel per thread: a channel that lands on a thread that already has one is closed and tried again. */
  const attach = async (): Promise<void> => {
    for (let tries = 0; links.length < threads && tries < ATTACH_TRIES; tries++) {
      const link = await open();
      if (links.some((l) => l.threadId === link.threadId) && tries < ATTACH_TRIES - threads) {
        link.die('duplicate channel');
        await new Promise((r) => setTimeout(r, ATTACH_RETRY_MS));
        continue;
      }
      links.push(link);
    }
  };
  const attached = attach();
  attached.catch(() => undefined);

  /** The live link with the least in flight; null before start-up has opened one. */
  const pick = (): WorkerLink | null => {
    let best: WorkerLink | null = null;
    for (const l of links) if (!l.dead && (best === null || l.load < best.load)) best = l;
    return best;
  };
  const withLink = (use: (l: WorkerLink) => void, fail: (err: Error) => void): void => {
    const now = pick();
    if (now !== null) return use(now);
    attached.then(() => {
      const l = pick();
      if (l === null) fail(new Error('no upstream worker is serving'));
      else use(l);
    }, (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
  };

  return {
    mode: 'pool',
    threads,
    ready: () => attached,
    call(task) {
      return new Promise<CallResult>((resolve, reject) => {
        withLink((l) => {
          callLinks.set(task.id, l);
          const done = (): void => void callLinks.delete(task.id);
          l.calls.set(task.id, { resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)) });
          l.out.push({ t: 'call', task }, task.body);
        }, reject);
      });
    },
    abortCall(id) {
      callLinks.get(id)?.out.push({ t: 'abort', id });
    },
    stream(params, sink) {
      const id = params.id;
      let link: WorkerLink | null = null;
      const route = new StreamRoute(sink, () => link?.streams.delete(id));
      withLink((l) => {
        if (route.closed) return;
        link = l;
        l.streams.set(id, route);
        l.out.push({ t: 'stream', task: { ...params, window: STREAM_WINDOW } }, params.body);
      }, (err) => route.failed(err.message));
      return {
        credit(n) {
          if (!route.closed) link?.out.push({ t: 'control', id, c: { t: 'credit', n } });
        },
        abort() {
          if (route.closed) return;
          const l = link;
          route.close();
          l?.out.push({ t: 'control', id, c: { t: 'abort' } });
        },
      };
    },
    countTokens(body, model) {
      return new Promise<number>((resolve, reject) => {
        withLink((l) => {
          const id = newTaskId();
          l.counts.set(id, { resolve, reject });
          l.out.push({ t: 'count', id, body, model });
        }, reject);
      });
    },
    async close() {
      closing = true;
      await attached.catch(() => undefined);
      for (const l of links) l.die('the dispatcher is closing');
      links = [];
      await pool.close({ force: false });
    },
  };
}

export async function createDispatcher(workers: number): Promise<Dispatcher> {
  return workers <= 0 ? createInlineDispatcher() : createPoolDispatcher(workers);
}
