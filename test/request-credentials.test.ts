/**
 * A request's own credentials (LiteLLM's client-side credentials) through HTTP against
 * recording mock upstreams: the Authorization header and the host each upstream received say
 * which key went where. A body `api_key` makes a per-credential deployment with its own id and
 * cooldown; the configured deployment keeps its key and its state. A body `api_base` is taken
 * only where the config allows it, else a 400 before any upstream is called. The client's key
 * never comes back in a response or a log line.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadConfigText } from '../src/config/load.js';
import { startProxy, type RunningProxy } from '../src/index.js';
import { createLogger } from '../src/log.js';
import { startMockUpstreams, type MockUpstream } from './support/mock-upstream.js';
import { post } from './support/proxy.js';
import { deployment, TEST_API_KEY } from './support/deployments.js';

const msg = [{ role: 'user', content: 'hi' }];
const CLIENT_KEY = 'sk-client-own-key-0123456789';
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The proxy with its log lines kept, so a test can prove the client's key is not in them. */
async function start(yaml: string): Promise<{ proxy: RunningProxy; lines: string[] }> {
  const loaded = loadConfigText(yaml, 'test.yaml', {});
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  const lines: string[] = [];
  const proxy = await startProxy({ config: loaded.config, port: 0, workers: 0, log: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
  cleanups.push(() => proxy.close());
  return { proxy, lines };
}

function auth(u: MockUpstream): Array<string | undefined> {
  return u.requests.map((q) => q.headers.authorization);
}

function configuredId(proxy: RunningProxy, group: string): string {
  return proxy.router.snapshot().groups[group]!.deployments[0]!.id;
}

test('body api_key: the upstream gets the client key, not ours, under its own deployment id; the body no longer carries it', async () => {
  const [u] = await startMockUpstreams(1, cleanups);
  const { proxy } = await start(`model_list:${deployment('g', u!)}`);
  const own = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, api_key: CLIENT_KEY });
  assert.equal(own.status, 200, own.text);
  const plain = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(plain.status, 200, plain.text);
  assert.deepEqual(auth(u!), [`Bearer ${CLIENT_KEY}`, `Bearer ${TEST_API_KEY}`], 'the client key for its request, ours for the other');
  assert.equal((u!.requests[0]!.body as Record<string, unknown>).api_key, undefined, 'api_key is not forwarded in the body');
  const id = configuredId(proxy, 'g');
  assert.equal(plain.headers.get('x-litellm-model-id'), id);
  const credId = own.headers.get('x-litellm-model-id');
  assert.ok(credId !== null && credId !== id && /^[0-9a-f]{64}$/.test(credId), 'a per-credential id (a hash, not the key)');
  assert.ok(!own.text.includes(CLIENT_KEY) && ![...own.headers.values()].some((v) => v.includes(CLIENT_KEY)));
});

test('a 401 for the client key cools its per-credential deployment only: the configured one keeps serving; the key is never echoed or logged', async () => {
  const [u] = await startMockUpstreams(1, cleanups);
  // The upstream echoes the key it got, as some do in their 401 message.
  u!.setBehavior((req) => (req.headers.authorization === `Bearer ${CLIENT_KEY}`
    ? { kind: 'status', status: 401, body: { error: { message: `Incorrect API key provided: ${CLIENT_KEY}`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } }
    : { kind: 'ok' }));
  const { proxy, lines } = await start(`model_list:${deployment('g', u!)}`);
  const bad = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, api_key: CLIENT_KEY });
  assert.equal(bad.status, 401, bad.text);
  assert.ok(!bad.text.includes(CLIENT_KEY), `the key is cut from the error: ${bad.text}`);
  assert.match(bad.text, /Incorrect API key provided: \[redacted\]/);

  assert.equal(proxy.router.snapshot().groups.g!.deployments[0]!.cooldownUntil, 0, 'the configured deployment is not cooling');
  const ours = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg });
  assert.equal(ours.status, 200, ours.text);

  // The same key again: its deployment is cooling, so no upstream call.
  const before = u!.requests.length;
  const again = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, api_key: CLIENT_KEY });
  assert.equal(again.status, 429, again.text);
  assert.match(again.text, /No deployments available/);
  assert.equal(u!.requests.length, before);

  // Another key is another deployment: not cooling.
  const other = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, api_key: 'sk-client-other-key-9876' });
  assert.equal(other.status, 200, other.text);
  assert.equal(auth(u!).at(-1), 'Bearer sk-client-other-key-9876');

  assert.ok(lines.some((l) => /failed \(401\)/.test(l)), 'the failure was logged');
  assert.ok(lines.every((l) => !l.includes(CLIENT_KEY)), `no log line has the key:\n${lines.join('\n')}`);
  assert.equal(proxy.router.snapshot().inFlight, 0);
});

