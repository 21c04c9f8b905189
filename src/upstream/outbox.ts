/**
 * Messages for one MessagePort, sent as one array per turn of the event loop together with
 * the buffers they transfer. Crossing a thread costs mostly per message, not per byte, so a
 * turn that starts sixty requests (or relays sixty stream chunks) pays for one crossing.
 *
 * A batch that cannot be sent (a buffer that cannot be transferred) is sent again message by
 * message, so only the message at fault is lost, and its sender hears of it (`dropped`).
 */
import type { MessagePort } from 'node:worker_threads';

export class Outbox<M> {
  readonly #port: MessagePort;
  readonly #dropped: (m: M, err: unknown) => void;
  #batch: M[] = [];
  /** Each message's transfer (null: none), in the batch's order. */
  #transfers: Array<ArrayBuffer | null> = [];
  #scheduled = false;
  #closed = false;

  constructor(port: MessagePort, dropped: (m: M, err: unknown) => void) {
    this.#port = port;
    this.#dropped = dropped;
  }

  /** Queues `m` for this turn's message; `transfer` moves with it (never used again by the sender). */
  push(m: M, transfer?: ArrayBuffer): void {
    if (this.#closed) return;
    this.#batch.push(m);
    this.#transfers.push(transfer !== undefined && transfer.byteLength > 0 ? transfer : null);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  /** Sends what is queued now (also what a scheduled flush does). */
  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#closed || this.#batch.length === 0) return;
    const batch = this.#batch;
    const transfers = this.#transfers;
    this.#batch = [];
    this.#transfers = [];
    try {
      this.#port.postMessage(batch, transfers.filter((t): t is ArrayBuffer => t !== null));
    } catch {
      for (let i = 0; i < batch.length; i++) {
        const t = transfers[i];
        try {
          this.#port.postMessage([batch[i]], t === null || t === undefined ? [] : [t]);
        } catch (err) {
          this.#dropped(batch[i]!, err);
        }
      }
    }
  };

  flush(): void {
    this.#flush();
  }

  /** Drops whatever is queued; nothing more is sent. */
  close(): void {
    this.#closed = true;
    this.#batch = [];
    this.#transfers = [];
  }
}
