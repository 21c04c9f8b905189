/**
 * A hermetic Redis for tests.
 *
 * `startTestRedis()` uses `REDIS_URL` when it is set (CI with a Redis service container) and
 * otherwise spawns a private `redis-server` on a free 127.0.0.1 port with persistence off and a
 * throwaway `--dir`. `startOwnedTestRedis()` always spawns one: tests that kill and restart Redis
 * (`stop()` / `start()`) must use it, because they cannot control a server named by `REDIS_URL`.
 *
 * Nothing here leaks a server: each spawned process is SIGKILLed on `close()`, on process
 * `exit`, and on a SIGINT/SIGTERM/SIGHUP that would otherwise end the process. The child handle
 * is unref'd, so a test that forgets `close()` still lets node exit (and the exit hook kills it).
 *
 * Readiness and `flush()` speak raw RESP over node:net, so this file needs no Redis client.
 * A PING answer only counts when `INFO server` reports our child's pid: if another process
 * grabbed the port, we must not mistake its server for ours.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TestRedis {
  /** `redis://127.0.0.1:PORT` for an owned server, else `REDIS_URL` verbatim. */
  readonly url: string;
  readonly port: number;
  /** True when this helper started the server (so stop/start work); false when REDIS_URL was given. */
  readonly owned: boolean;
  /** SIGKILL the server, then wait until its port refuses connections. */
  stop(): Promise<void>;
  /** Start it again on the same port and wait until it answers PING. Data does not survive. */
  start(): Promise<void>;
  /** Stop for good and remove its temp dir. Idempotent. For `REDIS_URL`, does nothing. */
  close(): Promise<void>;
  /** FLUSHALL through a short-lived connection. */
  flush(): Promise<void>;
}

const REDIS_BIN = 'redis-server';
const NOT_FOUND = 'redis-server not found: install it (apt-get install redis-server) or set REDIS_URL';
/** How long one spawn may take to answer PING. */
const READY_TIMEOUT_MS = 5_000;
/** How long start() keeps retrying while its port is still taken. */
const REBIND_TIMEOUT_MS = 3_000;
/** How long stop() waits for the port to refuse connections after the process exited. */
const REFUSE_TIMEOUT_MS = 2_000;
const PROBE_TIMEOUT_MS = 500;
const POLL_MS = 20;
/** Fresh ports tried by the first start when another process races us to the free port. */
const FRESH_PORT_ATTEMPTS = 5;

// ---------------------------------------------------------------------------------------------
// Process cleanup

const liveChildren = new Set<ChildProcess>();
/** Temp dirs of servers not yet closed; the exit hook removes them too. */
const liveDirs = new Set<string>();
let hooksInstalled = false;

function killAllChildren(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  liveChildren.clear();
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort: it is under the OS temp dir anyway.
    }
  }
  liveDirs.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllChildren);
  // A signal only skips 'exit' when nobody else handles it (node's default is to die at once),
  // so act only when we are the sole listener, and then die by the same signal as we would have.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) return;
      killAllChildren();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

// ---------------------------------------------------------------------------------------------
// Minimal RESP client

type RespReply =
  | { kind: 'simple'; value: string }
  | { kind: 'error'; message: string }
  | { kind: 'integer'; value: number }
  | { kind: 'bulk'; value: string | null }
  | { kind: 'array'; items: RespReply[] | null };

interface Target {
  host: string;
  port: number;
  tls: boolean;
}

function encodeCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

