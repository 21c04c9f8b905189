import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startOwnedTestRedis, startTestRedis } from './support/redis-server.js';

function refused(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

async function eventuallyRefused(port: number, timeoutMs = 1_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await refused(port))) {
    if (Date.now() > deadline) assert.fail(`127.0.0.1:${port} still accepts connections`);
    await sleep(20);
  }
}

function client(url: string): Redis {
  const redis = new Redis(url, {
    // Fail fast while the server is down instead of queueing; reconnect quickly once it is back.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 20,
  });
  redis.on('error', () => {
    // Expected while the server is stopped.
  });
  return redis;
}

async function ready(redis: Redis, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (redis.status !== 'ready') {
    if (Date.now() > deadline) assert.fail(`ioredis not ready after ${timeoutMs} ms (status ${redis.status})`);
    await sleep(10);
  }
}

test('owned server: PING, stop makes commands fail, start on the same port, flush, close', async () => {
  const server = await startOwnedTestRedis();
  const redis = client(server.url);
  try {
    assert.equal(server.owned, true);
    assert.equal(server.url, `redis://127.0.0.1:${server.port}`);
    assert.notEqual(server.port, 6379);

    await ready(redis);
    assert.equal(await redis.ping(), 'PONG');

    await server.stop();
    assert.equal(await refused(server.port), true);
    await assert.rejects(redis.ping());

    await server.start();
    await ready(redis); // the same client reconnects to the same port
    assert.equal(await redis.ping(), 'PONG');

    await redis.set('k', 'v');
    assert.equal(await redis.get('k'), 'v');
    await server.flush();
    assert.equal(await redis.get('k'), null);
    assert.equal(await redis.dbsize(), 0);
  } finally {
    redis.disconnect();
    await server.close();
  }
  assert.equal(await refused(server.port), true);
  await server.close(); // idempotent
  await assert.rejects(server.start(), /after close/);
});

test('REDIS_URL: used as given, owned false, stop/start refuse, flush works, close leaves it running', async () => {
  const backing = await startOwnedTestRedis();
  const saved = process.env['REDIS_URL'];
  process.env['REDIS_URL'] = backing.url;
  const redis = client(backing.url);
  try {
    const external = await startTestRedis();
    assert.equal(external.owned, false);
    assert.equal(external.url, backing.url);
    assert.equal(external.port, backing.port);
    await assert.rejects(external.stop(), /startOwnedTestRedis/);
    await assert.rejects(external.start(), /can control/);

    await ready(redis);
    await redis.set('k', 'v');
    await external.flush();
    assert.equal(await redis.get('k'), null);

    await external.close();
    assert.equal(await redis.ping(), 'PONG');
  } finally {
    if (saved === undefined) delete process.env['REDIS_URL'];
    else process.env['REDIS_URL'] = saved;
    redis.disconnect();
    await backing.close();
  }
});

test('a clear error when redis-server is not on PATH', async () => {
  const emptyDir = await mkdtemp(join(tmpdir(), 'switchyard-nopath-'));
  const saved = process.env['PATH'];
  process.env['PATH'] = emptyDir;
  try {
    await assert.rejects(startOwnedTestRedis(), {
      message: 'redis-server not found: install it (apt-get install redis-server) or set REDIS_URL',
    });
  } finally {
    process.env['PATH'] = saved;
    await rm(emptyDir, { recursive: true, force: true });
  }
});

/** Runs a node process that starts a server and then ends badly; resolves with the server's port. */
function runLeaky(mode: 'forget' | 'throw' | 'sigterm'): Promise<number> {
  const helper = new URL('./support/redis-server.js', import.meta.url).href;
  const script = `
    const { startOwnedTestRedis } = await import(${JSON.stringify(helper)});
    const server = await startOwnedTestRedis();
    process.stdout.write(server.port + '\\n');
    const mode = ${JSON.stringify(mode)};
    if (mode === 'throw') throw new Error('test failed');
    if (mode === 'sigterm') setInterval(() => {}, 1000);
  `;
  return new Promise<number>((resolve, reject) => {
    const env = { ...process.env };
    delete env['REDIS_URL'];
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env,
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (mode === 'sigterm' && out.includes('\n')) child.kill('SIGTERM');
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('error', reject);
    child.once('close', () => {
      clearTimeout(killer);
      const port = Number.parseInt(out, 10);
      if (Number.isInteger(port)) resolve(port);
      else reject(new Error(`child printed no port: ${JSON.stringify(out)}`));
    });
  });
}

test('a process that never calls close() does not leak its server', async () => {
  const ports = await Promise.all([runLeaky('forget'), runLeaky('throw'), runLeaky('sigterm')]);
  await Promise.all(ports.map((port) => eventuallyRefused(port)));
});
