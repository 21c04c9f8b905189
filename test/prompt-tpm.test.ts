/**
 * The tpm check counts the incoming prompt (LiteLLM's `tpm_used + input_tokens > tpm_limit`),
 * and counting costs nothing where it cannot change a decision: groups without a tpm, and tpm
 * deployments with room for any prompt of the body's size, are admitted without a count. What
 * the upstreams received and how often the worker pool was asked to count are the evidence.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfigText } from '../src/config/load.js';
import type { RunningProxy } from '../src/index.js';
import { createLogger } from '../src/log.js';
import { Router } from '../src/router/router.js';
import { ProxyServer } from '../src/server/app.js';
import { createDispatcher, type Dispatcher } from '../src/upstream/dispatch.js';
import { startMockUpstreams, type MockUpstream } from './support/mock-upstream.js';
import { post, startTestProxy, type RawResponse } from './support/proxy.js';
import { deployment } from './support/deployments.js';

const small = [{ role: 'user', content: 'hi' }];
/** About 600 tokens in either tokenizer (" hello" is one token). */
const long = [{ role: 'user', content: 'hello '.repeat(600) }];
/** One fixed instant: every request falls in the same usage window. */
const fixedNow = (): number => 1_700_000_000_000;

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function proxyFor(yaml: string): Promise<RunningProxy> {
  const p = await startTestProxy(yaml, { router: { now: fixedNow } });
  cleanups.push(() => p.close());
  return p;
}

function chat(url: string, model: string, messages: unknown): Promise<RawResponse> {
  return post(`${url}/v1/chat/completions`, { model, messages });
}

describe('the tpm check counts the prompt', () => {
  let ups: MockUpstream[];
  before(async () => {
    ups = await startMockUpstreams(2, cleanups);
    // Every answer from the tpm deployment reports 500 tokens used.
    ups[0]!.setBehavior({ kind: 'ok', usage: { prompt_tokens: 500, completion_tokens: 0 } });
  });

  test('a prompt that would take a deployment past its tpm goes to the next tier; a small one still fits', async () => {
    const proxy = await proxyFor(`model_list:${deployment('g', ups[0]!, { params: { tpm: 1000, order: 1 }, info: { id: 'tight' } })}${deployment('g', ups[1]!, { params: { order: 2 }, info: { id: 'spare' } })}`);
    const first = await chat(proxy.url, 'g', small);
    assert.equal(first.headers.get('x-litellm-model-id'), 'tight');
    // 500 used + ~600 asked > 1000: before the prompt counted, 500 < 1000 let it through.
    const big = await chat(proxy.url, 'g', long);
    assert.equal(big.status, 200);
    assert.equal(big.headers.get('x-litellm-model-id'), 'spare');
    const again = await chat(proxy.url, 'g', small);
    assert.equal(again.headers.get('x-litellm-model-id'), 'tight');
    assert.equal(ups[0]!.requests.length, 2);
    assert.equal(ups[1]!.requests.length, 1);
  });

  test('a prompt larger than every tpm is refused with 429 before any upstream sees it', async () => {
    for (const u of ups) u.reset();
    const proxy = await proxyFor(`model_list:${deployment('one', ups[1]!, { params: { tpm: 100 } })}`);
    const r = await chat(proxy.url, 'one', long);
    assert.equal(r.status, 429);
    assert.match((r.json as { error: { message: string } }).error.message, /No deployments available/);
    assert.ok(r.headers.get('retry-after') !== null);
    assert.equal(ups[1]!.requests.length, 0);
    // A prompt that fits is served.
    assert.equal((await chat(proxy.url, 'one', small)).status, 200);
  });
});

/** A real dispatcher that counts how often the worker pool is asked to count tokens. */
function counting(inner: Dispatcher): Dispatcher & { counts: number } {
  const d = {
    counts: 0,
    get mode() { return inner.mode; },
    get threads() { return inner.threads; },
    ready: () => inner.ready(),
    allocBody: inner.allocBody,
    call: (t: Parameters<Dispatcher['call']>[0]) => inner.call(t),
    abortCall: (id: number) => inner.abortCall(id),
    stream: (t: Parameters<Dispatcher['stream']>[0], s: Parameters<Dispatcher['stream']>[1]) => inner.stream(t, s),
    countTokens: (body: ArrayBuffer, model: string) => {
      d.counts++;
      return inner.countTokens(body, model);
    },
    close: () => inner.close(),
  };
  return d;
}

describe('token counting stays off the path that does not need it', () => {
  let ups: MockUpstream[];
  let url: string;
  let dispatcher: Dispatcher & { counts: number };

  before(async () => {
    ups = await startMockUpstreams(3, cleanups);
    ups[2]!.setBehavior({ kind: 'ok', usage: { prompt_tokens: 500, completion_tokens: 0 } });
    const loaded = loadConfigText(`model_list:${deployment('plain', ups[0]!)}${deployment('roomy', ups[1]!, { params: { tpm: 1_000_000 } })}${deployment('tight', ups[2]!, { params: { tpm: 1000 } })}${deployment('windowed', ups[1]!, { params: { tpm: 1000 }, info: { max_input_tokens: 100000 } })}
router_settings:
  enable_pre_call_checks: true
`, 'test.yaml', {});
    if (!loaded.ok) throw new Error('config refused');
    dispatcher = counting(await createDispatcher(1));
    const router = new Router(loaded.config, dispatcher, { now: fixedNow });
    const server = new ProxyServer({ router, dispatcher, masterKey: null, maxBodyBytes: 1 << 20, shutdownGraceMs: 1000, log: createLogger({ level: 'error', write: () => undefined }) });
    const port = await server.listen('127.0.0.1', 0);
    await dispatcher.ready();
    server.setReady(true);
    url = `http://127.0.0.1:${port}`;
    cleanups.push(async () => {
      await server.close();
      await dispatcher.close();
    });
  });

  test('no count for a group without tpm, nor for a tpm far from full', async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await chat(url, 'plain', long)).status, 200);
      assert.equal((await chat(url, 'roomy', long)).status, 200);
    }
    assert.equal(dispatcher.counts, 0);
  });

  test('near its tpm a deployment gets an exact count, once per request', async () => {
    assert.equal((await chat(url, 'tight', small)).status, 200);
    const before = dispatcher.counts;
    // 500 used: a ~2 kB body might not fit, so it is counted (and fits: 500 + ~10 ≤ 1000).
    assert.equal((await chat(url, 'tight', [{ role: 'user', content: 'x'.repeat(600) }])).status, 200);
    assert.equal(dispatcher.counts, before + 1);
  });

  test('the context-window check and the tpm check share one count', async () => {
    const before = dispatcher.counts;
    assert.equal((await chat(url, 'windowed', long)).status, 200);
    assert.equal(dispatcher.counts, before + 1);
  });
});
