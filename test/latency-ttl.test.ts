/**
 * latency-based-routing's `ttl`: once no sample came for that long, the old samples are gone
 * for good (LiteLLM's latency map expires as a whole), so the next sample starts afresh
 * instead of being averaged with samples the picker already treats as no data.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMockUpstream } from './support/mock-upstream.js';
import { deployment } from './support/deployments.js';
import { post, startTestProxy } from './support/proxy.js';

test('latency ttl: samples older than the ttl are not averaged into the next one', async (t) => {
  const up = await startMockUpstream();
  t.after(() => up.close());
  // Real elapsed time (latency is measured on this clock), plus an offset the test moves.
  let offset = 0;
  const now = (): number => Date.now() + offset;
  const proxy = await startTestProxy(
    `model_list:${deployment('g', up, { info: { id: 'dep-a' } })}
router_settings:
  routing_strategy: latency-based-routing
  routing_strategy_args: { ttl: 60 }
`,
    { router: { now } },
  );
  t.after(() => proxy.close());
  const score = (): number => proxy.router.snapshot().groups.g!.deployments.find((d) => d.id === 'dep-a')!.latencyScore!;
  const ask = async (): Promise<void> => {
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'dep-a', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200, r.text);
  };

  up.setBehavior({ kind: 'ok', delayMs: 300 });
  await ask();
  const slow = score();
  up.setBehavior({ kind: 'ok' });
  // Within the ttl a fast sample is averaged with the slow one.
  await ask();
  assert.ok(score() > slow / 3, `within the ttl the slow sample still counts (${score()} vs ${slow})`);
  // Past the ttl the old samples are gone: the score is the new fast sample alone.
  offset += 61_000;
  await ask();
  assert.ok(score() < slow / 10, `after the ttl only the new sample counts (${score()} vs ${slow})`);
});
