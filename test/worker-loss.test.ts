/**
 * A pool thread that dies: what it had in flight fails (as a worker failure, never silence),
 * its replacement gets a channel, and with one thread the tasks that arrive meanwhile wait for
 * it instead of failing. Driven through the Dispatcher interface against a recording mock.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Piscina } from 'piscina';
import { createPoolDispatcher, newTaskId, type Dispatcher } from '../src/upstream/dispatch.js';
import type { CallTask } from '../src/upstream/wire.js';
import { startMockUpstream } from './support/mock-upstream.js';

const up = await startMockUpstream();
let pool: Piscina | null = null;
const dispatcher: Dispatcher = createPoolDispatcher(1, (p) => (pool = p));
after(async () => {
  await dispatcher.close();
  await up.close();
});

function task(): CallTask {
  const body = new TextEncoder().encode(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }));
  return {
    id: newTaskId(), endpoint: 'chat', body, responseModel: 'g', url: `${up.url}/v1/chat/completions`,
    headers: ['content-type', 'application/json'], upstreamModel: 'm', bodyDefaults: null, mock: null, mockTimeout: false, label: 'g/test', timeoutMs: 10_000,
  };
}

test('a thread that dies fails its calls in flight; the next calls wait for its replacement and succeed', async () => {
  await dispatcher.ready();
  const ok = await dispatcher.call(task());
  assert.equal(ok.ok, true);
  up.setBehavior({ kind: 'ok', delayMs: 2000 });
  const inFlight = dispatcher.call(task());
  const failed = assert.rejects(inFlight, /upstream worker/);
  await up.waitForRequests(2);
  await pool!.threads[0]!.terminate();
  await failed;
  up.setBehavior({ kind: 'ok' });
  // Sent while no thread serves: it waits for the replacement rather than failing.
  const after = await dispatcher.call(task());
  assert.equal(after.ok, true, JSON.stringify(after));
  assert.equal(up.requests.length, 3);
});

test('a call the client left while it waited for a channel never reaches the upstream', async () => {
  up.reset();
  await pool!.threads[0]!.terminate();
  const t = task();
  const pending = dispatcher.call(t);
  dispatcher.abortCall(t.id);
  const r = await pending;
  assert.equal(r.ok, false);
  assert.ok('error' in r && r.error.code === 'UPSTREAM_ABORTED', JSON.stringify(r));
  assert.equal((await dispatcher.call(task())).ok, true);
  assert.equal(up.requests.length, 1);
});
