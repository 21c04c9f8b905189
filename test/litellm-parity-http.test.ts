/**
 * LiteLLM parity through a running proxy: behaviour a LiteLLM config expects, checked over
 * HTTP against recording mock upstreams.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { RunningProxy } from '../src/index.js';
import { startMockUpstream, type MockUpstream } from './support/mock-upstream.js';
import { post, startTestProxy } from './support/proxy.js';
import { deployment } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];

const running: Array<{ proxy: RunningProxy; ups: MockUpstream[] }> = [];
after(async () => {
  for (const s of running) {
    await s.proxy.close();
    for (const u of s.ups) await u.close();
  }
});

async function start(yaml: (ups: MockUpstream[]) => string, upstreams = 1): Promise<{ proxy: RunningProxy; ups: MockUpstream[] }> {
  const ups = await Promise.all(Array.from({ length: upstreams }, () => startMockUpstream()));
  const proxy = await startTestProxy(yaml(ups));
  const s = { proxy, ups };
  running.push(s);
  return s;
}

test('alias to a missing group: the proxy starts, the alias answers as an unknown model, the real alias routes', async () => {
  const { proxy, ups } = await start(([u]) => `model_list:${deployment('gpt-4o', u!)}
router_settings:
  model_group_alias: {gpt-4: gpt-4o, turbo: gpt4o}
`);
  const ok = await post(`${proxy.url}/v1/chat/completions`, { model: 'gpt-4', messages: msg });
  assert.equal(ok.status, 200, ok.text);
  const dropped = await post(`${proxy.url}/v1/chat/completions`, { model: 'turbo', messages: msg });
  const unknown = await post(`${proxy.url}/v1/chat/completions`, { model: 'never-configured', messages: msg });
  assert.equal(dropped.status, unknown.status);
  assert.equal(dropped.status, 400);
  const err = (dropped.json as { error: { message: string; code: string; param: string } }).error;
  assert.match(err.message, /^Invalid model name passed in model=turbo\./);
  assert.equal(err.code, '400');
  assert.equal(ups[0]!.requests.length, 1, 'only the routed alias reached the upstream');
});
