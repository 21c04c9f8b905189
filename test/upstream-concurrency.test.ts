/**
 * No hidden cap on concurrent upstream requests: with no `max_parallel_requests`, 600 slow
 * requests to one deployment are all open at the upstream at once (undici's per-origin pool
 * used to stop at 512 and queue the rest silently while their timeouts ran), and with
 * `max_parallel_requests` set, that is the bound the upstream sees.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { Agent } from 'undici';
import { deployment } from './support/deployments.js';
import { startTestProxy } from './support/proxy.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/**
 * An upstream that holds every request until `release` requests are open at once (or 8 s
 * pass), then answers all; with `holdMs`, each is answered that long after it arrived instead.
 */
async function holdingUpstream(release: number, holdMs: number | null = null): Promise<{ url: string; maxOpen: () => number }> {
  let open = 0;
  let maxOpen = 0;
  const held: ServerResponse[] = [];
  const answer = (): void => {
    for (const r of held.splice(0)) {
      r.writeHead(200, { 'content-type': 'application/json' });
      r.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
      open--;
    }
  };
  const timer = setInterval(answer, 8000);
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      if (holdMs !== null) {
        setTimeout(() => {
          held.push(res);
          answer();
        }, holdMs);
        return;
      }
      held.push(res);
      if (open >= release) answer();
    });
  });
  server.maxConnections = 10_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => {
    clearInterval(timer);
    answer();
    server.closeAllConnections();
    server.close(() => r());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxOpen: () => maxOpen };
}

const client = new Agent({ connections: null });
cleanups.push(() => client.close());

async function fire(url: string, n: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'g', messages: [{ role: 'user', content: 'hi' }] }),
      // @ts-expect-error undici's dispatcher option on Node's fetch
      dispatcher: client,
    });
    await res.arrayBuffer();
    return res.status;
  }));
}

test('600 concurrent slow requests to one origin are all open upstream at once (pool mode)', async () => {
  const up = await holdingUpstream(600);
  const proxy = await startTestProxy(`model_list:${deployment('g', up)}\n`, { workers: 1 });
  cleanups.push(() => proxy.close());
  const statuses = await fire(proxy.url, 600);
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.equal(up.maxOpen(), 600);
});

test('max_parallel_requests is the bound the upstream sees', async () => {
  const up = await holdingUpstream(Infinity, 200);
  const proxy = await startTestProxy(`model_list:${deployment('g', up, { params: { max_parallel_requests: 40 } })}\n`, { workers: 1 });
  cleanups.push(() => proxy.close());
  const statuses = await fire(proxy.url, 60);
  // The 20 beyond the bound wait for a slot (they are served after the first 40), never all at once.
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.equal(up.maxOpen(), 40);
});
