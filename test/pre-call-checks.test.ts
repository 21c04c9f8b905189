/**
 * `enable_pre_call_checks` beyond the context window, as LiteLLM's `_pre_call_checks`:
 * `allowed_model_region` against `region_name`, and deployments that cannot take
 * `response_format` (unless `litellm_settings.drop_params`). Which upstream received each
 * request, and what its body held, are the evidence.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningProxy } from '../src/index.js';
import { startMockUpstreams, type MockUpstream } from './support/mock-upstream.js';
import { post, startTestProxy, type RawResponse } from './support/proxy.js';
import { deployment } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];
type Envelope = { error: { message: string; param: string | null } };

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function proxyFor(yaml: string): Promise<RunningProxy> {
  const p = await startTestProxy(yaml);
  cleanups.push(() => p.close());
  return p;
}

function chat(url: string, model: string, extra: Record<string, unknown> = {}): Promise<RawResponse> {
  return post(`${url}/v1/chat/completions`, { model, messages: msg, ...extra });
}

async function ids(url: string, model: string, n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await chat(url, model, extra);
    assert.equal(r.status, 200, r.text);
    out.push(r.headers.get('x-litellm-model-id')!);
  }
  return out;
}

describe('allowed_model_region', () => {
  let ups: MockUpstream[];
  let proxy: RunningProxy;
  const regions = (u: MockUpstream[]): string => `${deployment('g', u[0]!, { params: { region_name: 'us', order: 1 }, info: { id: 'us-1' } })}${deployment('g', u[1]!, { params: { region_name: 'eu', order: 2 }, info: { id: 'eu-1' } })}${deployment('g', u[2]!, { params: { order: 1 }, info: { id: 'none-1' } })}`;

  before(async () => {
    ups = await startMockUpstreams(3, cleanups);
    proxy = await proxyFor(`model_list:${regions(ups)}
router_settings:
  enable_pre_call_checks: true
`);
  });

  test('keeps only the deployments whose region_name equals it, past priority tiers; the field is not sent upstream', async () => {
    assert.deepEqual(await ids(proxy.url, 'g', 6, { allowed_model_region: 'eu' }), Array(6).fill('eu-1'));
    assert.equal(ups[0]!.requests.length + ups[2]!.requests.length, 0);
    assert.equal((ups[1]!.requests[0]!.body as Record<string, unknown>).allowed_model_region, undefined);
    // Without it, tier 1 (with and without a region) serves as usual.
    for (const id of await ids(proxy.url, 'g', 6)) assert.ok(id === 'us-1' || id === 'none-1', id);
  });

  test('a region no deployment is in: 429 naming it, and no upstream call', async () => {
    for (const u of ups) u.reset();
    const r = await chat(proxy.url, 'g', { allowed_model_region: 'ap' });
    assert.equal(r.status, 429);
    const e = (r.json as Envelope).error;
    assert.match(e.message, /No deployments available for selected model.*allowed_model_region="ap"/);
    assert.equal(e.param, 'allowed_model_region');
    assert.equal(ups.reduce((n, u) => n + u.requests.length, 0), 0);
  });

  test('a deployment named by its id is not filtered (LiteLLM skips the checks for ids)', async () => {
    const r = await chat(proxy.url, 'us-1', { allowed_model_region: 'eu' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-litellm-model-id'), 'us-1');
  });

  test('without enable_pre_call_checks the region is not checked', async () => {
    const u = await startMockUpstreams(3, cleanups);
    const off = await proxyFor(`model_list:${regions(u)}`);
    for (const id of await ids(off.url, 'g', 4, { allowed_model_region: 'eu' })) assert.notEqual(id, 'eu-1');
  });
});

describe('response_format', () => {
  let ups: MockUpstream[];
  const group = (u: MockUpstream[]): string => `${deployment('f', u[0]!, { model: 'openai/gpt-4', params: { order: 1 }, info: { id: 'gpt-4' } })}${deployment('f', u[1]!, { model: 'openai/gpt-4o', params: { order: 2 }, info: { id: 'gpt-4o' } })}`;
  const format = { response_format: { type: 'json_object' } };

  before(async () => {
    ups = await startMockUpstreams(3, cleanups);
  });

  test('skips deployments that do not take it (gpt-4, as LiteLLM lists it); others serve, tiers notwithstanding', async () => {
    const proxy = await proxyFor(`model_list:${group(ups)}
router_settings:
  enable_pre_call_checks: true
`);
    assert.deepEqual(await ids(proxy.url, 'f', 4, format), Array(4).fill('gpt-4o'));
    assert.deepEqual((ups[1]!.requests[0]!.body as Record<string, unknown>).response_format, { type: 'json_object' });
    // Without response_format, the first tier (gpt-4) serves.
    assert.deepEqual(await ids(proxy.url, 'f', 2), ['gpt-4', 'gpt-4']);
  });

  test('litellm_settings.drop_params keeps them', async () => {
    const proxy = await proxyFor(`model_list:${group(ups)}
router_settings:
  enable_pre_call_checks: true
litellm_settings:
  drop_params: true
`);
    assert.deepEqual(await ids(proxy.url, 'f', 2, format), ['gpt-4', 'gpt-4']);
  });

  test('model_info.supported_openai_params decides when given; none left is a 429', async () => {
    const proxy = await proxyFor(`model_list:${deployment('h', ups[2]!, { model: 'openai/gpt-4o' })}
    model_info:
      id: listed
      supported_openai_params: [temperature, max_tokens]
router_settings:
  enable_pre_call_checks: true
`);
    ups[2]!.reset();
    const r = await chat(proxy.url, 'h', format);
    assert.equal(r.status, 429, r.text);
    assert.match((r.json as Envelope).error.message, /response_format/);
    assert.equal(ups[2]!.requests.length, 0);
    assert.equal((await chat(proxy.url, 'h')).status, 200);
  });

  test('the context window still decides first: all refused with one too small is a context-window error', async () => {
    const proxy = await proxyFor(`model_list:${deployment('c', ups[0]!, { model: 'openai/gpt-4', info: { max_input_tokens: 5 } })}${deployment('c', ups[1]!, { model: 'openai/gpt-4', info: { max_input_tokens: 100000 } })}
router_settings:
  enable_pre_call_checks: true
`);
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'c', messages: [{ role: 'user', content: 'a prompt well over five tokens long' }], ...format });
    assert.equal(r.status, 400);
    assert.match((r.json as Envelope).error.message, /ContextWindowExceededError/);
  });
});

test('a prompt holding a special-token marker is counted as text, not a 500', async () => {
  const [u] = await startMockUpstreams(1, cleanups);
  const proxy = await proxyFor(`model_list:${deployment('s', u!, { model: 'openai/gpt-4o', info: { max_input_tokens: 100000 } })}
router_settings:
  enable_pre_call_checks: true
`);
  const r = await post(`${proxy.url}/v1/chat/completions`, { model: 's', messages: [{ role: 'user', content: 'explain <|endoftext|> and <|im_start|>' }] });
  assert.equal(r.status, 200, r.text);
});
