/**
 * Relays one stream to its client. Credit goes back to the worker only for frames the socket
 * has taken; while uWS reports backpressure the credit is withheld until `onWritable`, so a
 * slow client holds at most one window of frames in memory and pauses the upstream read.
 *
 * Writes are gathered until the frames at hand are all in: the head and the data frames that
 * arrive in one batch from the worker go out in one cork (one send) on a microtask, and the
 * end flushes whatever is still gathered with it. A fast upstream's whole stream (head, data,
 * end in one batch) costs the socket one send instead of three.
 */
import { statusLine } from '../errors.js';
import type { Reply, StreamConsumer } from '../router/types.js';
import type { Usage } from '../upstream/wire.js';
import { STREAM_WINDOW, type StreamHandle } from '../upstream/dispatch.js';
import { logAccess } from './access-log.js';
import { HeaderBlock } from './header-block.js';
import { withRequestId, writeCommonHeaders, writeOverhead, writeReply, type ResponseState } from './respond.js';
import { KEEP_ALIVE_HINT, type HttpResponse } from './uws.js';

const ACK_BATCH = STREAM_WINDOW >> 1;

export class SseRelay implements StreamConsumer {
  readonly #res: HttpResponse;
  readonly #st: ResponseState;
  readonly #onFinish: () => void;
  readonly #onFail: (err: unknown) => void;
  #handle: StreamHandle | null = null;
  /** Frames written and not yet credited back. */
  #written = 0;
  #backpressured = false;
  #started = false;
  /**
   * Frames (and the end) that came before `start`. The arrays here exist only while they hold
   * frames: an open stream between frames keeps none (thousands of streams are open at once).
   */
  #held: string[] | null = null;
  #heldEnd: string | null | undefined = undefined;
  /** The tokens the stream's end frame reported, for the access line. */
  #usage: Usage | null = null;
  /** The reply's headers, read by the access line at the end. */
  #headers: readonly string[] | null = null;
  /** The upstream's time to headers, for the overhead header; written with the head. */
  #upstreamMs: number | undefined = undefined;
  /** Whether the head is yet to be written. */
  #headPending = false;
  /** Data frames gathered for the next cork. */
  #pending: string[] | null = null;
  #flushQueued = false;

  /**
   * `onFail` takes over when writing to the client throws: the relay's methods run inside the
   * dispatcher's message handling and uWS's writable callback, where a throw would take the
   * process down, so none of them lets one escape.
   */
  constructor(res: HttpResponse, st: ResponseState, onFinish: () => void, onFail: (err: unknown) => void) {
    this.#res = res;
    this.#st = st;
    this.#onFinish = onFinish;
    this.#onFail = onFail;
  }

  bind(handle: StreamHandle): void {
    this.#handle = handle;
  }

  start(headers: readonly string[], upstreamMs?: number): void {
    try {
      this.#start(headers, upstreamMs);
    } catch (err) {
      this.#onFail(err);
    }
  }

  #start(headers: readonly string[], upstreamMs: number | undefined): void {
    if (this.#st.aborted || this.#started) return;
    this.#started = true;
    this.#st.streaming = true;
    this.#st.status = 200;
    this.#headers = headers;
    this.#upstreamMs = upstreamMs;
    this.#headPending = true;
    // Frames that arrived between the upstream's head and this commit.
    const held = this.#held;
    this.#held = null;
    if (held !== null) for (const text of held) this.#data(text);
    const end = this.#heldEnd;
    this.#heldEnd = undefined;
    if (end !== undefined) this.#finish(end);
    else this.#queueFlush();
  }

  #writeHead(): void {
    const st = this.#st;
    this.#res.writeStatus(statusLine(200));
    const block = new HeaderBlock().writeHeader('content-type', 'text/event-stream').writeHeader('cache-control', 'no-cache').writeHeader('x-accel-buffering', 'no');
    if (!st.closeConnection) block.writeHeader('keep-alive', KEEP_ALIVE_HINT);
    const headers = this.#headers!;
    for (let i = 0; i < headers.length; i += 2) block.writeHeader(headers[i]!, headers[i + 1]!);
    writeCommonHeaders(block, st);
    writeOverhead(block, st, this.#upstreamMs);
    block.writeTo(this.#res);
  }

  data(text: string): void {
    try {
      this.#data(text);
    } catch (err) {
      this.#onFail(err);
    }
  }

  #data(text: string): void {
    if (this.#st.aborted || this.#st.finished) return;
    if (!this.#started) {
      (this.#held ??= []).push(text);
      return;
    }
    if (this.#st.firstByteAt === 0) this.#st.firstByteAt = performance.now();
    (this.#pending ??= []).push(text);
    this.#queueFlush();
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flushNow);
  }

  readonly #flushNow = (): void => {
    this.#flushQueued = false;
    try {
      this.#flush(null, false);
    } catch (err) {
      this.#onFail(err);
    }
  };

  /**
   * Writes what is gathered now (the head, data frames), before anything else is written to the
   * response (an internal error's last event). Never throws: a failed write is the caller's
   * error already.
   */
  flushGathered(): void {
    try {
      this.#flush(null, false);
    } catch {
      /* the response is being failed anyway */
    }
  }

  /** Writes the head if it is pending, the gathered frames, and with `end` the last text and the end, in one cork. */
  #flush(last: string | null, end: boolean): void {
    const pending = this.#pending;
    if (this.#st.aborted || this.#st.finished) {
      this.#pending = null;
      return;
    }
    if (!end && !this.#headPending && pending === null) return;
    this.#pending = null;
    let ok = true;
    this.#res.cork(() => {
      if (this.#headPending) {
        this.#headPending = false;
        this.#writeHead();
      }
      if (pending !== null) for (const text of pending) if (!this.#res.write(text)) ok = false;
      if (!end) return;
      if (last !== null) this.#res.write(last);
      // Never end(…, true) here: on a chunked response this uWS build writes `Connection: close`
      // into the body after the last chunk's data, and clients reject the stream as truncated.
      this.#res.end();
    });
    if (end) return;
    if (pending !== null) this.#written += pending.length;
    if (!ok) {
      if (!this.#backpressured) {
        this.#backpressured = true;
        this.#res.onWritable(() => {
          try {
            this.#backpressured = false;
            this.#ack();
          } catch (err) {
            this.#onFail(err);
          }
          return true;
        });
      }
      return;
    }
    if (!this.#backpressured && this.#written >= ACK_BATCH) this.#ack();
  }

  #ack(): void {
    if (this.#written > 0 && this.#handle) {
      this.#handle.credit(this.#written);
      this.#written = 0;
    }
  }

  end(usage: Usage | null): void {
    this.#usage = usage;
    try {
      this.#finish(null);
    } catch (err) {
      this.#onFail(err);
    }
  }

  error(body: string): void {
    try {
      this.#finish(`data: ${withRequestId(body, this.#st)}\n\n`);
    } catch (err) {
      this.#onFail(err);
    }
  }

  #finish(last: string | null): void {
    if (!this.#started && !this.#st.aborted && !this.#st.finished) {
      this.#heldEnd = last;
      return;
    }
    if (!this.#st.aborted && !this.#st.finished) {
      this.#flush(last, true);
      this.#st.finished = true;
      logAccess(this.#st.ctx.log, this.#st, this.#headers, this.#usage);
    }
    this.#onFinish();
  }

  reply(reply: Reply): void {
    try {
      writeReply(this.#res, this.#st, reply);
    } catch (err) {
      this.#onFail(err);
      return;
    }
    this.#onFinish();
  }
}
