/**
 * Resident memory from /proc, the kernel's view: the proxy's cost includes native memory (uWS
 * socket buffers, undici pools, worker threads' heaps) that V8's heap statistics would miss.
 * Linux only; elsewhere null.
 */
import { readFileSync } from 'node:fs';

/** VmRSS of a process in KiB, or null. */
export function readRssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** Summed VmRSS of several processes (nginx master + worker), or null when any is unreadable. */
export function sumRssKiB(pids: readonly number[]): number | null {
  let sum = 0;
  for (const p of pids) {
    const r = readRssKiB(p);
    if (r === null) return null;
    sum += r;
  }
  return sum;
}
