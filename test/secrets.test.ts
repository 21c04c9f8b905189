/**
 * The secrets module (what a secret is, value-based redaction), the logger that uses it, and
 * `api_base` user-info: cut from every shown URL, sent as `Authorization: Basic`, refused
 * where another Authorization would compete with it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../src/log.js';
import { buildTarget, splitApiBase } from '../src/providers/index.js';
import { isSecretName, REDACTED, Secrets, urlSecrets, urlWithoutCredentials } from '../src/secrets.js';
import { failureStatus, SseRestamper } from '../src/upstream/sse.js';
import { load, problems } from './support/config.js';

// --- what a secret is ------------------------------------------------------------------

test('isSecretName: key-like names and header maps are secret; token counts and prices are not', () => {
  for (const n of ['api_key', 'redis_password', 'client_secret', 'azure_ad_token', 'vertex_credentials', 'custom_auth', 'X-Api-Key', 'extra_headers', 'headers', 'OPENAI_API_KEY']) {
    assert.ok(isSecretName(n), n);
  }
  for (const n of ['max_tokens', 'input_cost_per_token', 'max_completion_tokens', 'model', 'api_base', 'rpm', 'token_count']) {
    assert.ok(!isSecretName(n), n);
  }
  assert.ok(isSecretName('access_token_count_key'), 'a name still key-like once the count is removed');
});

test('the loader collects by the same rule: every extra header value, key-like names in any section', () => {
  const cfg = load(`
    model_list:
      - model_name: x
        litellm_params:
          model: openai/x
          extra_headers: {X-Trace: trace-value-0001, X-Count: 3}
          custom_auth_header: auth-value-0002
    litellm_settings:
      some_token: token-value-0003
      max_tokens: "256"
    environment_variables:
      MY_AUTH_THING: env-auth-0004
  `);
  for (const s of ['trace-value-0001', 'auth-value-0002', 'token-value-0003', 'env-auth-0004']) assert.ok(cfg.secrets.includes(s), s);
  assert.ok(!cfg.secrets.includes('3') && !cfg.secrets.includes('256'), 'numbers are not secrets');
});

// --- redaction ---------------------------------------------------------------------------

test('redact: every occurrence, longest secret first, in encoded and escaped forms', () => {
  const s = new Secrets(['sk-abc-0001-long', 'sk-abc-0001', 'p/w "q" é-0002']);
  assert.equal(s.redact('a sk-abc-0001-long b sk-abc-0001 c'), `a ${REDACTED} b ${REDACTED} c`);
  assert.equal(s.redact('x=p%2Fw%20%22q%22%20%C3%A9-0002'), `x=${REDACTED}`, 'percent-encoded');
  assert.equal(s.redact('{"k":"p/w \\"q\\" é-0002"}'), `{"k":"${REDACTED}"}`, 'JSON-escaped');
  // A JSON line quoting text that held the escaped form: escaped twice.
  assert.equal(s.redact(JSON.stringify({ k: 'p/w \\"q\\" é-0002' })), `{"k":"${REDACTED}"}`, 'JSON-escaped twice');
  assert.equal(s.redact('nothing here'), 'nothing here');
});

test('redact: a header value\'s credential alone is a secret too (Bearer / Basic)', () => {
  const s = new Secrets(['Bearer hdr-token-0003']);
  assert.equal(s.redact('got Bearer hdr-token-0003 and hdr-token-0003'), `got ${REDACTED} and ${REDACTED}`);
});

test('redact: short secrets only as whole words, shorter than 4 never; whole values still known', () => {
  const s = new Secrets(['pw12', 'ab']);
  assert.equal(s.redact('pw12'), REDACTED);
  assert.equal(s.redact('user:pw12@host'), `user:${REDACTED}@host`);
  assert.equal(s.redact('pw123 xpw12'), 'pw123 xpw12', 'inside a word it is an ordinary word');
  assert.equal(s.redact('ab cab'), 'ab cab');
  assert.ok(s.has('ab'));
});

test('Secrets.of: one redactor per secrets list', () => {
  const list = Object.freeze(['sk-cached-0004']);
  assert.equal(Secrets.of(list), Secrets.of(list));
});

test('the logger redacts with the same rule', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
  log.warn('before sk-log-secret-0005');
  log.addSecrets(['sk-log-secret-0005', 'Bearer hdr-log-0006']);
  log.error('upstream said: authorization: Bearer sk-log-secret-0005; x: hdr-log-0006; enc sk-log-secret-0005');
  log.debug('ok');
  assert.match(lines[0]!, /before sk-log-secret-0005/, 'only known secrets are cut');
  assert.ok(!lines[1]!.includes('sk-log-secret-0005') && !lines[1]!.includes('hdr-log-0006'), lines[1]);
  assert.match(lines[1]!, /\[redacted\]/);
  assert.equal(lines.length, 3);
});

// --- URLs ------------------------------------------------------------------------------

test('urlWithoutCredentials / urlSecrets: user-info and key-like query values', () => {
  const url = 'https://us%40er:p%2Fw-0007@h.example/v1?api-key=qk-0008&sig=sg-0009&x=1';
  assert.equal(urlWithoutCredentials(url), 'https://h.example/v1?x=1');
  const found = urlSecrets(url);
  for (const s of ['p%2Fw-0007', 'p/w-0007', 'us@er:p/w-0007', Buffer.from('us@er:p/w-0007').toString('base64'), 'qk-0008', 'sg-0009']) {
    assert.ok(found.includes(s), s);
  }
  // Beside a password the user name is an account name, not a credential; alone it is one.
  assert.ok(!found.includes('us@er') && !found.includes('us%40er'));
  assert.ok(urlSecrets('https://tok-0010@h.example/v1').includes('tok-0010'));
  assert.equal(urlWithoutCredentials('http://h/v1'), 'http://h/v1');
});

test('splitApiBase: the URL to call keeps everything but the user-info; the parts are decoded', () => {
  const s = splitApiBase('http://us%40er:p%2Fw@h.example:8000/v1?x=1');
  assert.deepEqual(s, {
    base: 'http://h.example:8000/v1?x=1',
    user: 'us@er',
    password: 'p/w',
    authorization: `Basic ${Buffer.from('us@er:p/w').toString('base64')}`,
  });
  assert.equal(splitApiBase('http://h.example/v1/a@b'), null, 'an @ in the path is not user-info');
  assert.equal(splitApiBase('http://token@h/v1')?.password, '', 'a user name alone');
});

// --- api_base user-info in the config ---------------------------------------------------

test('api_base user-info: cut from apiBase, sent as Basic, the password and token secrets', () => {
  const cfg = load(`
    model_list:
      - model_name: v
        litellm_params: {model: hosted_vllm/llama, api_base: "http://bob-0010:pw-ui-0011@vllm:8000/v1"}
  `);
  const d = cfg.deployments[0]!;
  const token = Buffer.from('bob-0010:pw-ui-0011').toString('base64');
  assert.equal(d.apiBase, 'http://vllm:8000/v1');
  assert.equal(d.basicAuth, `Basic ${token}`);
  for (const s of ['pw-ui-0011', token, `Basic ${token}`]) assert.ok(cfg.secrets.includes(s), s);
  assert.ok(!cfg.secrets.includes('bob-0010'), 'the account name beside a password is not a secret');
  const t = buildTarget({ family: 'openai-compatible', upstreamModel: 'llama', apiBase: d.apiBase!, apiKey: d.apiKey, apiVersion: null, extraHeaders: d.extraHeaders, basicAuth: d.basicAuth }, 'chat');
  assert.equal(t.url, 'http://vllm:8000/v1/chat/completions');
  assert.deepEqual(t.headers, ['content-type', 'application/json', 'authorization', `Basic ${token}`]);
});

test('api_base user-info with api_key (Bearer) or an Authorization extra header is refused, naming no value', () => {
  const a = problems(`
    model_list:
      - model_name: v
        litellm_params: {model: openai/x, api_base: "http://u:pw-ui-0012@h/v1", api_key: sk-ui-0013}
  `);
  assert.equal(a.length, 1);
  assert.match(a[0]!.path, /model_list\[0\]\.litellm_params\.api_base/);
  assert.match(a[0]!.message, /Authorization: Basic.*api_key.*Bearer/);
  const b = problems(`
    model_list:
      - model_name: v
        litellm_params: {model: openai/x, api_base: "http://u:pw-ui-0012@h/v1", extra_headers: {authorization: "Bearer x-0014"}}
  `);
  assert.match(b[0]!.message, /extra_headers sets Authorization/);
  for (const p of [...a, ...b]) for (const s of ['pw-ui-0012', 'sk-ui-0013', 'x-0014']) assert.ok(!p.message.includes(s), p.message);
});

test('api_base user-info: Azure keeps its api-key beside Basic; a key from the environment gives way', () => {
  const cfg = load(`
    model_list:
      - model_name: az
        litellm_params: {model: azure/dep, api_base: "https://u:pw-ui-0015@az.example", api_key: az-ui-0016}
      - model_name: oa
        litellm_params: {model: openai/x, api_base: "https://u:pw-ui-0017@oa.example/v1"}
  `, { OPENAI_API_KEY: 'sk-env-ui-0018' });
  const [az, oa] = cfg.deployments;
  assert.equal(az!.apiKey, 'az-ui-0016');
  assert.equal(az!.apiBase, 'https://az.example');
  const t = buildTarget({ family: 'azure', upstreamModel: 'dep', apiBase: az!.apiBase!, apiKey: az!.apiKey, apiVersion: az!.apiVersion, extraHeaders: {}, basicAuth: az!.basicAuth }, 'chat');
  assert.deepEqual(t.headers.slice(2), ['api-key', 'az-ui-0016', 'authorization', az!.basicAuth]);
  assert.equal(oa!.apiKey, null, 'OPENAI_API_KEY is not sent: the URL names the credentials');
  assert.match(oa!.basicAuth ?? '', /^Basic /);
});

test('api_base user-info from an environment variable, and on a mock deployment', () => {
  const cfg = load(`
    model_list:
      - model_name: e
        litellm_params: {model: openai/x}
      - model_name: m
        litellm_params: {model: openai/x, api_base: "http://u:pw-ui-0019@mock.example/v1", mock_response: hi}
  `, { OPENAI_API_BASE: 'http://u:pw-ui-0020@env.example/v1' });
  const [e, m] = cfg.deployments;
  assert.equal(e!.apiBase, 'http://env.example/v1');
  assert.ok(cfg.secrets.includes('pw-ui-0020'));
  assert.equal(m!.apiBase, 'http://mock.example/v1', 'x-litellm-model-api-base shows no user-info');
  assert.ok(cfg.secrets.includes('pw-ui-0019'));
});

test('a refused api_base with user-info is described without its password', () => {
  const ps = problems(`
    model_list:
      - model_name: v
        litellm_params: {model: openai/x, api_base: "ftp://u:pw-ui-0021@h/v1"}
      - model_name: w
        litellm_params: {model: openai/x, api_base: "ftp://a-long-user-name-0022:a-long-password-0023-that-the-message-would-cut@h/v1"}
  `);
  assert.equal(ps.filter((p) => /api_base/.test(p.path)).length, 2);
  assert.match(ps[0]!.message, /got "ftp:\/\/h\/v1"/);
  for (const p of ps) for (const s of ['pw-ui-0021', 'a-long-user', 'a-long-password']) assert.ok(!p.message.includes(s), p.message);
});

// --- stream error events -----------------------------------------------------------------

test('SseRestamper: an error event is withheld and ends the relay; events before it pass', () => {
  const chunk = 'data: {"model":"up","choices":[]}\n\n';
  const s = new SseRestamper('asked');
  const out = s.push(`${chunk}data: {"error":{"message":"boom sk-x","code":429}}\n\ndata: {"model":"up"}\n\n`);
  assert.equal(out, 'data: {"model":"asked","choices":[]}\n\n');
  assert.equal(s.failure, '{"error":{"message":"boom sk-x","code":429}}');
  assert.equal(failureStatus(s.failure!), 429);
  const e = new SseRestamper('asked');
  assert.equal(e.push('event: error\ndata: {"error":{"message":"m"}}\n\n'), '');
  assert.equal(e.failure, '{"error":{"message":"m"}}');
  assert.equal(failureStatus(e.failure!), 500);
  const ok = new SseRestamper('asked');
  ok.push('data: {"model":"up","error":null}\n\nevent: ping\ndata: {}\n\n');
  assert.equal(ok.failure, null, '`"error": null` and other events are no failure');
});
