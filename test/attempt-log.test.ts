/**
 * Per-attempt debug lines through a running proxy: one per attempt, successful ones too, with
 * the decision after it (retry, fallback, done); secrets redacted; none at info level, where
 * the router is given no listener at all.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfigFile, loadConfigText } from '../src/config/load.js';
import { startProxy, type RunningProxy } from '../src/index.js';
import { createLogger, type Logger } from '../src/log.js';
import { deployment, TEST_API_KEY } from './support/deployments.js';
import { startMockUpstreams, type MockUpstream } from './support/mock-upstream.js';
import { eventually, http, post } from './support/proxy.js';

const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

/** Group a: two deployments that fail (one echoes its key), one retry; then fallback to b, which answers. */
function yaml(ups: readonly MockUpstream[]): string {
  return `model_list:${deployment('a', ups[0]!, { info: { id: 'dep-a1' } })}${deployment('a', ups[1]!, { info: { id: 'dep-a2' } })}${deployment('b', ups[2]!, { info: { id: 'dep-b' } })}
router_settings:
  num_retries: 1
  fallbacks: [{"a": ["b"]}]
`;
}

async function start(ups: readonly MockUpstream[], log: Logger): Promise<RunningProxy> {
  const loaded = loadConfigText(yaml(ups), 'attempts.yaml', {});
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return startProxy({ config: loaded.config, port: 0, workers: 0, log });
}

function failing(ups: readonly MockUpstream[]): void {
  // The first echoes the request's Authorization header, as debug servers and some gateways do.
  ups[0]!.setBehavior((r) => ({ kind: 'status', status: 500, body: { error: { message: `boom, you sent ${String(r.headers.authorization)}` } } }));
  ups[1]!.setBehavior({ kind: 'status', status: 503 });
  ups[2]!.setBehavior({ kind: 'ok' });
}

describe('per-attempt lines at debug', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  let ups: MockUpstream[];
  let proxy: RunningProxy;
  const lines: string[] = [];
  const attempts = (id: string): Array<Record<string, unknown>> =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => o.request_id === id && typeof o.decision === 'string');
  before(async () => {
    ups = await startMockUpstreams(3, cleanups);
    proxy = await start(ups, createLogger({ level: 'debug', json: true, write: (l) => lines.push(l) }));
  });
  after(async () => {
    await proxy.close();
    for (const c of cleanups) await c();
  });

  test('a retry, a fallback and the answer: one line each, in order, with the decision', async () => {
    failing(ups);
    const res = await post(`${proxy.url}/v1/chat/completions`, chat('a'), { 'x-request-id': 'trace-1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-litellm-model-id'), 'dep-b');
    await eventually(() => attempts('trace-1').length === 3, 2000, 'three attempt lines');
    const [first, second, third] = attempts('trace-1');
    for (const l of [first!, second!, third!]) {
      assert.equal(l.level, 'debug');
      assert.equal(typeof l.duration_ms, 'number');
      assert.ok((l.duration_ms as number) >= 0);
    }
    assert.deepEqual([first!.attempt, second!.attempt, third!.attempt], [1, 2, 3]);
    assert.deepEqual([first!.group_attempt, second!.group_attempt, third!.group_attempt], [1, 2, 1]);
    assert.deepEqual([first!.model_group, second!.model_group, third!.model_group], ['a', 'a', 'b']);
    assert.deepEqual(new Set([first!.deployment_id, second!.deployment_id]), new Set(['dep-a1', 'dep-a2']), 'the retry went to the other deployment');
    assert.equal(third!.deployment_id, 'dep-b');
    assert.equal(first!.decision, 'retry');
    assert.equal(typeof first!.retry_in_ms, 'number');
    assert.equal(second!.decision, 'fallback');
    assert.equal(second!.fallback_to, 'b');
    assert.equal(second!.reason, 'retries spent');
    assert.equal(third!.decision, 'done');
    assert.equal(third!.outcome, 'ok');
    assert.equal(third!.status, 200);
    for (const l of [first!, second!]) {
      assert.equal(l.outcome, 'server');
      assert.ok(l.status === 500 || l.status === 503, `status ${String(l.status)}`);
      assert.equal(typeof l.error, 'string');
    }
    assert.match(String(third!.msg), /^attempt 3 on b\/dep-b: ok 200 -> done$/);
    const echoed = [first!, second!].find((l) => l.deployment_id === 'dep-a1')!;
    assert.match(String(echoed.error), /\[redacted\]/, 'the echoed key is cut from the line');
    assert.ok(!lines.some((l) => l.includes(TEST_API_KEY)), 'no line holds the deployment key');
  });

  test('a request that fails everywhere: the last attempt says fail, with why', async () => {
    failing(ups);
    ups[2]!.setBehavior({ kind: 'status', status: 400, body: { error: { message: 'bad request' } } });
    const res = await post(`${proxy.url}/v1/chat/completions`, chat('a'), { 'x-request-id': 'trace-2' });
    assert.ok(res.status >= 400);
    await eventually(() => attempts('trace-2').length === 3, 2000, 'three attempt lines');
    const last = attempts('trace-2')[2]!;
    assert.equal(last.model_group, 'b');
    assert.equal(last.status, 400);
    assert.equal(last.decision, 'fail');
    assert.equal(last.reason, 'not retryable');
  });

  test('a fallback ruled out by max_fallbacks: the last attempt says fail, and why', async () => {
    failing(ups);
    const res = await post(`${proxy.url}/v1/chat/completions`, chat('a', { max_fallbacks: 0 }), { 'x-request-id': 'trace-4' });
    assert.ok(res.status >= 500);
    await eventually(() => attempts('trace-4').length === 2, 2000, 'two attempt lines');
    const last = attempts('trace-4')[1]!;
    assert.equal(last.model_group, 'a');
    assert.equal(last.decision, 'fail');
    assert.equal(last.reason, 'retries spent; max_fallbacks reached');
    assert.equal(ups[2]!.requests.filter((r) => (r.headers['x-request-id'] as string) === 'trace-4').length, 0, 'b was never called');
  });

  test('a stream that succeeds first time: one line, done, timed to the upstream head', async () => {
    ups[0]!.setBehavior({ kind: 'stream', chunks: 2, firstByteDelayMs: 0 });
    ups[1]!.setBehavior({ kind: 'stream', chunks: 2, firstByteDelayMs: 0 });
    const res = await post(`${proxy.url}/v1/chat/completions`, chat('a', { stream: true }), { 'x-request-id': 'trace-3' });
    assert.equal(res.status, 200);
    await eventually(() => attempts('trace-3').length === 1, 2000, 'one attempt line');
    const l = attempts('trace-3')[0]!;
    assert.equal(l.decision, 'done');
    assert.equal(l.attempt, 1);
    assert.ok(l.deployment_id === 'dep-a1' || l.deployment_id === 'dep-a2');
  });
});

