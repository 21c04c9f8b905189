/**
 * Cancellation for a request on undici's low-level `dispatch`: a reason and one callback,
 * instead of an AbortController, an AbortSignal and a listener per call. Shared by the
 * buffered POST (raw-post.ts) and the streamed one (raw-stream.ts).
 */

/** Cancels a call in flight; `cancel` before the request starts cancels it as soon as it does. */
export class Cancel {
  #abort: ((err: Error) => void) | null = null;
  #reason: Error | null = null;

  get reason(): Error | null {
    return this.#reason;
  }

  cancel(reason: Error): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    this.#abort?.(reason);
  }

  /** Called by the handler once undici hands it a way to abort. */
  bind(abort: (err: Error) => void): void {
    this.#abort = abort;
    if (this.#reason !== null) abort(this.#reason);
  }
}