test('body api_base without the config allowing it: a 400 naming the settings, no upstream called, not retried, no fallback', async () => {
  const [u, elsewhere, fb] = await startMockUpstreams(3, cleanups);
  const { proxy } = await start(`model_list:${deployment('g', u!)}${deployment('backup', fb!)}
router_settings:
  num_retries: 3
  fallbacks: [{g: [backup]}]
`);
  for (const key of ['api_base', 'base_url']) {
    for (const withKey of [false, true]) {
      const body: Record<string, unknown> = { model: 'g', messages: msg, [key]: `${elsewhere!.url}/v1` };
      if (withKey) body.api_key = CLIENT_KEY; // a key of its own does not make the host acceptable
      const r = await post(`${proxy.url}/v1/chat/completions`, body);
      assert.equal(r.status, 400, r.text);
      const e = (r.json as { error: { message: string; param: string; type: string } }).error;
      assert.equal(e.param, key);
      assert.equal(e.type, 'invalid_request_error');
      assert.match(e.message, new RegExp(`${key} is not allowed in request body`));
      assert.match(e.message, /allow_client_side_credentials/);
      assert.match(e.message, /configurable_clientside_auth_params/);
      assert.ok(!r.text.includes(CLIENT_KEY));
    }
  }
  // Streams are refused the same way, as JSON.
  const s = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, stream: true, api_base: `${elsewhere!.url}/v1` });
  assert.equal(s.status, 400, s.text);
  assert.equal(u!.requests.length + elsewhere!.requests.length + fb!.requests.length, 0, 'nobody was called');
});

test('a malformed api_key or api_base is a 400 that never quotes the value', async () => {
  const [u] = await startMockUpstreams(1, cleanups);
  const { proxy } = await start(`model_list:${deployment('g', u!, { params: { configurable_clientside_auth_params: 'x' } })}`.replace('configurable_clientside_auth_params: "x"', 'configurable_clientside_auth_params: [api_base]'));
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ api_key: '' }, 'api_key'],
    [{ api_key: 42 }, 'api_key'],
    [{ api_base: 'ftp://files.example.test/v1' }, 'api_base'],
    [{ api_base: 'not a url' }, 'api_base'],
    [{ api_base: 'http://user:sk-secret-in-url@127.0.0.1:9/v1' }, 'api_base'],
    [{ api_base: 'http://127.0.0.1:9/a', base_url: 'http://127.0.0.1:9/b' }, 'api_base'],
  ];
  for (const [extra, param] of cases) {
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, ...extra });
    assert.equal(r.status, 400, `${JSON.stringify(extra)}: ${r.text}`);
    assert.equal((r.json as { error: { param: string } }).error.param, param);
    assert.ok(!r.text.includes('sk-secret-in-url'));
  }
  assert.equal(u!.requests.length, 0);
});

test('configurable_clientside_auth_params {api_base: regex}: a matching base is called with the client key; a base it matches only in part is refused', async () => {
  const [u, allowed, other] = await startMockUpstreams(3, cleanups);
  const pattern = `${allowed!.url.replace(/\./g, '\\\\.')}/v[0-9]+`;
  const { proxy } = await start(`model_list:
  - model_name: g
    litellm_params:
      model: openai/m
      api_base: "${u!.url}/v1"
      api_key: ${TEST_API_KEY}
      configurable_clientside_auth_params: [{api_base: "${pattern}"}]
`);
  const ok = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, api_base: `${allowed!.url}/v1`, api_key: CLIENT_KEY });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(allowed!.requests.length, 1);
  assert.equal(allowed!.requests[0]!.path, '/v1/chat/completions');
  assert.equal(allowed!.requests[0]!.headers.authorization, `Bearer ${CLIENT_KEY}`);
  assert.equal(allowed!.requests[0]!.headers.host, new URL(allowed!.url).host);
  assert.equal(ok.headers.get('x-litellm-model-api-base'), `${allowed!.url}/v1`);
  // LiteLLM's re.match would take this one (the pattern matches its start); the whole URL must match.
  const partial = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, api_base: `${allowed!.url}/v1.evil.test`, api_key: CLIENT_KEY });
  assert.equal(partial.status, 400, partial.text);
  const elsewhere = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, api_base: `${other!.url}/v1`, api_key: CLIENT_KEY });
  assert.equal(elsewhere.status, 400, elsewhere.text);
  // base_url is allowed only by name, as in LiteLLM (the {api_base: ...} items are for api_base).
  const viaBaseUrl = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, base_url: `${allowed!.url}/v1` });
  assert.equal(viaBaseUrl.status, 400, viaBaseUrl.text);
  assert.equal(other!.requests.length, 0);
  assert.equal(u!.requests.length, 0);
  assert.equal(allowed!.requests.length, 1);
});