/** Parses one reply at `pos`; undefined when `buf` does not hold all of it yet. */
function parseReply(buf: Buffer, pos: number): { reply: RespReply; next: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', pos);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[pos] ?? 0);
  const line = buf.toString('utf8', pos + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+':
      return { reply: { kind: 'simple', value: line }, next: afterLine };
    case '-':
      return { reply: { kind: 'error', message: line }, next: afterLine };
    case ':':
      return { reply: { kind: 'integer', value: Number(line) }, next: afterLine };
    case '$': {
      const len = Number(line);
      if (len < 0) return { reply: { kind: 'bulk', value: null }, next: afterLine };
      if (buf.length < afterLine + len + 2) return undefined;
      return { reply: { kind: 'bulk', value: buf.toString('utf8', afterLine, afterLine + len) }, next: afterLine + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: { kind: 'array', items: null }, next: afterLine };
      const items: RespReply[] = [];
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next);
        if (item === undefined) return undefined;
        items.push(item.reply);
        next = item.next;
      }
      return { reply: { kind: 'array', items }, next };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

/** Sends `commands` pipelined on a fresh connection and resolves with one reply per command. */
function runCommands(target: Target, commands: readonly (readonly string[])[], timeoutMs: number): Promise<RespReply[]> {
  return new Promise<RespReply[]>((resolve, reject) => {
    const socket: Socket = target.tls
      ? tlsConnect({ host: target.host, port: target.port, servername: target.host })
      : createConnection({ host: target.host, port: target.port });
    const replies: RespReply[] = [];
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err === undefined) resolve(replies);
      else reject(err);
    };
    const timer = setTimeout(() => {
      finish(new Error(`redis at ${target.host}:${target.port} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      socket.write(commands.map(encodeCommand).join(''));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        let pos = 0;
        while (replies.length < commands.length) {
          const parsed = parseReply(buf, pos);
          if (parsed === undefined) break;
          replies.push(parsed.reply);
          pos = parsed.next;
        }
        buf = buf.subarray(pos);
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (replies.length === commands.length) finish(undefined);
    });
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error(`redis at ${target.host}:${target.port} closed the connection`)));
  });
}

function describe(reply: RespReply | undefined): string {
  if (reply === undefined) return 'no reply';
  switch (reply.kind) {
    case 'simple':
      return `+${reply.value}`;
    case 'error':
      return `-${reply.message}`;
    case 'integer':
      return `:${reply.value}`;
    case 'bulk':
      return reply.value === null ? '(nil)' : JSON.stringify(reply.value.slice(0, 200));
    case 'array':
      return reply.items === null ? '(nil array)' : `array of ${reply.items.length}`;
  }
}

async function flushTarget(target: Target, auth: readonly string[] | undefined): Promise<void> {
  const commands = auth === undefined ? [['FLUSHALL']] : [auth, ['FLUSHALL']];
  const replies = await runCommands(target, commands, 2_000);
  for (const reply of replies) {
    if (reply.kind === 'error') throw new Error(`FLUSHALL on ${target.host}:${target.port} failed: ${reply.message}`);
  }
  const last = replies[replies.length - 1];
  if (last?.kind !== 'simple' || last.value !== 'OK') {
    throw new Error(`FLUSHALL on ${target.host}:${target.port} answered ${describe(last)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Ports

function findFreePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves true when a TCP connect to 127.0.0.1:port is refused, false when it connects. */
function connectRefused(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, PROBE_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      if (err.code === 'ECONNREFUSED') resolve(true);
      else reject(err);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Spawning

/** Why one spawn attempt did not produce a ready server. */
class SpawnFailure extends Error {
  constructor(
    message: string,
    /** The port was held by someone else: worth retrying (same or another port). */
    readonly portBusy: boolean,
  ) {
    super(message);
  }
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 2_000 ? `…${trimmed.slice(-2_000)}` : trimmed;
}

/**
 * Spawns redis-server on `port` and waits until it answers PING as itself. Throws a
 * SpawnFailure (portBusy when the port was taken) or the not-found Error.
 */
async function spawnRedis(port: number, dir: string): Promise<Running> {
  installExitHooks();
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--protected-mode', 'no',
    '--loglevel', 'warning',
  ];
  const child = spawn(REDIS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
      liveChildren.delete(child);
      resolve();
    });
  });
  // 'close' follows 'exit' once the pipes are drained: the failure message wants all the output.
  const drained = new Promise<void>((resolve) => child.once('close', () => resolve()));

  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new Error(NOT_FOUND) : new Error(`${NOT_FOUND} (spawn failed: ${err.message})`));
    });
  });
  liveChildren.add(child);
  const pid = child.pid;

  const failed = (why: string): SpawnFailure => {
    const busy = /address already in use/i.test(output) || why.includes('another server');
    const hint = busy
      ? `Port ${port} is taken by another process.`
      : 'Install a working redis-server (apt-get install redis-server) or set REDIS_URL.';
    return new SpawnFailure(
      `redis-server failed to start on 127.0.0.1:${port} (${why})${output.trim() === '' ? '' : `:\n${tail(output)}`}\n${hint}`,
      busy,
    );
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  const target: Target = { host: '127.0.0.1', port, tls: false };
  for (;;) {
    if (exitInfo !== undefined) {
      await Promise.race([drained, sleep(200)]);
      throw failed(exitInfo);
    }
    try {
      const [pong, info] = await runCommands(target, [['PING'], ['INFO', 'server']], PROBE_TIMEOUT_MS);
      if (pong?.kind === 'simple' && pong.value === 'PONG') {
        const match = info?.kind === 'bulk' && info.value !== null ? /^process_id:(\d+)/m.exec(info.value) : null;
        if (match !== null && Number(match[1]) === pid) break;
        // Someone else answers on this port. Our child will exit on its failed bind (or we kill it).
        child.kill('SIGKILL');
        await exited;
        throw failed('another server answers on this port');
      }
    } catch (err) {
      if (err instanceof SpawnFailure) throw err;
      // Not listening yet; poll again.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw failed(`no PING answer within ${READY_TIMEOUT_MS} ms`);
    }
    await sleep(POLL_MS);
  }

  // Stop collecting, and don't let the child or its pipes keep node alive: a test that forgets
  // close() must still exit, and the exit hook then kills the server.
  child.stdout?.removeListener('data', collect);
  child.stderr?.removeListener('data', collect);
  child.stdout?.resume();
  child.stderr?.resume();
  unrefChild(child);
  return { child, exited };
}

