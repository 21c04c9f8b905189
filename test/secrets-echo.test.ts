/**
 * No configured secret leaves the process, whatever an upstream sends back. The upstream here
 * echoes every request header it received (keys included) in its error bodies, in several
 * shapes, and in a mid-stream error event; every response path is driven through HTTP and
 * every response status line, header, body and log line is searched for every secret.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { loadConfigText } from '../src/config/load.js';
import { startProxy, type RunningProxy } from '../src/index.js';
import { createLogger } from '../src/log.js';
import { dispatchModes, http, post, type RawResponse } from './support/proxy.js';

const KEY_LITERAL = 'sk-echo-literal-key-0001';
const HEADER_VALUE = 'hdr-echo-secret-0002';
const KEY_ENV = 'sk-echo-env-key-0003';
const USER = 'alice-echo-0004';
/** Its Basic token holds a `/`, which the `json` echo escapes as `\/`. */
const PASSWORD = 'pw-echo-secret/0000?';
const AZURE_KEY = 'az-echo-key-0006-secret';
const MASTER_KEY = 'sk-master-echo-0007';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const SECRETS = [KEY_LITERAL, HEADER_VALUE, KEY_ENV, PASSWORD, encodeURIComponent(PASSWORD), AZURE_KEY, MASTER_KEY, BASIC];

