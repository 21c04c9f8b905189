/**
 * Child processes the benchmark starts: spawned without a shell (so the pid is the node
 * process whose RSS we read), drained continuously (a child logging per request would block
 * on a full pipe and skew the figures), and tracked so every exit path can kill them.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** The port parsed from the readiness line. */
  readonly port: number;
  /** The last few KiB of stderr, for error messages. */
  stderrTail(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly name: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Matched against each output line; capture group 1 is the port. */
  readonly ready: RegExp;
  readonly timeoutMs: number;
}

const TAIL_BYTES = 8192;
const STOP_GRACE_MS = 3000;
const live = new Set<ChildProcess>();

/** Appends to a bounded tail so a chatty child cannot grow our memory. */
function tailer(): { push(s: string): void; get(): string } {
  let buf = '';
  return {
    push(s: string): void {
      buf += s;
      if (buf.length > TAIL_BYTES * 2) buf = buf.slice(-TAIL_BYTES);
    },
    get: () => buf.slice(-TAIL_BYTES),
  };
}

function exited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

async function stopProcess(p: ChildProcess): Promise<void> {
  if (exited(p)) {
    live.delete(p);
    return;
  }
  const gone = once(p, 'exit');
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), STOP_GRACE_MS);
  await gone;
  clearTimeout(timer);
  live.delete(p);
}

/** Spawns `node <args>` and resolves once a line matches `ready`, or rejects with its stderr. */
export function startChild(o: StartOptions): Promise<Child> {
  const proc = spawn(process.execPath, [...o.args], { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  const stderr = tailer();
  const stdout = tailer();
  return new Promise<Child>((resolve, reject) => {
    let settled = false;
    const pending = { stdout: '', stderr: '' };
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stopProcess(proc);
      const err = stderr.get().trim();
      const out = stdout.get().trim();
      reject(new Error(`${o.name}: ${why}\n  command: node ${o.args.join(' ')}\n  stderr: ${err === '' ? '(empty)' : err}\n  stdout: ${out === '' ? '(empty)' : out}`));
    };
    const onLine = (line: string): void => {
      if (settled) return;
      const m = o.ready.exec(line);
      if (m === null) return;
      const port = Number(m[1]);
      if (!Number.isInteger(port) || port <= 0) return fail(`readiness line has no usable port: ${line}`);
      settled = true;
      clearTimeout(timer);
      resolve({ name: o.name, pid: proc.pid!, port, stderrTail: () => stderr.get(), stop: () => stopProcess(proc) });
    };
    // Both streams are scanned: a logger may well put the banner on stderr.
    const feed = (which: 'stdout' | 'stderr', t: ReturnType<typeof tailer>) => (chunk: Buffer): void => {
      const s = chunk.toString('utf8');
      t.push(s);
      if (settled) return;
      const lines = (pending[which] + s).split('\n');
      pending[which] = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    };
    proc.stdout!.on('data', feed('stdout', stdout));
    proc.stderr!.on('data', feed('stderr', stderr));
    proc.once('error', (e) => fail(`could not start: ${e.message}`));
    proc.once('exit', (code, signal) => fail(`exited before it was ready (code ${code}, signal ${signal})`));
    const timer = setTimeout(() => fail(`not ready after ${o.timeoutMs / 1000} s`), o.timeoutMs);
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map(stopProcess));
}

/** Last resort from a synchronous 'exit' handler: no waiting possible, so SIGKILL. */
export function killAllNow(): void {
  for (const p of live) if (!exited(p)) p.kill('SIGKILL');
}
