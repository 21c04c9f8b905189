/**
 * A stream's bytes as the upstream cut them: the worker decodes each body chunk as it comes,
 * so a character whose UTF-8 bytes straddle two chunks, and a byte order mark before the first
 * event, must reach the client as the text the upstream meant.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { deployment } from './support/deployments.js';
import { dispatchModes, post, startTestProxy } from './support/proxy.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const TEXTS = ['héllo ', '🙂 ', '世界', ' ok'];

/** The stream's bytes, a BOM first, cut into pieces of `size` bytes: most cuts fall inside a character. */
function pieces(size: number): Buffer[] {
  const events = TEXTS.map((t) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: t }, finish_reason: null }] })}\n\n`);
  const all = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${events.join('')}data: [DONE]\n\n`)]);
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.subarray(i, i + size));
  return out;
}

/** An SSE upstream writing each piece as its own HTTP chunk (the worker gets each as its own body chunk). */
async function cuttingUpstream(size: number): Promise<string> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const p of pieces(size)) res.write(p);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

for (const mode of dispatchModes) {
  describe(`stream bytes cut anywhere (${mode.label})`, () => {
    for (const size of [1, 2, 5]) {
      test(`pieces of ${size} byte(s): every character and event arrives whole`, async () => {
        const url = await cuttingUpstream(size);
        const proxy = await startTestProxy(`model_list:${deployment('g', url)}`, { workers: mode.workers });
        cleanups.push(() => proxy.close());
        const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: [{ role: 'user', content: 'hi' }], stream: true });
        assert.equal(r.status, 200);
        const events = r.text.split('\n\n').filter(Boolean);
        assert.equal(events.at(-1), 'data: [DONE]');
        const chunks = events.slice(0, -1).map((e) => {
          assert.ok(e.startsWith('data: {'), `an event as the upstream sent it: ${JSON.stringify(e)}`);
          return JSON.parse(e.slice(6)) as { model: string; choices: Array<{ delta: { content: string } }> };
        });
        assert.deepEqual(chunks.map((c) => c.choices[0]!.delta.content), TEXTS);
        assert.ok(chunks.every((c) => c.model === 'g'), 'each chunk restamped with the name asked for');
      });
    }
  });
}
