/**
 * Item 8 of the hardening issue: a start with Redis up is not a loss. The first sync round
 * used to run before the connection was ready, so every instance logged "redis: unreachable"
 * and "reconnected" within its first milliseconds. A real redis-server (started per test on a
 * free port) and the proxy's own log lines decide.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfigText } from '../src/config/load.js';
import { startProxy, type RunningProxy } from '../src/index.js';
import { createLogger } from '../src/log.js';
import { eventually } from './support/proxy.js';
import { startOwnedTestRedis, type TestRedis } from './support/redis-server.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let seq = 0;

/** A proxy on a Redis URL, with every log line it writes. */
async function proxyOn(redisUrl: string): Promise<{ proxy: RunningProxy; lines: string[] }> {
  const yaml = `model_list:
  - model_name: g
    litellm_params:
      model: openai/m
      mock_response: hi
router_settings:
  redis_url: ${redisUrl}
  redis_namespace: start-test-${process.pid}-${++seq}
  redis_sync_interval_ms: 10
`;
  const loaded = loadConfigText(yaml, 'test.yaml', {});
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join('; '));
  const lines: string[] = [];
  const proxy = await startProxy({ config: loaded.config, port: 0, workers: 0, log: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
  cleanups.push(() => proxy.close());
  return { proxy, lines };
}

const unreachable = /redis: unreachable/;
const reconnected = /redis: reconnected/;

/**
 * A TCP relay to Redis that holds each new connection for `delayMs` before linking it: a Redis
 * across a slow network, so the connection is surely not ready when the first sync round runs.
 */
async function slowRelay(port: number, delayMs: number): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    setTimeout(() => {
      if (client.destroyed) return;
      const upstream = connect(port, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `redis://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('item 8: a start with Redis up logs neither "unreachable" nor "reconnected"', async () => {
  const redis: TestRedis = await startOwnedTestRedis();
  cleanups.push(() => redis.close());
  // 150 ms away: about fifteen sync rounds (10 ms each) run before the connection is ready.
  const { proxy, lines } = await proxyOn(await slowRelay(redis.port, 150));
  await eventually(() => proxy.sync?.status === 'connected', 5000, 'redis sync up');
  // Many more rounds after the first good one: still nothing.
  await sleep(200);
  assert.equal(proxy.sync?.status, 'connected');
  assert.deepEqual(lines.filter((l) => unreachable.test(l) || reconnected.test(l)), []);
});

test('item 8: a Redis that is truly unreachable at start is logged as unreachable exactly once', async () => {
  // A port nothing listens on: every connect is refused.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const { proxy, lines } = await proxyOn(`redis://127.0.0.1:${port}`);
  await eventually(() => lines.some((l) => unreachable.test(l)), 5000, 'the unreachable line');
  await sleep(300);
  const lost = lines.filter((l) => unreachable.test(l));
  assert.equal(lost.length, 1, lines.join('\n'));
  assert.match(lost[0]!, /ECONNREFUSED/);
  assert.equal(lines.filter((l) => reconnected.test(l)).length, 0);
  assert.equal(proxy.sync?.status, 'degraded');
});

test('item 8: Redis lost after a good start is logged once, and its return once', async () => {
  const redis: TestRedis = await startOwnedTestRedis();
  cleanups.push(() => redis.close());
  const { proxy, lines } = await proxyOn(redis.url);
  await eventually(() => proxy.sync?.status === 'connected', 5000, 'redis sync up');
  await redis.stop();
  await eventually(() => lines.some((l) => unreachable.test(l)), 5000, 'the loss logged');
  await redis.start();
  await eventually(() => lines.some((l) => reconnected.test(l)), 8000, 'the return logged');
  assert.equal(lines.filter((l) => unreachable.test(l)).length, 1);
  assert.equal(lines.filter((l) => reconnected.test(l)).length, 1);
});
