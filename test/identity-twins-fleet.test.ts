/**
 * Entries sharing an id across a fleet: the id is one deployment in Redis too (one usage
 * window, one lease, one cooldown), whatever the number of entries that carry it. Three
 * proxies on a real redis-server started by the test.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningProxy } from '../src/index.js';
import { startMockUpstreams } from './support/mock-upstream.js';
import { eventually, post, startTestProxy } from './support/proxy.js';
import { startOwnedTestRedis, type TestRedis } from './support/redis-server.js';
import { deployment } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];
let redis: TestRedis;
const cleanups: Array<() => Promise<void> | void> = [];
before(async () => {
  redis = await startOwnedTestRedis();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis.close();
});

async function fleet(n: number, modelList: string, ns: string): Promise<RunningProxy[]> {
  const yaml = `model_list:${modelList}
router_settings:
  redis_url: ${redis.url}
  redis_namespace: twins-${process.pid}-${ns}
  redis_sync_interval_ms: 10
`;
  const out: RunningProxy[] = [];
  for (let i = 0; i < n; i++) {
    const p = await startTestProxy(yaml);
    cleanups.push(() => p.close());
    out.push(p);
  }
  await Promise.all(out.map((p) => eventually(() => p.sync?.status === 'connected', 5000, 'redis sync up')));
  await eventually(() => out.every((p) => (p.sync?.liveInstances ?? 0) >= n), 5000, 'instances see each other');
  return out;
}

test('twins at rpm 10 over three instances: 60 requests → exactly 10 succeed, the id\'s cluster-wide rpm', async () => {
  const [u] = await startMockUpstreams(1, cleanups);
  const entry = deployment('g', u!, { params: { rpm: 10 } });
  const ps = await fleet(3, `${entry}${entry}`, 'rpm');
  const res: number[] = [];
  for (let i = 0; i < 60; i++) res.push((await post(`${ps[i % 3]!.url}/v1/chat/completions`, { model: 'g', messages: msg })).status);
  assert.equal(res.filter((s) => s === 200).length, 10, res.join(','));
  assert.equal(u!.requests.length, 10);
  assert.ok(res.every((s) => s === 200 || s === 429));
});

test('a 429 on one instance cools the id, both entries, on every instance', async () => {
  const [u] = await startMockUpstreams(1, cleanups);
  u!.setBehavior({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
  const entry = deployment('g', u!);
  const ps = await fleet(2, `${entry}${entry}`, 'cooldown');
  const r = await post(`${ps[0]!.url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(r.status, 429);
  assert.equal(u!.requests.length, 1, 'the twin was not tried');
  await eventually(() => ps[1]!.router.snapshot().groups.g!.deployments.every((d) => d.cooldownUntil > Date.now()), 3000, 'the other instance cools both entries');
  const other = await post(`${ps[1]!.url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(other.status, 429);
  assert.match(other.text, /No deployments available/);
  assert.equal(u!.requests.length, 1);
});
