/**
 * Child processes the benchmark starts: spawned without a shell (so the pid is the process
 * whose RSS and CPU we read), drained continuously (a child logging per request would block
 * on a full pipe and skew the figures), and tracked so every exit path can kill them.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

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
  /** The executable; node itself when omitted. */
  readonly command?: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /**
   * Readiness: a regex matched against each output line (capture group 1 is the port, or
   * `port` when it has no group), or, for a child that prints nothing, `port` accepting a
   * TCP connection.
   */
  readonly ready: RegExp | 'connect';
  /** The port the child was told to use, when the caller picked it. */
  readonly port?: number;
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
  const command = o.command ?? process.execPath;
  const proc = spawn(command, [...o.args], { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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
      reject(new Error(`${o.name}: ${why}\n  command: ${o.command ?? 'node'} ${o.args.join(' ')}\n  stderr: ${err === '' ? '(empty)' : err}\n  stdout: ${out === '' ? '(empty)' : out}`));
    };
    const succeed = (port: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ name: o.name, pid: proc.pid!, port, stderrTail: () => stderr.get(), stop: () => stopProcess(proc) });
    };
    const ready = o.ready;
    const onLine = (line: string): void => {
      if (settled || ready === 'connect') return;
      const m = ready.exec(line);
      if (m === null) return;
      const port = Number(m[1] ?? o.port);
      if (!Number.isInteger(port) || port <= 0) return fail(`readiness line has no usable port: ${line}`);
      succeed(port);
    };
    if (ready === 'connect') {
      if (o.port === undefined) throw new Error(`${o.name}: ready 'connect' needs a port`);
      const port = o.port;
      void (async () => {
        while (!settled) {
          if (await accepts(port)) return succeed(port);
          await sleep(25);
        }
      })();
    }
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

/** Processes we did not spawn ourselves but must not outlive us (nginx's workers survive a SIGKILLed master). */
const grandchildren = new Set<() => readonly number[]>();

export function alsoKillOnExit(pids: () => readonly number[]): () => void {
  grandchildren.add(pids);
  return () => grandchildren.delete(pids);
}

/** Last resort from a synchronous 'exit' handler: no waiting possible, so SIGKILL. */
export function killAllNow(): void {
  const extra = [...grandchildren].flatMap((f) => f());
  for (const p of live) if (!exited(p)) p.kill('SIGKILL');
  for (const pid of extra) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** True when 127.0.0.1:port accepts a TCP connection. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A port free right now on 127.0.0.1, for children that cannot bind port 0 and report it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to completion (a load generator), tracked like the servers so an interrupted
 * bench kills it too; SIGKILLed after `timeoutMs`. Output is kept whole: these print little.
 */
export function runChild(o: { readonly command: string; readonly args: readonly string[]; readonly cwd: string; readonly timeoutMs: number }): Promise<Finished> {
  const proc = spawn(o.command, [...o.args], { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  proc.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-TAIL_BYTES)));
  const timer = setTimeout(() => proc.kill('SIGKILL'), o.timeoutMs);
  return new Promise((resolve, reject) => {
    proc.once('error', (e) => {
      clearTimeout(timer);
      live.delete(proc);
      reject(new Error(`${o.command}: could not start: ${e.message}`));
    });
    // 'close', not 'exit': the output pipes are drained by then.
    proc.once('close', (code) => {
      clearTimeout(timer);
      live.delete(proc);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The full path of `name` on PATH (plus the sbin directories a non-root PATH often lacks), or null. */
export function onPath(name: string): string | null {
  const dirs = (process.env['PATH'] ?? '').split(':').filter(Boolean);
  for (const extra of ['/usr/sbin', '/usr/local/sbin', '/sbin']) if (!dirs.includes(extra)) dirs.push(extra);
  for (const d of dirs) {
    const p = `${d}/${name}`;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}
