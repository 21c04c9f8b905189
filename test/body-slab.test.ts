/**
 * The allocator of the memory the main thread shares with the workers for request bodies
 * (src/upstream/body-slab.ts): blocks by power-of-two size, reused once freed, never handed out
 * twice while in use, and null (the caller's cue for bytes of its own) when no block fits.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { BodySlab } from '../src/upstream/body-slab.js';
import { createPoolDispatcher, newTaskId } from '../src/upstream/dispatch.js';
import type { CallTask } from '../src/upstream/wire.js';
import { startMockUpstream } from './support/mock-upstream.js';

test('blocks are views of exactly the size asked, inside the shared memory, and never overlap while taken', () => {
  const slab = new BodySlab(1 << 20);
  const taken = [1, 255, 256, 257, 4096, 5000, 65_536].map((n) => {
    const b = slab.alloc(n)!;
    assert.equal(b.length, n);
    assert.equal(b.buffer, slab.memory);
    return b;
  });
  const ranges = taken.map((b) => [b.byteOffset, b.byteOffset + Math.max(256, 2 ** Math.ceil(Math.log2(b.length)))] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]![0] >= ranges[i - 1]![1], `blocks ${i - 1} and ${i} overlap`);
});

test('a freed block is reused for the next body of its size class, and only then', () => {
  const slab = new BodySlab(1 << 20);
  const a = slab.alloc(3000)!;
  const carved = slab.carved;
  slab.free(slab.spanOf(a)!);
  const b = slab.alloc(2100)!;
  assert.equal(b.byteOffset, a.byteOffset, 'same class (4 KiB): the freed block');
  assert.equal(slab.carved, carved, 'nothing new carved');
  const c = slab.alloc(3000)!;
  assert.notEqual(c.byteOffset, a.byteOffset, 'the block is taken again: a new one');
});

test('no block: larger than 1 MiB, or the slab used up; bytes from elsewhere have no span', () => {
  const slab = new BodySlab(8192);
  assert.equal(slab.alloc((1 << 20) + 1), null);
  assert.ok(slab.alloc(4096));
  assert.ok(slab.alloc(4096));
  assert.equal(slab.alloc(10), null, 'all 8 KiB carved, nothing free');
  assert.equal(slab.spanOf(new Uint8Array(10)), null);
});

test('a retired block (a socket may still write from it) is never handed out again', () => {
  const slab = new BodySlab(1 << 20);
  const a = slab.alloc(100)!;
  slab.retire(slab.spanOf(a)!);
  assert.equal(slab.retired, 256);
  for (let i = 0; i < 5; i++) assert.notEqual(slab.alloc(100)!.byteOffset, a.byteOffset);
});

describe('the pool dispatcher frees a body block on its task\'s last answer', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  const callTask = (url: string, body: Uint8Array): CallTask => ({
    id: newTaskId(), endpoint: 'chat', body, responseModel: 'g', url: `${url}/v1/chat/completions`,
    headers: ['content-type', 'application/json'], upstreamModel: 'm', bodyDefaults: null, mock: null, mockTimeout: false, label: 'g/test', timeoutMs: 10_000,
  });
  const write = (bytes: Uint8Array, text: string): Uint8Array => {
    bytes.set(Buffer.from(text));
    return bytes;
  };
  const text = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(3000) }] });

  test('a success frees it for the next body; a plain-HTTP error answer retires it for good', async () => {
    const up = await startMockUpstream();
    cleanups.push(() => up.close());
    const d = createPoolDispatcher(1);
    cleanups.push(() => d.close());
    await d.ready();
    const first = write(d.allocBody(text.length), text);
    assert.ok(first.buffer instanceof SharedArrayBuffer, 'the body is in the shared slab');
    const ok = await d.call(callTask(up.url, first));
    assert.equal(ok.ok, true);
    assert.equal(JSON.parse(up.requests[0]!.rawBody).messages[0].content.length, 3000);
    const second = write(d.allocBody(text.length), text);
    assert.equal(second.byteOffset, first.byteOffset, 'the freed block is reused');
    // A plain-HTTP upstream's error may come before it read the body, on a connection it keeps:
    // the socket may still write from the block, so the block is never used again.
    up.setBehavior({ kind: 'status', status: 429, body: { error: { message: 'slow down' } } });
    const refused = await d.call(callTask(up.url, second));
    assert.equal(refused.status, 429);
    for (let i = 0; i < 3; i++) {
      const next = write(d.allocBody(text.length), text);
      assert.notEqual(next.byteOffset, second.byteOffset, 'the block of a 429 is not reused');
      up.reset();
      assert.equal((await d.call(callTask(up.url, next))).ok, true);
    }
  });

  test('a stream whose plain-HTTP upstream refused it keeps its block out of use too', async () => {
    const up = await startMockUpstream();
    cleanups.push(() => up.close());
    const d = createPoolDispatcher(1);
    cleanups.push(() => d.close());
    await d.ready();
    const run = (body: Uint8Array): Promise<string> =>
      new Promise((resolve) => {
        d.stream({ ...callTask(up.url, body), streamTimeoutMs: 10_000 }, {
          head: () => undefined,
          data: () => undefined,
          fail: (status) => resolve(`fail ${status}`),
          end: () => resolve('end'),
          error: (e) => resolve(`error ${e.code}`),
        });
      });
    const streamText = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'y'.repeat(3000) }] });
    up.setBehavior({ kind: 'status', status: 401, body: { error: { message: 'no' } } });
    const refusedBody = write(d.allocBody(streamText.length), streamText);
    assert.equal(await run(refusedBody), 'fail 401');
    up.reset();
    // A stream after it on the same channel: once it has ended, the refused one's last answer has come too.
    const okBody = write(d.allocBody(streamText.length), streamText);
    assert.equal(await run(okBody), 'end');
    for (let i = 0; i < 3; i++) assert.notEqual(d.allocBody(streamText.length).byteOffset, refusedBody.byteOffset);
  });
});