describe('per-attempt lines at info', () => {
  test('no attempt line is asked for: debug() is never called, the access line still is', async () => {
    const cleanups: Array<() => Promise<void> | void> = [];
    const ups = await startMockUpstreams(3, cleanups);
    const lines: string[] = [];
    const base = createLogger({ level: 'info', json: true, write: (l) => lines.push(l) });
    let debugCalls = 0;
    const log: Logger = { ...base, debug: (m, f) => {
      debugCalls++;
      base.debug(m, f);
    } };
    const proxy = await start(ups, log);
    try {
      failing(ups);
      const res = await post(`${proxy.url}/v1/chat/completions`, chat('a'), { 'x-request-id': 'quiet-1' });
      assert.equal(res.status, 200);
      await eventually(() => lines.some((l) => l.includes('"quiet-1"') && l.includes('"status":200')), 2000, 'the access line');
      assert.equal(debugCalls, 0);
      assert.ok(!lines.some((l) => l.includes('"decision"')));
    } finally {
      await proxy.close();
      for (const c of cleanups) await c();
    }
  });
});

test('after a live reload the new router writes attempt lines too', async (t) => {
  const cleanups: Array<() => Promise<void> | void> = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const [up] = await startMockUpstreams(1, cleanups);
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-attempts-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.yaml');
  writeFileSync(path, `model_list:${deployment('old', up!, { info: { id: 'dep-old' } })}\n`);
  const loaded = loadConfigFile(path, {});
  assert.ok(loaded.ok);
  const lines: string[] = [];
  const proxy = await startProxy({ config: loaded.config, configPath: path, env: {}, port: 0, workers: 0, log: createLogger({ level: 'debug', json: true, write: (l) => lines.push(l) }) });
  cleanups.push(() => proxy.close());
  writeFileSync(path, `model_list:${deployment('new', up!, { info: { id: 'dep-new' } })}\n`);
  assert.equal((await http(`${proxy.url}/config/reload`, { method: 'POST' })).status, 200);
  assert.equal((await post(`${proxy.url}/v1/chat/completions`, chat('new'), { 'x-request-id': 'after-reload' })).status, 200);
  await eventually(() => lines.some((l) => l.includes('"after-reload"') && l.includes('"decision":"done"') && l.includes('"dep-new"')), 2000, 'the attempt line from the new router');
});
