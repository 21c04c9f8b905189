/**
 * What the proxy reports about a deployment's answer beside it: the overhead header (the time
 * in the proxy that was not the deployment's) and the tokens in the access line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../src/config/load.js';
import { startProxy } from '../src/index.js';
import { createLogger } from '../src/log.js';
import { deployment } from './support/deployments.js';
import { startMockUpstream } from './support/mock-upstream.js';

test('x-litellm-overhead-duration-ms excludes the upstream time; the access line carries the tokens', async (t) => {
  const up = await startMockUpstream();
  t.after(() => up.close());
  const loaded = loadConfigText(`model_list:${deployment('g', up)}\n`, 'test.yaml', {});
  assert.ok(loaded.ok);
  const lines: string[] = [];
  const proxy = await startProxy({ config: loaded.config, port: 0, workers: 0, log: createLogger({ level: 'info', json: true, write: (l) => lines.push(l) }) });
  t.after(() => proxy.close());
  up.setBehavior({ kind: 'ok', delayMs: 150, usage: { prompt_tokens: 11, completion_tokens: 7 } });
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'g', messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  const total = Number(res.headers.get('x-litellm-response-duration-ms'));
  const overhead = Number(res.headers.get('x-litellm-overhead-duration-ms'));
  assert.ok(total >= 150, `total ${total} ms includes the upstream's 150 ms`);
  assert.ok(overhead >= 0 && overhead < total - 100, `overhead ${overhead} ms leaves the upstream's time out of ${total} ms`);
  await new Promise((r) => setTimeout(r, 50));
  const access = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => o.route === '/v1/chat/completions');
  assert.ok(access, lines.join('\n'));
  assert.equal(access.prompt_tokens, 11);
  assert.equal(access.completion_tokens, 7);
});
