/**
 * `npm start` serves config.example.yaml offline: it must load without problems and every
 * model it lists must answer through the real proxy.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { http, post, startTestProxy } from './support/proxy.js';

const example = readFileSync(new URL('../../config.example.yaml', import.meta.url), 'utf8');

test('config.example.yaml loads and every listed model answers offline', async (t) => {
  const proxy = await startTestProxy(example);
  t.after(() => proxy.close());
  const models = ((await http(`${proxy.url}/v1/models`)).json as { data: Array<{ id: string }> }).data.map((m) => m.id);
  assert.ok(models.length >= 5);
  for (const model of models) {
    const embedding = model.includes('embedding');
    const res = embedding
      ? await post(`${proxy.url}/v1/embeddings`, { model, input: 'hi' })
      : await post(`${proxy.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.status, 200, `${model}: ${res.text}`);
    assert.equal((res.json as { model: string }).model, model);
  }
  const hidden = await post(`${proxy.url}/v1/chat/completions`, { model: 'internal-4o', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(hidden.status, 200);
  assert.ok(!models.includes('internal-4o'));
});
