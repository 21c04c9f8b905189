/**
 * Live reload (POST /config/reload; SIGHUP calls the same): the new model list serves new
 * requests at once, requests and a stream in flight across the reload finish (none lost), an
 * unchanged deployment keeps its cooldown (injected clock) while its new limits apply, a bad
 * config keeps the old one serving with a 400 that lists the problems, and readiness shows
 * the config's version.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfigFile } from '../src/config/load.js';
import { startProxy, type RunningProxy } from '../src/index.js';
import { createLogger } from '../src/log.js';
import type { RouterOptions } from '../src/router/types.js';
import { startMockUpstreams, type MockUpstream } from './support/mock-upstream.js';
import { eventually, http, post } from './support/proxy.js';
import { startTestRedis } from './support/redis-server.js';
import { deployment, TEST_API_KEY } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];
const MASTER = 'sk-reload-master-7';
const auth = { authorization: `Bearer ${MASTER}` };
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function upstreams(n: number): Promise<MockUpstream[]> {
  return startMockUpstreams(n, cleanups);
}

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.yaml');
  writeFileSync(path, text);
  return path;
}

const general = `general_settings:\n  master_key: ${MASTER}\n`;

async function start(path: string, router?: RouterOptions): Promise<{ proxy: RunningProxy; lines: string[] }> {
  const loaded = loadConfigFile(path, {});
  assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
  const lines: string[] = [];
  const proxy = await startProxy({ config: loaded.config, configPath: path, env: {}, port: 0, workers: 1, router, log: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
  cleanups.push(() => proxy.close());
  return { proxy, lines };
}

function version(path: string): string {
  return createHash('sha256').update(readFileSync(path, 'utf8')).digest('hex').slice(0, 12);
}

test('reload under load: requests and a stream in flight finish on the old config, new requests see the new one', async () => {
  const [a, b] = await upstreams(2);
  a!.setBehavior((r) => ((r.body as { stream?: boolean }).stream ? { kind: 'stream', chunks: 6, chunkDelayMs: 60 } : { kind: 'ok', delayMs: 150 }));
  b!.setBehavior({ kind: 'ok' });
  const path = configFile(`model_list:${deployment('g', a!, { info: { id: 'dep-a' } })}\n${general}`);
  const { proxy, lines } = await start(path);
  const ready = await http(`${proxy.url}/health/readiness`);
  assert.equal((ready.json as { config_version: string }).config_version, version(path));
  const oldRouter = proxy.router;

  // In flight across the reload: a stream and twenty plain requests.
  const stream = post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, stream: true }, auth);
  const calls = Array.from({ length: 20 }, () => post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg }, auth));
  await a!.waitForRequests(21);
  assert.equal(oldRouter.inFlight(), 21);

  writeFileSync(path, `model_list:${deployment('g', a!, { info: { id: 'dep-a' }, params: { rpm: 1000 } })}${deployment('h', b!, { info: { id: 'dep-b' } })}\n${general}`);
  const r = await post(`${proxy.url}/config/reload`, {}, auth);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: 'reloaded', config_version: version(path), model_groups: 2, deployments: 2, kept: 1, added: 1, removed: 0 });
  assert.notEqual(proxy.router, oldRouter);
  // New requests see the new model list at once, while the old ones are still running.
  const h = await post(`${proxy.url}/v1/chat/completions`, { model: 'h', messages: msg }, auth);
  assert.equal(h.status, 200);
  assert.equal(h.headers.get('x-litellm-model-id'), 'dep-b');
  const g = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg }, auth);
  assert.equal(g.status, 200);
  assert.equal(g.headers.get('x-ratelimit-limit-requests'), '1000', 'the new rpm applies');

  const done = await Promise.all(calls);
  for (const c of done) assert.equal(c.status, 200, c.text);
  const s = await stream;
  assert.equal(s.status, 200);
  assert.match(s.text, /data: \[DONE\]/);
  assert.equal(oldRouter.inFlight(), 0, 'the old router\'s leases all came back');
  assert.equal(proxy.router.inFlight(), 0);
  assert.equal(((await http(`${proxy.url}/health/readiness`)).json as { config_version: string }).config_version, version(path));
  assert.ok(lines.some((l) => l.includes('config reloaded') && l.includes('1 kept their state')), lines.join('\n'));
});

test('a bad config keeps the old one serving: 400 with the problems, every problem logged, version unchanged', async () => {
  const [a] = await upstreams(1);
  const path = configFile(`model_list:${deployment('g', a!, { info: { id: 'dep-a' } })}\n${general}`);
  const { proxy, lines } = await start(path);
  const before = version(path);
  // Behind the master key.
  assert.equal((await post(`${proxy.url}/config/reload`, {})).status, 401);

  writeFileSync(path, `model_list:${deployment('g2', a!, { params: { rpm: -5 } })}\nrouter_settings:\n  routing_strategy: fastest-please\n${general}`);
  const r = await post(`${proxy.url}/config/reload`, {}, auth);
  assert.equal(r.status, 400);
  const e = (r.json as { error: { message: string; code: string; type: string } }).error;
  assert.equal(e.code, '400');
  assert.match(e.message, /previous config keeps serving/);
  assert.match(e.message, /rpm/);
  assert.match(e.message, /routing_strategy/);
  assert.ok(!r.text.includes(TEST_API_KEY) && !r.text.includes(MASTER));
  assert.ok(lines.some((l) => l.includes('config reload refused')));
  assert.ok(lines.some((l) => l.includes('config reload:') && l.includes('rpm')));
  assert.ok(lines.some((l) => l.includes('config reload:') && l.includes('routing_strategy')));
  // The old config still serves; the new group does not exist.
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg }, auth)).status, 200);
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'g2', messages: msg }, auth)).status, 400);
  assert.equal(((await http(`${proxy.url}/health/readiness`)).json as { config_version: string }).config_version, before);

  // An unreadable file: the same.
  rmSync(path);
  const gone = await post(`${proxy.url}/config/reload`, {}, auth);
  assert.equal(gone.status, 400);
  assert.match((gone.json as { error: { message: string } }).error.message, /cannot read the config file/);
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg }, auth)).status, 200);
});

test('an unchanged deployment keeps its cooldown across a reload (injected clock); its new limits apply', async () => {
  let now = 1_700_000_000_000;
  const [a, b] = await upstreams(2);
  a!.setBehavior({ kind: 'ok' });
  b!.setBehavior({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
  const cfg = (rpmB: number): string => `model_list:${deployment('g', a!, { info: { id: 'dep-a' } })}${deployment('g', b!, { info: { id: 'dep-b' }, params: { rpm: rpmB } })}\nrouter_settings:\n  num_retries: 0\n${general}`;
  const path = configFile(cfg(100));
  const { proxy } = await start(path, { now: () => now, random: () => 0.99 });
  // Pinned to dep-b: its 429 cools it for 30 s.
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'dep-b', messages: msg }, auth)).status, 429);
  const cooledUntil = proxy.router.snapshot().groups.g!.deployments.find((d) => d.id === 'dep-b')!.cooldownUntil;
  assert.ok(cooledUntil > now + 20_000, String(cooledUntil - now));

  writeFileSync(path, cfg(3));
  assert.equal((await post(`${proxy.url}/config/reload`, {}, auth)).status, 200);
  const kept = proxy.router.snapshot().groups.g!.deployments.find((d) => d.id === 'dep-b')!;
  assert.equal(kept.cooldownUntil, cooledUntil, 'the cooldown carried over');
  assert.equal(kept.failures, 1);
  // While it cools, every request goes to dep-a.
  b!.setBehavior({ kind: 'ok' });
  const bBefore = b!.requests.length;
  for (let i = 0; i < 5; i++) {
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg }, auth);
    assert.equal(r.headers.get('x-litellm-model-id'), 'dep-a');
    // The new rpm (3) is what the group's limit headers sum.
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), '3');
  }
  assert.equal(b!.requests.length, bBefore);
  // Past the cooldown, dep-b serves again (its half-open probe), under its new rpm.
  now = cooledUntil + 1;
  const probe = await post(`${proxy.url}/v1/chat/completions`, { model: 'dep-b', messages: msg }, auth);
  assert.equal(probe.status, 200);
  assert.equal(probe.headers.get('x-litellm-model-id'), 'dep-b');
});

test('with Redis, the sync follows the new set of deployments after a reload, and a kept one keeps its lease', async () => {
  const redis = await startTestRedis();
  cleanups.push(() => redis.close());
  const [a, c] = await upstreams(2);
  const redisSettings = `router_settings:\n  redis_url: ${redis.url}\n  redis_namespace: reload-ns\n  redis_sync_interval_ms: 1000\n`;
  const path = configFile(`model_list:${deployment('g', a!, { info: { id: 'dep-a' }, params: { rpm: 100 } })}\n${redisSettings}${general}`);
  const { proxy } = await start(path);
  await eventually(() => proxy.sync!.status === 'connected', 5000, 'redis connected');
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg }, auth)).status, 200);
  writeFileSync(path, `model_list:${deployment('g', a!, { info: { id: 'dep-a' }, params: { rpm: 100 } })}${deployment('h', c!, { info: { id: 'dep-c' }, params: { rpm: 50 } })}\n${redisSettings}${general}`);
  await proxy.sync!.syncNow();
  const leaseA = proxy.router.snapshot().groups.g!.deployments[0]!.leaseRemaining;
  assert.ok(leaseA > 0, 'dep-a holds a lease');
  // Called directly: reload() runs on microtasks only, so no sync round can land between the reads.
  assert.equal((await proxy.reload()).ok, true);
  const kept = proxy.router.snapshot().groups.g!.deployments[0]!;
  assert.equal(kept.leaseRemaining, leaseA, 'the kept deployment keeps its Redis lease');
  assert.equal(proxy.router.snapshot().groups.h!.deployments[0]!.leaseRemaining, 0);
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, { model: 'h', messages: msg }, auth)).status, 200);
  // The next round covers dep-c: Redis grants it a lease and counts its request. (syncNow
  // returns at once while a background round runs, so ask until one has run.)
  const end = Date.now() + 3000;
  while (proxy.router.snapshot().groups.h!.deployments[0]!.leaseRemaining === 0 && Date.now() < end) {
    await proxy.sync!.syncNow();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(proxy.router.snapshot().groups.h!.deployments[0]!.leaseRemaining > 0, 'dep-c is synced');
  assert.equal(proxy.router.snapshot().groups.h!.deployments[0]!.windowRequests, 1);
});

test('a request in flight across a reload that fails cools the kept deployment on the new router', async () => {
  const now = 1_700_000_000_000;
  const [a, b] = await upstreams(2);
  a!.setBehavior({ kind: 'ok' });
  b!.setBehavior({ kind: 'status', status: 429, headers: { 'retry-after': '30' }, delayMs: 200 });
  const text = `model_list:${deployment('g', a!, { info: { id: 'dep-a' } })}${deployment('g', b!, { info: { id: 'dep-b' } })}\nrouter_settings:\n  num_retries: 0\n${general}`;
  const path = configFile(text);
  const { proxy } = await start(path, { now: () => now });
  const inflight = post(`${proxy.url}/v1/chat/completions`, { model: 'dep-b', messages: msg }, auth);
  await b!.waitForRequests(1);
  writeFileSync(path, `${text}# touched\n`);
  assert.equal((await post(`${proxy.url}/config/reload`, {}, auth)).status, 200);
  assert.equal((await inflight).status, 429);
  const d = proxy.router.snapshot().groups.g!.deployments.find((x) => x.id === 'dep-b')!;
  assert.ok(d.cooldownUntil > now + 20_000, 'the new router\'s dep-b cools');
});