function unrefChild(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    const maybe = stream as { unref?: () => void } | null;
    maybe?.unref?.();
  }
}

class OwnedRedis implements TestRedis {
  readonly owned = true;
  readonly url: string;
  private running: Running | undefined;
  private closed = false;

  constructor(
    readonly port: number,
    private readonly dir: string,
    running: Running,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
    this.running = running;
  }

  async stop(): Promise<void> {
    const running = this.running;
    if (running === undefined) return;
    this.running = undefined;
    // Hold the loop open while we wait for the exit notification.
    running.child.ref();
    running.child.kill('SIGKILL');
    await running.exited;
    const deadline = Date.now() + REFUSE_TIMEOUT_MS;
    while (!(await connectRefused(this.port))) {
      if (Date.now() > deadline) {
        throw new Error(`redis on 127.0.0.1:${this.port} was killed but the port still accepts connections`);
      }
      await sleep(POLL_MS);
    }
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error('start() after close()');
    if (this.running !== undefined) return;
    const deadline = Date.now() + REBIND_TIMEOUT_MS;
    for (;;) {
      try {
        this.running = await spawnRedis(this.port, this.dir);
        return;
      } catch (err) {
        if (!(err instanceof SpawnFailure) || !err.portBusy || Date.now() > deadline) throw err;
        await sleep(100);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
    liveDirs.delete(this.dir);
  }

  flush(): Promise<void> {
    if (this.running === undefined) return Promise.reject(new Error('flush() while the test redis is stopped'));
    return flushTarget({ host: '127.0.0.1', port: this.port, tls: false }, undefined);
  }
}

class ExternalRedis implements TestRedis {
  readonly owned = false;
  readonly port: number;
  private readonly target: Target;
  private readonly auth: readonly string[] | undefined;

  constructor(readonly url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`REDIS_URL is not a valid URL: ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
      throw new Error(`REDIS_URL must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
    }
    this.port = parsed.port === '' ? 6379 : Number(parsed.port);
    this.target = {
      host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
      port: this.port,
      tls: parsed.protocol === 'rediss:',
    };
    const user = decodeURIComponent(parsed.username);
    const pass = decodeURIComponent(parsed.password);
    this.auth = pass === '' ? undefined : user === '' ? ['AUTH', pass] : ['AUTH', user, pass];
  }

  stop(): Promise<void> {
    return Promise.reject(this.uncontrollable('stop'));
  }

  start(): Promise<void> {
    return Promise.reject(this.uncontrollable('start'));
  }

  async close(): Promise<void> {
    // Not ours to stop.
  }

  flush(): Promise<void> {
    return flushTarget(this.target, this.auth);
  }

  private uncontrollable(method: string): Error {
    return new Error(
      `${method}() needs a redis-server the test can control, but this one comes from REDIS_URL (${this.url}); ` +
        `tests that stop or restart Redis must use startOwnedTestRedis()`,
    );
  }
}

/** Always spawns a private redis-server, even when REDIS_URL is set. */
export async function startOwnedTestRedis(): Promise<TestRedis> {
  installExitHooks();
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-redis-'));
  liveDirs.add(dir);
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await findFreePort();
      try {
        return new OwnedRedis(port, dir, await spawnRedis(port, dir));
      } catch (err) {
        // Someone took the free port between our probe and redis' bind: try a fresh one.
        if (!(err instanceof SpawnFailure) || !err.portBusy || attempt >= FRESH_PORT_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    throw err;
  }
}

/** The Redis named by REDIS_URL when set (owned: false), otherwise a private one. */
export async function startTestRedis(): Promise<TestRedis> {
  const url = process.env['REDIS_URL'];
  if (url !== undefined && url !== '') return new ExternalRedis(url);
  return startOwnedTestRedis();
}
