/**
 * CPU time from /proc, per thread for a Node process and per process for the rest.
 *
 * A thread's CPU is utime + stime from /proc/<pid>/task/<tid>/stat, in clock ticks (the
 * kernel's USER_HZ, 100 on Linux), sampled before and after each measured run.
 *
 * Telling a Node process's threads apart: Node 20 names every thread `node` in
 * /proc/<pid>/task/<tid>/comm (newer Nodes name libuv's pool `libuv-worker` and worker threads
 * after the Worker), so names alone cannot find the worker threads. The bench therefore starts
 * the proxy with `--require <tag>.cjs`, a preload that Node runs in the main thread and, via
 * the inherited execArgv, in every worker thread; it reads /proc/thread-self and writes one file
 * per JavaScript thread: `<pid>-<tid>` containing `main` or `worker`. Every other thread (V8's
 * platform threads for GC and compilation, libuv's thread pool, the inspector's) is a helper.
 * Linux only: elsewhere the figures are null.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** USER_HZ: fixed at 100 for the user-visible tick counts on every Linux architecture. */
const TICK_US = 10_000;

export type ThreadKind = 'main' | 'worker' | 'helper';

export interface ThreadTicks {
  readonly tid: number;
  readonly comm: string;
  readonly ticks: number;
}

/** utime + stime of a /proc stat line; fields counted after the `(comm)` field, which may hold spaces. */
function statTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(rest[11]) + Number(rest[12]);
}

function readOr<T>(path: string, parse: (s: string) => T, fallback: T): T {
  try {
    return parse(readFileSync(path, 'utf8'));
  } catch {
    return fallback;
  }
}

/** CPU µs a whole process has used (its exited threads included), or null. */
export function processCpuUs(pid: number): number | null {
  return readOr<number | null>(`/proc/${pid}/stat`, (s) => statTicks(s) * TICK_US, null);
}

/** Every live thread of `pid` with its CPU ticks so far; empty where /proc is missing. */
export function sampleThreads(pid: number): ThreadTicks[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: ThreadTicks[] = [];
  for (const t of tids) {
    const ticks = readOr<number | null>(`/proc/${pid}/task/${t}/stat`, statTicks, null);
    if (ticks === null) continue; // exited between readdir and read
    out.push({ tid: Number(t), comm: readOr(`/proc/${pid}/task/${t}/comm`, (s) => s.trim(), '?'), ticks });
  }
  return out;
}

/** Direct children of a process (nginx's workers), from /proc/<pid>/task/<pid>/children or a scan. */
export function childPids(pid: number): number[] {
  const listed = readOr<number[] | null>(`/proc/${pid}/task/${pid}/children`, (s) => s.trim().split(/\s+/).filter(Boolean).map(Number), null);
  if (listed !== null) return listed;
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const ppid = readOr<number | null>(`/proc/${d}/stat`, (s) => Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]), null);
    if (ppid === pid) out.push(Number(d));
  }
  return out;
}

/** Where the tag preload writes; one directory per bench run. */
export class ThreadTags {
  readonly preload: string;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.preload = join(dir, 'tag-threads.cjs');
    // CommonJS on purpose: `--require` preloads run in worker threads too, `--import` ones do not (Node 20).
    writeFileSync(
      this.preload,
      [
        "'use strict';",
        'try {',
        "  const fs = require('node:fs');",
        "  const { isMainThread } = require('node:worker_threads');",
        "  const tid = fs.readlinkSync('/proc/thread-self').split('/').pop();",
        `  fs.writeFileSync(${JSON.stringify(dir)} + '/' + process.pid + '-' + tid, isMainThread ? 'main' : 'worker');`,
        '} catch {}',
        '',
      ].join('\n'),
    );
  }

  kind(pid: number, t: ThreadTicks): ThreadKind {
    const file = join(this.dir, `${pid}-${t.tid}`);
    if (existsSync(file)) return readFileSync(file, 'utf8') === 'main' ? 'main' : 'worker';
    // No tag: a thread that runs no JavaScript. (Without the preload, the main thread is tid == pid.)
    return t.tid === pid ? 'main' : 'helper';
  }
}

export interface CpuSplit {
  /** The whole process (threads that exited during the run included). */
  readonly totalUs: number;
  readonly mainUs: number;
  readonly workersUs: number;
  readonly helpersUs: number;
  /** Worker threads alive at the end. */
  readonly workerThreads: number;
  /** CPU µs per live worker thread, busiest first: shows whether the pool spreads the load. */
  readonly perWorkerUs: readonly number[];
}

export interface NodeCpuSnapshot {
  readonly totalUs: number | null;
  readonly threads: readonly ThreadTicks[];
}

export function snapshotNode(pid: number): NodeCpuSnapshot {
  return { totalUs: processCpuUs(pid), threads: sampleThreads(pid) };
}

/** What the process spent between two snapshots, split main / worker threads / helpers. */
export function splitCpu(pid: number, tags: ThreadTags, before: NodeCpuSnapshot, after: NodeCpuSnapshot): CpuSplit | null {
  if (before.totalUs === null || after.totalUs === null) return null;
  const was = new Map(before.threads.map((t) => [t.tid, t.ticks]));
  let main = 0;
  let helpers = 0;
  const workers: number[] = [];
  for (const t of after.threads) {
    const us = (t.ticks - (was.get(t.tid) ?? 0)) * TICK_US;
    const kind = tags.kind(pid, t);
    if (kind === 'main') main += us;
    else if (kind === 'worker') workers.push(us);
    else helpers += us;
  }
  workers.sort((a, b) => b - a);
  return {
    totalUs: after.totalUs - before.totalUs,
    mainUs: main,
    workersUs: workers.reduce((a, b) => a + b, 0),
    helpersUs: helpers,
    workerThreads: workers.length,
    perWorkerUs: workers,
  };
}

/** Sum of several processes' CPU µs (nginx master + workers), or null when any is unreadable. */
export function processesCpuUs(pids: readonly number[]): number | null {
  let sum = 0;
  for (const p of pids) {
    const us = processCpuUs(p);
    if (us === null) return null;
    sum += us;
  }
  return sum;
}

/** CPU µs the whole machine has been busy (all cores, every process), from /proc/stat; or null. */
export function machineBusyUs(): number | null {
  return readOr<number | null>(
    '/proc/stat',
    (s) => {
      const f = s.slice(0, s.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal (guest time is already in user)
      const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
      return (total - (f[3] ?? 0) - (f[4] ?? 0)) * TICK_US;
    },
    null,
  );
}
