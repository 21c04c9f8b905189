/**
 * The allocator of the memory the main thread shares with the workers for request bodies
 * (src/upstream/body-slab.ts): blocks by power-of-two size, reused once freed, never handed out
 * twice while in use, and null (the caller's cue for bytes of its own) when no block fits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BodySlab } from '../src/upstream/body-slab.js';

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