interface EchoUpstream {
  url: string;
  /** Headers of every request received, to prove the secrets were really sent (and so echoed). */
  seen: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/**
 * Answers by the upstream model name: `env` an OpenAI envelope, `text` plain text, `json` a
 * non-envelope JSON dump with escaped slashes, `mid` (streaming) one content chunk then a
 * `data: {"error": ...}` event, `event` (streaming) an `event: error` event, `ok` a plain
 * success. Every error carries the full header dump.
 */
async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(req.headers);
      let body: { model?: string; stream?: boolean } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch { /* echo anyway */ }
      const dump = `${req.method} ${req.url}\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`).join('\n')}`;
      const mode = String(body.model ?? '').split('-')[1] ?? 'env';
      if (body.stream === true && (mode === 'mid' || mode === 'event')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: { content: 'partial' }, finish_reason: null }] })}\n\n`);
        const error = { error: { message: `upstream broke; your request was:\n${dump}`, type: 'server_error', code: 503 } };
        res.end(mode === 'mid' ? `data: ${JSON.stringify(error)}\n\n` : `event: error\ndata: ${JSON.stringify(error)}\n\n`);
        return;
      }
      if (mode === 'ok') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
      } else if (mode === 'text') {
        res.writeHead(502, { 'content-type': 'text/plain', 'x-echo': 'yes' });
        res.end(`Bad gateway. Request was:\n${dump}`);
      } else if (mode === 'json') {
        res.writeHead(500, { 'content-type': 'application/json' });
        // PHP-style escaped slashes: the password's `/` arrives as `\/`.
        res.end(JSON.stringify({ received: req.headers, url: req.url }).replace(/\//g, '\\/'));
      } else {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `echo: ${dump}`, type: `t ${KEY_LITERAL}`, param: dump, code: `c ${KEY_ENV}` } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function config(up: EchoUpstream): string {
  const host = up.url.slice('http://'.length);
  const basicBase = `http://${USER}:${encodeURIComponent(PASSWORD)}@${host}/v1`;
  return `
model_list:
  - model_name: g-literal
    litellm_params: { model: openai/echo-env, api_base: "${up.url}/v1", api_key: ${KEY_LITERAL}, extra_headers: { X-Custom-Auth: ${HEADER_VALUE} } }
  - model_name: g-env
    litellm_params: { model: openai/echo-text, api_base: "${up.url}/v1", api_key: os.environ/ECHO_KEY }
  - model_name: g-basic
    litellm_params: { model: hosted_vllm/echo-json, api_base: "${basicBase}" }
  - model_name: g-azure
    litellm_params: { model: azure/echo-env, api_base: "${up.url}", api_key: ${AZURE_KEY}, api_version: "2024-10-21" }
  - model_name: g-mid
    litellm_params: { model: hosted_vllm/echo-mid, api_base: "${basicBase}", extra_headers: { X-Custom-Auth: ${HEADER_VALUE} } }
  - model_name: g-event
    litellm_params: { model: openai/echo-event, api_base: "${up.url}/v1", api_key: os.environ/ECHO_KEY }
  - model_name: g-ok
    litellm_params: { model: hosted_vllm/echo-ok, api_base: "${basicBase}" }
  - model_name: g-chain
    litellm_params: { model: openai/echo-env, api_base: "${up.url}/v1", api_key: ${KEY_LITERAL} }
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"g-chain": ["g-env", "g-basic", "g-azure"]}]
general_settings:
  master_key: ${MASTER_KEY}
`;
}

const auth = { authorization: `Bearer ${MASTER_KEY}` };

function assertClean(what: string, r: RawResponse): void {
  const headers = [...r.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
  for (const s of SECRETS) {
    assert.ok(!r.text.includes(s), `${what}: body holds ${s}:\n${r.text}`);
    assert.ok(!headers.includes(s), `${what}: headers hold ${s}:\n${headers}`);
  }
}

/** The echo reached the client (and was cut): the test would pass vacuously otherwise. */
function assertEchoed(what: string, r: RawResponse): void {
  assert.match(r.text, /\[redacted\]/, `${what}: expected an echoed, redacted secret in:\n${r.text}`);
}

const bodies = {
  chat: (model: string, stream = false) => ({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
  completions: (model: string) => ({ model, prompt: 'hi' }),
  embeddings: (model: string) => ({ model, input: 'hi' }),
};

for (const mode of dispatchModes) {
  describe(`secrets echoed by an upstream never leave the proxy (${mode.label})`, () => {
    let up: EchoUpstream;
    let proxy: RunningProxy;
    const lines: string[] = [];

    test('setup: the proxy starts and the config holds every secret', async () => {
      up = await startEchoUpstream();
      const loaded = loadConfigText(config(up), 'echo.yaml', { ECHO_KEY: KEY_ENV });
      assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
      for (const w of loaded.config.warnings) for (const s of SECRETS) assert.ok(!w.includes(s), w);
      proxy = await startProxy({ config: loaded.config, port: 0, workers: mode.workers, log: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
    });

    for (const endpoint of ['chat', 'completions', 'embeddings'] as const) {
      for (const group of ['g-literal', 'g-env', 'g-basic', 'g-azure']) {
        test(`non-stream ${endpoint} error from ${group}`, async () => {
          const r = await post(`${proxy.url}/v1/${endpoint === 'chat' ? 'chat/completions' : endpoint}`, bodies[endpoint](group), auth);
          assert.ok(r.status >= 500, `${r.status} ${r.text}`);
          assert.equal(typeof (r.json as { error?: { message?: unknown } }).error?.message, 'string');
          assertEchoed(group, r);
          assertClean(`${endpoint} ${group}`, r);
        });
      }
    }

    test('the combined "all attempts failed" message', async () => {
      const r = await post(`${proxy.url}/v1/chat/completions`, bodies.chat('g-chain'), auth);
      const message = (r.json as { error: { message: string } }).error.message;
      assert.match(message, /all 4 attempts failed/);
      assertEchoed('chain', r);
      assertClean('chain', r);
    });

    for (const group of ['g-literal', 'g-env', 'g-basic', 'g-azure']) {
      test(`stream error before the first byte from ${group}`, async () => {
        const r = await post(`${proxy.url}/v1/chat/completions`, bodies.chat(group, true), auth);
        assert.ok(r.status >= 500, `${r.status} ${r.text}`);
        assertEchoed(group, r);
        assertClean(`stream ${group}`, r);
      });
    }

    for (const group of ['g-mid', 'g-event']) {
      test(`mid-stream SSE error event from ${group}`, async () => {
        const r = await post(`${proxy.url}/v1/chat/completions`, bodies.chat(group, true), auth);
        assert.equal(r.status, 200);
        const events = r.text.split('\n\n').filter(Boolean);
        assert.match(events[0]!, /partial/, 'the chunk before the error is relayed');
        assert.match(events.at(-1)!, /^data: \{"error"/, r.text);
        assert.ok(!r.text.includes('[DONE]'));
        assertEchoed(group, r);
        assertClean(`mid-stream ${group}`, r);
      });
    }

    test('GET /health: unhealthy_endpoints[].error', async () => {
      const r = await http(`${proxy.url}/health`, { headers: auth });
      assert.equal(r.status, 200);
      const report = r.json as { unhealthy_count: number; unhealthy_endpoints: Array<{ error: string }> };
      assert.equal(report.unhealthy_count, 7);
      assert.equal((r.json as { healthy_count: number }).healthy_count, 1);
      assert.ok(report.unhealthy_endpoints.every((e) => /\[redacted\]/.test(e.error)), r.text);
      assertClean('/health', r);
    });

    test('/model/info and a success header show api_base without user-info', async () => {
      const r = await http(`${proxy.url}/model/info`, { headers: auth });
      assert.equal(r.status, 200);
      assert.match(r.text, new RegExp(`"api_base":"http://127\\.0\\.0\\.1:\\d+/v1"`));
      assertClean('/model/info', r);
      const ok = await post(`${proxy.url}/v1/chat/completions`, bodies.chat('g-ok'), auth);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.headers.get('x-litellm-model-api-base'), `${up.url}/v1`);
      assertClean('success', ok);
    });

    test('the upstream really received every secret it echoed', () => {
      const sent = JSON.stringify(up.seen);
      for (const s of [KEY_LITERAL, HEADER_VALUE, KEY_ENV, AZURE_KEY, BASIC]) assert.ok(sent.includes(s), `${s} was never sent upstream`);
      assert.ok(up.seen.some((h) => h.authorization === `Basic ${BASIC}`), 'api_base user-info is sent as Basic auth');
      assert.ok(up.seen.every((h) => h.authorization !== `Bearer ${MASTER_KEY}`), 'the master key is never forwarded');
    });

    test('log lines hold the failures, and no secret', async () => {
      await proxy.close();
      await up.close();
      assert.ok(lines.some((l) => /upstream g-literal\/\S+ failed \(500\)/.test(l)), lines.join('\n'));
      assert.ok(lines.some((l) => /\[redacted\]/.test(l)), lines.join('\n'));
      for (const l of lines) for (const s of SECRETS) assert.ok(!l.includes(s), `log line holds ${s}: ${l}`);
    });
  });
}
