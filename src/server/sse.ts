/**
 * Relays one stream to its client. Credit goes back to the worker only for frames the socket
 * has taken; while uWS reports backpressure the credit is withheld until `onWritable`, so a
 * slow client holds at most one window of frames in memory and pauses the upstream read.
 */
import { statusLine } from '../errors.js';
import type { Reply, StreamConsumer } from '../router/router.js';
import { STREAM_WINDOW, type StreamHandle } from '../upstream/dispatch.js';
import { writeReply, type ResponseState } from './respond.js';
import type { HttpResponse } from './uws.js';

const ACK_BATCH = STREAM_WINDOW >> 1;

export class SseRelay implements StreamConsumer {
  readonly #res: HttpResponse;
  readonly #st: ResponseState;
  readonly #onFinish: () => void;
  #handle: StreamHandle | null = null;
  /** Frames written and not yet credited back. */
  #written = 0;
  #backpressured = false;
  #started = false;
  /** Frames (and the end) that came before `start`. */
  #held: ArrayBuffer[] = [];
  #heldEnd: string | null | undefined = undefined;

  constructor(res: HttpResponse, st: ResponseState, onFinish: () => void) {
    this.#res = res;
    this.#st = st;
    this.#onFinish = onFinish;
  }

  bind(handle: StreamHandle): void {
    this.#handle = handle;
  }

  start(headers: readonly string[]): void {
    if (this.#st.aborted || this.#started) return;
    this.#started = true;
    this.#res.cork(() => {
      this.#res.writeStatus(statusLine(200));
      this.#res.writeHeader('content-type', 'text/event-stream');
      this.#res.writeHeader('cache-control', 'no-cache');
      this.#res.writeHeader('x-accel-buffering', 'no');
      for (let i = 0; i < headers.length; i += 2) this.#res.writeHeader(headers[i]!, headers[i + 1]!);
    });
    // Frames that arrived between the upstream's head and this commit.
    const held = this.#held;
    this.#held = [];
    for (const buf of held) this.data(buf);
    const end = this.#heldEnd;
    this.#heldEnd = undefined;
    if (end !== undefined) this.#finish(end);
  }

  data(buf: ArrayBuffer): void {
    if (this.#st.aborted || this.#st.finished) return;
    if (!this.#started) {
      this.#held.push(buf);
      return;
    }
    let ok = false;
    this.#res.cork(() => {
      ok = this.#res.write(buf);
    });
    this.#written++;
    if (!ok) {
      if (!this.#backpressured) {
        this.#backpressured = true;
        this.#res.onWritable(() => {
          this.#backpressured = false;
          this.#ack();
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

  end(): void {
    this.#finish(null);
  }

  error(body: string): void {
    this.#finish(`data: ${body}\n\n`);
  }

  #finish(last: string | null): void {
    if (!this.#started && !this.#st.aborted && !this.#st.finished) {
      this.#heldEnd = last;
      return;
    }
    if (!this.#st.aborted && !this.#st.finished) {
      this.#st.finished = true;
      this.#res.cork(() => {
        if (last !== null) this.#res.write(last);
        this.#res.end(undefined, this.#st.closeConnection);
      });
    }
    this.#onFinish();
  }

  reply(reply: Reply): void {
    writeReply(this.#res, this.#st, reply);
    this.#onFinish();
  }
}
