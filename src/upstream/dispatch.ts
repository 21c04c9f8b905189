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
import { BodySlab } from './body-slab.js';
import { Outbox } from './outbox.js';
import type { CallResult, CallTask, FromWorker, SlabSpan, StreamControl, StreamFrame, StreamTask, TaskBase, ToWorker, Usage, WireBody, WireError } from './wire.js';

const taskModuleUrl = new URL('../../workers/upstream.js', import.meta.url);

/** Frames a stream's consumer receives, in order; exactly one of end/error/fail is last. */
export interface StreamSink {
  /** `headers`: upstream headers relayed to the client (relay-headers.ts), null when none. */
  head(headers: readonly string[] | null): void;
  fail(status: number, body: ArrayBuffer, retryAfterMs: number | null, headers: readonly string[] | null): void;
  data(text: string): void;
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
  /**
   * Bytes for a task's body, `size` long, not zeroed: write the body into them and hand them over
   * with the task, which owns them from then on. A plain function (callers pass it along).
   */
  readonly allocBody: (size: number) => Uint8Array;
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
      case 'data': sink.data(f.text); break;
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
    // Nothing crosses a thread: Node's pooled allocation is the cheapest.
    allocBody: (size) => Buffer.allocUnsafe(size),
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

/** Bytes of the slab shared with the pool's workers (body-slab.ts): address space, touched as used. */
const BODY_SLAB_BYTES = 64 << 20;

/** Bytes of their own for a body: a whole ArrayBuffer, transferred with its task. */
function ownBytes(size: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
}

/** A body's bytes as a whole ArrayBuffer to transfer (copied when they are a view into more). */
function transferable(bytes: Uint8Array): ArrayBuffer {
  const b = bytes.buffer;
  return b instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === b.byteLength ? b : (bytes.slice().buffer as ArrayBuffer);
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
  readonly #slab: BodySlab;
  /** Slab blocks the worker reads, by task id, until the task's last answer frees them. */
  readonly #spans = new Map<number, SlabSpan>();

  constructor(port: MessagePort, slab: BodySlab, hello: () => void) {
    this.#port = port;
    this.#slab = slab;
    this.#hello = hello;
    this.out = new Outbox<ToWorker>(port, (m, err) => this.#unsent(m, err));
    port.on('message', (batch: FromWorker[]) => {
      for (const m of batch) {
        try {
          this.#receive(m);
        } catch (err) {
          // A consumer that throws fails its own task, never the rest of the batch.
          if (m.t !== 'hello') this.#fail(m.id, `handling the upstream worker's answer failed: ${errorText(err)}`);
        }
      }
    });
    port.on('close', () => this.die('upstream worker channel closed'));
  }

  get load(): number {
    return this.calls.size + this.streams.size;
  }

  /** Sends a call or stream task: a slab body as its span (freed by the task's last answer), any other transferred. */
  send(kind: 'call', task: CallTask): void;
  send(kind: 'stream', task: StreamTask): void;
  send(kind: 'call' | 'stream', task: CallTask | StreamTask): void {
    const span = this.#slab.spanOf(task.body);
    let body: WireBody;
    if (span !== null) {
      this.#spans.set(task.id, span);
      body = span;
    } else {
      body = transferable(task.body);
    }
    const m = { t: kind, task: { ...task, body } } as ToWorker;
    this.out.push(m, span === null ? (body as ArrayBuffer) : undefined);
  }

  /**
   * The task is over in the worker: its block goes back to the slab, unless `hold` (its socket
   * may still write the body: body-slab.ts), when it is retired for good.
   */
  #release(id: number, hold = false): void {
    const span = this.#spans.get(id);
    if (span === undefined) return;
    this.#spans.delete(id);
    if (hold) this.#slab.retire(span);
    else this.#slab.free(span);
  }

  #receive(m: FromWorker): void {
    switch (m.t) {
      case 'hello':
        this.threadId = m.threadId;
        this.#hello();
        break;
      case 'result': {
        this.#release(m.id, m.hold === true);
        const w = this.calls.get(m.id);
        this.calls.delete(m.id);
        w?.resolve(m.r);
        break;
      }
      case 'done':
        this.#release(m.id, m.hold === true);
        break;
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
      case 'crash':
        // A call's crash is its end, and says nothing of its upstream's answer: its block is retired.
        // A stream's (a frame that could not be sent) is followed by its `done`.
        if (this.calls.has(m.id)) this.#release(m.id, true);
        this.#fail(m.id, `upstream task failed: ${m.message}`);
        break;
    }
  }

