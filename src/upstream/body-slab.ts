/**
 * Upstream request bodies in memory the main thread shares with the workers, so a body is
 * written once on the main thread and read in place by the worker that sends it.
 *
 * Why: a body in an ArrayBuffer of its own costs V8 an external allocation on the main thread
 * and another when the worker receives the transfer. With 128 KiB prompts those allocations
 * were most of the collector's work ("external memory pressure" scavenges and mark-compacts,
 * on both threads and on V8's helper threads). One SharedArrayBuffer, carved into blocks that
 * are reused, allocates nothing per request.
 *
 * Blocks come in power-of-two sizes from 256 B to 1 MiB, carved from the slab as first needed
 * and kept on a free list per size once released; they are never split or joined. A body that
 * finds no block (larger than 1 MiB, or the slab is used up) gets an ArrayBuffer of its own,
 * transferred as before: the slab is an economy, never a limit.
 *
 * One writer: only the main thread allocates and frees. A worker reads a block between the
 * task's message and its last answer (a call's result, a stream's `done`); the main thread frees
 * it when that answer arrives, never earlier, so a block is never rewritten under a worker that
 * may still be sending it.
 *
 * One case needs more: a plain-HTTP upstream may answer before it has read the whole body (a
 * gateway's 401 or 429, a redirect) on a connection it keeps open. undici counts a body as
 * sent once it is handed to the socket, and the socket writes what the kernel did not take
 * later, from the block itself. No bound on how much later can be given, so such a block is
 * `retire`d: never used again (the worker says which: `hold` on the task's last answer). The
 * slab shrinks by it; once it has no block for a body, that body gets memory of its own. A
 * success means the body was read; TLS copies what it is given at once; an aborted or closed
 * connection writes nothing more.
 */
import type { SlabSpan } from './wire.js';

const MIN_SHIFT = 8;
const MAX_SHIFT = 20;

/** The size class of `n` bytes: the shift of the smallest block that holds them, or -1 when none does. */
function shiftFor(n: number): number {
  if (n <= 1 << MIN_SHIFT) return MIN_SHIFT;
  const s = 32 - Math.clz32(n - 1);
  return s > MAX_SHIFT ? -1 : s;
}

export class BodySlab {
  readonly memory: SharedArrayBuffer;
  readonly #bytes: Uint8Array;
  /** Free block offsets by size class (index: shift - MIN_SHIFT). */
  readonly #free: number[][] = [];
  /** Where the next never-used block starts. */
  #top = 0;
  /** Bytes of blocks retired for good. */
  #retired = 0;

  constructor(bytes: number) {
    this.memory = new SharedArrayBuffer(bytes);
    this.#bytes = new Uint8Array(this.memory);
    for (let s = MIN_SHIFT; s <= MAX_SHIFT; s++) this.#free.push([]);
  }

  /** A block of at least `n` bytes, as a view of exactly `n`; null when no block can be had. */
  alloc(n: number): Uint8Array | null {
    const shift = shiftFor(n);
    if (shift < 0) return null;
    const free = this.#free[shift - MIN_SHIFT]!;
    let at = free.pop();
    if (at === undefined) {
      const size = 1 << shift;
      if (this.#top + size > this.memory.byteLength) return null;
      at = this.#top;
      this.#top += size;
    }
    return this.#bytes.subarray(at, at + n);
  }

  /** The span of a view this slab handed out; null for any other bytes. */
  spanOf(bytes: Uint8Array): SlabSpan | null {
    return bytes.buffer === this.memory ? { at: bytes.byteOffset, length: bytes.byteLength } : null;
  }

  /** Gives a block back. Each span is freed once, by whoever took over its task's end. */
  free(span: SlabSpan): void {
    const shift = shiftFor(span.length);
    this.#free[shift - MIN_SHIFT]!.push(span.at);
  }

  /** Keeps a block out of use for good: a socket may still write from it. */
  retire(span: SlabSpan): void {
    this.#retired += 1 << shiftFor(span.length);
  }

  /** Bytes of blocks retired for good. */
  get retired(): number {
    return this.#retired;
  }

  /** Bytes carved from the slab so far (in use or on a free list). */
  get carved(): number {
    return this.#top;
  }
}
