/**
 * Messages for one MessagePort, sent as one array per turn of the event loop together with
 * the buffers they transfer. Crossing a thread costs mostly per message, not per byte, so a
 * turn that starts sixty requests (or relays sixty stream chunks) pays for one crossing.
 */
import type { MessagePort } from 'node:worker_threads';

export class Outbox<M> {
  readonly #port: MessagePort;
  #batch: M[] = [];
  #transfer: ArrayBuffer[] = [];
  #scheduled = false;
  #closed = false;

  constructor(port: MessagePort) {
    this.#port = port;
  }

  /** Queues `m` for this turn's message; `transfer` moves with it (never used again by the sender). */
  push(m: M, transfer?: ArrayBuffer): void {
    if (this.#closed) return;
    this.#batch.push(m);
    if (transfer !== undefined && transfer.byteLength > 0) this.#transfer.push(transfer);
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
    const transfer = this.#transfer;
    this.#batch = [];
    this.#transfer = [];
    this.#port.postMessage(batch, transfer);
  };

  flush(): void {
    this.#flush();
  }

  /** Drops whatever is queued; nothing more is sent. */
  close(): void {
    this.#closed = true;
    this.#batch = [];
    this.#transfer = [];
  }
}