test('general_settings.allow_client_side_credentials: any base, with the configured key when the client sends none; the configured host is untouched', async () => {
  const [u, theirs] = await startMockUpstreams(2, cleanups);
  const { proxy } = await start(`model_list:${deployment('g', u!)}
general_settings:
  allow_client_side_credentials: true
`);
  const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, base_url: `${theirs!.url}/v1` });
  assert.equal(r.status, 200, r.text);
  assert.equal(theirs!.requests.length, 1);
  assert.equal(theirs!.requests[0]!.headers.authorization, `Bearer ${TEST_API_KEY}`, 'the operator allowed the host, so the configured key goes, as in LiteLLM');
  assert.equal((theirs!.requests[0]!.body as Record<string, unknown>).base_url, undefined);
  assert.equal(u!.requests.length, 0);
  assert.notEqual(r.headers.get('x-litellm-model-id'), configuredId(proxy, 'g'));
});

test('Azure: the client key goes as api-key, and a configured Authorization extra header does not go with it', async () => {
  const [u] = await startMockUpstreams(1, cleanups);
  const { proxy } = await start(`model_list:
  - model_name: az
    litellm_params:
      model: azure/my-deployment
      api_base: "${u!.url}"
      api_version: "2024-10-21"
      extra_headers: {Authorization: "Bearer entra-token-0001", x-team: blue}
`);
  const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'az', messages: msg, api_key: CLIENT_KEY });
  assert.equal(r.status, 200, r.text);
  const q = u!.requests[0]!;
  assert.equal(q.path, '/openai/deployments/my-deployment/chat/completions');
  assert.equal(q.headers['api-key'], CLIENT_KEY);
  assert.equal(q.headers.authorization, undefined, 'the configured token does not travel with the client key');
  assert.equal(q.headers['x-team'], 'blue', 'other extra headers still go');
  assert.equal(q.headers.host, new URL(u!.url).host);
  const ours = await post(`${proxy.url}/v1/chat/completions`, { model: 'az', messages: msg });
  assert.equal(ours.status, 200, ours.text);
  assert.equal(u!.requests[1]!.headers.authorization, 'Bearer entra-token-0001');
  assert.equal(u!.requests[1]!.headers['api-key'], undefined);
});

test('a stream with the client key: the upstream gets it, the client gets the stream', async () => {
  const [u] = await startMockUpstreams(1, cleanups);
  const { proxy } = await start(`model_list:${deployment('g', u!)}`);
  const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'g', messages: msg, stream: true, api_key: CLIENT_KEY });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /data: \[DONE\]/);
  assert.deepEqual(auth(u!), [`Bearer ${CLIENT_KEY}`]);
});

test('a fallback group is checked on its own: a group that takes the base runs, one that does not is refused without a call', async () => {
  const [a, b, theirs] = await startMockUpstreams(3, cleanups);
  a!.setBehavior({ kind: 'status', status: 500 });
  const { proxy } = await start(`model_list:
  - model_name: primary
    litellm_params: {model: openai/m, api_base: "${a!.url}/v1", api_key: ${TEST_API_KEY}, configurable_clientside_auth_params: [api_base]}
${deployment('strict', b!).slice(1)}
router_settings:
  num_retries: 0
  fallbacks: [{primary: [strict]}]
`);
  // theirs answers 500 as primary's per-credential deployment; strict does not take the base.
  theirs!.setBehavior({ kind: 'status', status: 500 });
  const r = await post(`${proxy.url}/v1/chat/completions`, { model: 'primary', messages: msg, api_base: `${theirs!.url}/v1` });
  assert.equal(r.status, 500, r.text);
  assert.equal(theirs!.requests.length, 1, 'primary ran with the client base');
  assert.equal(b!.requests.length, 0, 'strict was never called');
  assert.equal(a!.requests.length, 0);
});

test('config: configurable_clientside_auth_params is read (no "not used" warning); a bad item or regex is a problem with its path', () => {
  const good = loadConfigText(`model_list:
  - model_name: g
    litellm_params:
      model: openai/m
      api_key: sk-x
      configurable_clientside_auth_params: [api_base, {api_base: "https://.*\\\\.example\\\\.com/v1"}]
`, 'test.yaml', {});
  assert.ok(good.ok);
  assert.deepEqual(good.config.deployments[0]!.clientsideAuth, { params: ['api_base'], apiBasePatterns: ['https://.*\\.example\\.com/v1'] });
  assert.ok(good.config.warnings.every((w) => !w.includes('configurable_clientside_auth_params')), good.config.warnings.join('\n'));

  const bad = loadConfigText(`model_list:
  - model_name: g
    litellm_params:
      model: openai/m
      api_key: sk-x
      configurable_clientside_auth_params: [{api_base: "(unclosed"}, 7, {api_base: "a", other: "b"}]
  - model_name: h
    litellm_params: {model: openai/m, api_key: sk-y, configurable_clientside_auth_params: api_base}
`, 'test.yaml', {});
  assert.ok(!bad.ok);
  const paths = bad.problems.map((p) => p.path);
  const base = 'model_list[0].litellm_params.configurable_clientside_auth_params';
  assert.deepEqual(paths, [`${base}[0].api_base`, `${base}[1]`, `${base}[2]`, 'model_list[1].litellm_params.configurable_clientside_auth_params']);
  assert.match(bad.problems[0]!.message, /not a valid regular expression/);
});
