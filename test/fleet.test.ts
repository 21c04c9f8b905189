/**
 * A fleet of instances behaves as one: three proxies sharing a real redis-server (started by
 * the test on a free port), checked through HTTP and against what the mock upstreams got.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningProxy } from '../src/index.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { eventually, http, post, startTestProxy, type RawResponse } from './support/proxy.js';
import { startOwnedTestRedis, type TestRedis } from './support/redis-server.js';
import { deployment } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];
let redis: TestRedis;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  redis = await startOwnedTestRedis();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis.close();
});

let nsSeq = 0;

/** Starts `n` instances on one config, each with its own Redis connection and instance id. */
async function fleet(n: number, modelList: string, extra = ''): Promise<RunningProxy[]> {
  const yaml = `model_list:${modelList}
router_settings:
  redis_url: ${redis.url}
  redis_namespace: fleet-test-${process.pid}-${++nsSeq}
  redis_sync_interval_ms: 10
${extra}`;
  const out: RunningProxy[] = [];
  for (let i = 0; i < n; i++) {
    const p = await startTestProxy(yaml);
    cleanups.push(() => p.close());
    out.push(p);
  }
  await Promise.all(out.map((p) => eventually(() => p.sync?.status === 'connected', 5000, 'redis sync up')));
  // Let every instance see the others' heartbeats, so leases are split three ways.
  await eventually(() => out.every((p) => (p.sync?.liveInstances ?? 0) >= n), 5000, 'instances see each other');
  return out;
}

async function upstreams(n: number): Promise<MockUpstream[]> {
  const ups = await Promise.all(Array.from({ length: n }, () => startMockUpstream()));
  cleanups.push(async () => { for (const u of ups) await u.close(); });
  return ups;
}

/** `n` requests spread round-robin over the instances, `concurrency` at a time. */
async function spread(instances: RunningProxy[], model: string, n: number, concurrency: number): Promise<RawResponse[]> {
  const out: RawResponse[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      out.push(await post(`${instances[i % instances.length]!.url}/v1/chat/completions`, { model, messages: msg }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

describe('a fleet of three instances', () => {
  test('rpm holds cluster-wide: two deployments at rpm 10, 60 requests over three instances → exactly 20 succeed', async () => {
    const [a, b] = await upstreams(2);
    const ps = await fleet(3, `${deployment('g', a!, { params: { rpm: 10 } })}${deployment('g', b!, { params: { rpm: 10 } })}`);
    const res = await spread(ps, 'g', 60, 6);
    const ok = res.filter((r) => r.status === 200).length;
    assert.ok(a!.requests.length <= 10, `a got ${a!.requests.length}`);
    assert.ok(b!.requests.length <= 10, `b got ${b!.requests.length}`);
    assert.equal(ok, 20);
    for (const r of res.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 429);
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      assert.match((r.json as { error: { message: string } }).error.message, /No deployments available/);
    }
  });

  test('a cooldown triggered through one instance is respected by the other two within a second', async () => {
    const [x, y] = await upstreams(2);
    x!.setBehavior({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    const ps = await fleet(3, `${deployment('g', x!, { params: { order: 1 } })}${deployment('g', y!, { params: { order: 2 } })}`);
    const first = await post(`${ps[0]!.url}/v1/chat/completions`, { model: 'g', messages: msg });
    assert.equal(first.status, 200, 'served by the fallback tier after the 429');
    assert.equal(x!.requests.length, 1);
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 10; i++) {
      for (const p of [ps[1]!, ps[2]!]) assert.equal((await post(`${p.url}/v1/chat/completions`, { model: 'g', messages: msg })).status, 200);
    }
    assert.equal(x!.requests.length, 1, 'no other instance sent to the cooling deployment');
  });

  test('least-busy across instances sends less to a slow deployment', async () => {
    const [slow, fast] = await upstreams(2);
    slow!.setBehavior({ kind: 'ok', delayMs: 200 });
    fast!.setBehavior({ kind: 'ok', delayMs: 5 });
    const ps = await fleet(3, `${deployment('g', slow!)}${deployment('g', fast!)}`, '  routing_strategy: least-busy');
    await spread(ps, 'g', 120, 9);
    assert.ok(slow!.requests.length < fast!.requests.length / 2, `slow ${slow!.requests.length} vs fast ${fast!.requests.length}`);
  });
});

test('an instance that dies stops counting its in-flight requests within a few seconds', async () => {
  const [slow] = await upstreams(1);
  slow!.setBehavior({ kind: 'hang' });
  const [a, b] = await fleet(2, deployment('g', slow!));
  const client = new AbortController();
  const pending = fetch(`${a!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'g', messages: msg }),
    signal: client.signal,
  }).catch(() => undefined);
  const seenByB = (): number => b!.router.snapshot().groups.g!.deployments[0]!.remoteInFlight;
  await eventually(() => seenByB() === 1, 2000, 'b sees a\'s request in flight');
  await a!.sync!.stop({ flush: false });
  const t0 = Date.now();
  await eventually(() => seenByB() === 0, 6000, 'the dead instance stops counting');
  assert.ok(Date.now() - t0 < 5000);
  client.abort();
  await pending;
});

describe('losing Redis', () => {
  test('Redis stopped mid-run: every instance keeps answering, no 5xx; restarted: a fresh cap holds again', async () => {
    const [h, l1, l2] = await upstreams(3);
    const ps = await fleet(3, `${deployment('healthy', h!)}${deployment('capped', l1!, { params: { rpm: 5 } })}${deployment('capped', l2!, { params: { rpm: 5 } })}`);
    await redis.stop();
    const t0 = Date.now();
    const res = await spread(ps, 'healthy', 30, 6);
    assert.ok(res.every((r) => r.status === 200), `statuses: ${res.map((r) => r.status).join(',')}`);
    assert.ok(Date.now() - t0 < 5000, 'no request waited on the dead Redis');
    await eventually(() => ps.every((p) => p.sync?.status === 'degraded'), 3000, 'instances notice');
    const ready = await http(`${ps[0]!.url}/health/readiness`);
    assert.equal(ready.status, 200);
    assert.equal((ready.json as { status: string }).status, 'degraded');
    await redis.start();
    await Promise.all(ps.map((p) => eventually(() => p.sync?.status === 'connected', 8000, 'reconnected')));
    await eventually(() => ps.every((p) => (p.sync?.liveInstances ?? 0) >= 3), 5000, 'instances see each other again');
    const capped = await spread(ps, 'capped', 30, 6);
    assert.equal(capped.filter((r) => r.status === 200).length, 10);
    assert.ok(l1!.requests.length <= 5 && l2!.requests.length <= 5);
  });

  test('an instance started while Redis is down serves, and joins when Redis comes back', async () => {
    const [h] = await upstreams(1);
    await redis.stop();
    const p = await startTestProxy(`model_list:${deployment('healthy', h!)}
router_settings:
  redis_url: ${redis.url}
  redis_namespace: fleet-late-${process.pid}
  redis_sync_interval_ms: 10
`);
    cleanups.push(() => p.close());
    assert.equal((await post(`${p.url}/v1/chat/completions`, { model: 'healthy', messages: msg })).status, 200);
    assert.equal(((await http(`${p.url}/health/readiness`)).json as { status: string }).status, 'degraded');
    await redis.start();
    await eventually(() => p.sync?.status === 'connected', 8000, 'joined');
    assert.equal(((await http(`${p.url}/health/readiness`)).json as { status: string }).status, 'healthy');
  });
});