  /** A message that could not be sent to the worker: its task fails (controls are dropped). */
  #unsent(m: ToWorker, err: unknown): void {
    const message = `cannot hand the task to the upstream worker: ${errorText(err)}`;
    if (m.t === 'call' || m.t === 'stream') {
      // The worker never saw it: nothing reads its body.
      this.#release(m.task.id);
      this.#fail(m.task.id, message);
    }
    else if (m.t === 'count') {
      const w = this.counts.get(m.id);
      this.counts.delete(m.id);
      w?.reject(new Error(message));
    }
  }

  #fail(id: number, message: string): void {
    const w = this.calls.get(id);
    this.calls.delete(id);
    w?.reject(new Error(message));
    try {
      this.streams.get(id)?.failed(message);
    } catch {
      /* the consumer failed again; the task is released regardless */
    }
  }

  /** Everything in flight on this thread fails (the worker died or the pool is closing). */
  die(message: string): void {
    if (this.dead) return;
    this.dead = true;
    this.out.close();
    this.#port.close();
    // Slab blocks of tasks in flight are not freed: the thread may still be sending them. They
    // are lost to the slab (later bodies that find no block get their own bytes).
    this.#spans.clear();
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
/** How long a task waits for a channel when none is up (a lost worker being replaced). */
const WAIT_FOR_WORKER_MS = 10_000;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `observe`: hands over the Piscina pool (tests stop a thread through it to prove recovery). */
export function createPoolDispatcher(threads: number, observe?: (pool: Piscina) => void): Dispatcher {
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
  observe?.(pool);
  const slab = new BodySlab(BODY_SLAB_BYTES);
  /** A slab block taken for a task that never reached a worker goes back. */
  const unsent = (task: TaskBase): void => {
    const span = slab.spanOf(task.body);
    if (span !== null) slab.free(span);
  };
  let links: WorkerLink[] = [];
  /** Which link runs each call in flight, so an abort can reach it. */
  const callLinks = new Map<number, WorkerLink>();
  /** Calls waiting for a channel, and those of them the client already left. */
  const unsentCalls = new Set<number>();
  const abortedUnsent = new Set<number>();
  let closing = false;
  /** Tasks waiting for a live channel (start-up, or a lost thread's replacement). */
  let waiting: Array<(l: WorkerLink | null) => void> = [];

  const wake = (): void => {
    const w = waiting;
    waiting = [];
    for (const go of w) go(pick());
  };
  const added = (l: WorkerLink): void => {
    links.push(l);
    wake();
  };

  /** Opens a channel on whichever thread Piscina picks; resolves once that thread has said hello. */
  const open = (): Promise<WorkerLink> => {
    const { port1, port2 } = new MessageChannel();
    return new Promise((resolve, reject) => {
      const link = new WorkerLink(port1, slab, () => resolve(link));
      pool.run({ port: port2, slab: slab.memory }, { name: 'serve', transferList: [port2] }).then(
        () => link.die('upstream worker stopped serving'),
        (err: unknown) => {
          const message = `upstream worker failed: ${errorText(err)}`;
          link.die(message);
          reject(new Error(message));
          const wasServing = links.includes(link);
          links = links.filter((l) => l !== link);
          // A crashed worker is replaced by Piscina; give the replacement a channel.
          if (wasServing) replace(0);
        },
      );
    });
  };

  /** Gives a replacement thread a channel, trying again with backoff while the pool is open. */
  const replace = (attempt: number): void => {
    if (closing) return;
    open().then(
      (l) => (closing ? l.die('the dispatcher is closing') : added(l)),
      () => void setTimeout(() => replace(attempt + 1), Math.min(1000, 50 * 2 ** attempt)).unref(),
    );
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
      added(link);
    }
  };
  const attached = attach();
  // Start-up failed (the task module does not load): whoever waits is told.
  attached.catch(() => wake());

  /** The live link with the least in flight; null when none is up. */
  const pick = (): WorkerLink | null => {
    let best: WorkerLink | null = null;
    for (const l of links) if (!l.dead && (best === null || l.load < best.load)) best = l;
    return best;
  };
  /** Runs `use` on a live channel now, or once one is up (bounded: a pool that cannot start a thread fails the task). */
  const withLink = (use: (l: WorkerLink) => void, fail: (err: Error) => void): void => {
    const now = pick();
    if (now !== null) return use(now);
    if (closing) return fail(new Error('the upstream dispatcher is closing'));
    const timer = setTimeout(() => {
      waiting = waiting.filter((w) => w !== go);
      fail(new Error(`no upstream worker is serving (none came up within ${WAIT_FOR_WORKER_MS / 1000} s)`));
    }, WAIT_FOR_WORKER_MS);
    const go = (l: WorkerLink | null): void => {
      clearTimeout(timer);
      if (l === null) fail(new Error('no upstream worker is serving'));
      else use(l);
    };
    waiting.push(go);
  };

  /**
   * Hands a stream's task to a channel, and `route` to that channel once it is on one. A scope
   * of its own: closures made in `stream()` share one context, and the handle's would keep the
   * task (its headers, url, body view) for the stream's whole life; here it is held only until sent.
   */
  const sendStream = (params: StreamParams, route: StreamRoute, onLink: (l: WorkerLink) => void): void => {
    withLink((l) => {
      if (route.closed) return unsent(params);
      onLink(l);
      l.streams.set(params.id, route);
      l.send('stream', { ...params, window: STREAM_WINDOW });
    }, (err) => {
      unsent(params);
      route.failed(err.message);
    });
  };

  return {
    mode: 'pool',
    threads,
    ready: () => attached,
    allocBody: (size) => slab.alloc(size) ?? ownBytes(size),
    call(task) {
      return new Promise<CallResult>((resolve, reject) => {
        unsentCalls.add(task.id);
        withLink((l) => {
          unsentCalls.delete(task.id);
          // The client left while this call waited for a channel: it never goes upstream.
          if (abortedUnsent.delete(task.id)) {
            unsent(task);
            return resolve({ ok: false, status: 0, error: { code: 'UPSTREAM_ABORTED', message: 'client went away' } });
          }
          callLinks.set(task.id, l);
          const done = (): void => void callLinks.delete(task.id);
          l.calls.set(task.id, { resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)) });
          l.send('call', task);
        }, (err) => {
          unsentCalls.delete(task.id);
          abortedUnsent.delete(task.id);
          unsent(task);
          reject(err);
        });
      });
    },
    abortCall(id) {
      const l = callLinks.get(id);
      if (l !== undefined) l.out.push({ t: 'abort', id });
      else if (unsentCalls.has(id)) abortedUnsent.add(id);
    },
    stream(params, sink) {
      const id = params.id;
      let link: WorkerLink | null = null;
      const route = new StreamRoute(sink, () => link?.streams.delete(id));
      sendStream(params, route, (l) => {
        link = l;
      });
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
      wake();
      await attached.catch(() => undefined);
      for (const l of links) {
        // What is queued (aborts from the server's shutdown grace) goes out before the channel closes.
        l.out.flush();
        l.die('the dispatcher is closing');
      }
      links = [];
      await pool.close({ force: false });
    },
  };
}

export async function createDispatcher(workers: number): Promise<Dispatcher> {
  return workers <= 0 ? createInlineDispatcher() : createPoolDispatcher(workers);
}
