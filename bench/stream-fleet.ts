/**
 * Many concurrent slow streams over raw sockets (node:net): thousands of HTTP clients cost
 * little this way, so the bench process stays out of the figures. Each socket POSTs one
 * streaming chat and reads it to the end; a stream is "open" at its first response bytes
 * (status 200) and "complete" once `data: [DONE]` and the chunked terminator arrived.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';

export interface FleetSpec {
  readonly port: number;
  readonly path: string;
  readonly body: string;
  readonly streams: number;
}

export interface FleetCounts {
  /** Streams that got their first bytes so far (completed ones included). */
  readonly opened: number;
  /** Open right now: first bytes seen, not yet complete. */
  readonly openNow: number;
  /** Requests sent and not yet complete or failed, answered or still waiting for first bytes. */
  readonly inFlight: number;
  readonly completed: number;
  readonly failed: number;
  /** The first failure's reason, e.g. `status 503` or `connect EMFILE`. */
  readonly firstFailure: string | null;
}

export interface Fleet {
  /** Resolves once every stream is open or has failed (or `capMs` passed); with the time it took. */
  allOpen(capMs: number): Promise<number>;
  /** Resolves once every stream completed or failed (or `capMs` passed). */
  allDone(capMs: number): Promise<void>;
  counts(): FleetCounts;
  destroy(): void;
}

/** Sockets created per event-loop turn, so connects spread out instead of one burst of N. */
const BATCH = 200;
const TAIL = 64;

export function openFleet(spec: FleetSpec): Fleet {
  const request = Buffer.from(
    `POST ${spec.path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer sk-bench\r\ncontent-length: ${Buffer.byteLength(spec.body)}\r\n\r\n${spec.body}`,
  );
  const sockets: Socket[] = [];
  let opened = 0;
  let inFlight = 0;
  let completed = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  const t0 = performance.now();
  const waiters: (() => void)[] = [];
  const settle = (): void => {
    for (const w of waiters.splice(0)) w();
  };

  const one = (): void => {
    let state: 'connecting' | 'open' | 'done' | 'failed' = 'connecting';
    let head = '';
    let tail = '';
    let sawDone = false;
    let sent = false;
    const fail = (why: string): void => {
      if (state === 'done' || state === 'failed') return;
      if (state === 'open') opened--; // counted as open, but it never finished: a failure
      if (sent) inFlight--;
      state = 'failed';
      failed++;
      firstFailure ??= why;
      s.destroy();
      settle();
    };
    const s = connect({ host: '127.0.0.1', port: spec.port }, () => {
      sent = true;
      inFlight++;
      s.write(request);
    });
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => {
      if (state === 'connecting') {
        head += chunk.toString('latin1', 0, Math.min(chunk.length, 16));
        if (head.length < 12) return;
        if (!head.startsWith('HTTP/1.1 200')) return fail(`status ${head.slice(9, 12)}`);
        state = 'open';
        opened++;
        settle();
      }
      tail = (tail + chunk.toString('latin1', Math.max(0, chunk.length - TAIL))).slice(-TAIL);
      if (!sawDone && tail.includes('data: [DONE]')) sawDone = true;
      if (sawDone && tail.endsWith('0\r\n\r\n')) {
        state = 'done';
        opened--;
        inFlight--;
        completed++;
        s.destroy();
        settle();
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => fail(`${e.syscall ?? 'socket'} ${e.code ?? e.message}`));
    s.on('close', () => fail(sawDone ? 'closed after [DONE] without the chunked terminator' : 'closed before [DONE]'));
    sockets.push(s);
  };

  void (async () => {
    for (let i = 0; i < spec.streams; i += BATCH) {
      for (let j = i; j < Math.min(spec.streams, i + BATCH); j++) one();
      await tick();
    }
  })();

  const until = (pred: () => boolean, capMs: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, capMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      const check = (): void => {
        if (pred()) done();
        else waiters.push(check);
      };
      check();
    });

  // A completed stream was open, so it still counts towards "opened" for allOpen.
  const everOpenOrFailed = (): number => opened + completed + failed;
  return {
    async allOpen(capMs) {
      await until(() => everOpenOrFailed() >= spec.streams, capMs);
      return performance.now() - t0;
    },
    allDone: (capMs) => until(() => completed + failed >= spec.streams, capMs),
    counts: () => ({ opened: opened + completed, openNow: opened, inFlight, completed, failed, firstFailure }),
    destroy() {
      for (const s of sockets) s.destroy();
    },
  };
}
