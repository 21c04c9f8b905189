/**
 * The access line through its exported writer (`logAccess`) and the logger it writes to, in
 * both formats: exact text, quoting, absent fields, redaction of what the client sent, the
 * per-millisecond timestamp.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createLogger, type Logger } from '../src/log.js';
import { logAccess } from '../src/server/access-log.js';
import type { ResponseState } from '../src/server/response-state.js';
import type { Usage } from '../src/upstream/wire.js';

const START = 1000;

function state(over: Partial<ResponseState> = {}): ResponseState {
  return {
    aborted: false, finished: true, streaming: false, closeConnection: false,
    requestId: 'req-1', method: 'POST', url: '/v1/chat/completions', origin: '',
    startedAt: START, firstByteAt: 0, status: 200, logged: false,
    ctx: { log: null, cors: null as never },
    ...over,
  };
}

const routed = ['x-litellm-model-id', 'dep-1', 'x-litellm-model-api-base', 'https://up.example/v1', 'x-litellm-model-group', 'g', 'x-litellm-attempted-retries', '1', 'x-litellm-attempted-fallbacks', '0'];
const usage: Usage = { promptTokens: 12, completionTokens: 34, totalTokens: 46 };

/** Loggers of both formats into arrays; `performance.now()` fixed at `now`, the clock at `clock`. */
function setup(t: TestContext, secrets: readonly string[] = [], now = START + 2.5, clock = Date.UTC(2026, 11, 1, 16, 0, 0, 123)) {
  t.mock.method(performance, 'now', () => now);
  t.mock.timers.enable({ apis: ['Date'], now: clock });
  const human: string[] = [];
  const json: string[] = [];
  const h = createLogger({ level: 'info', json: false, write: (l) => human.push(l) });
  const j = createLogger({ level: 'info', json: true, write: (l) => json.push(l) });
  h.addSecrets(secrets);
  j.addSecrets(secrets);
  const both = (st: () => ResponseState, headers: readonly string[] | null, u: Usage | null = null): [string, string] => {
    logAccess(h, st(), headers, u);
    logAccess(j, st(), headers, u);
    return [human.at(-1)!, json.at(-1)!];
  };
  return { human, json, h, j, both, iso: new Date(clock).toISOString() };
}

test('a routed request: the exact human and JSON lines, every field in its place', (t) => {
  const { both, iso } = setup(t);
  const [h, j] = both(() => state({ firstByteAt: START + 0.25 }), routed, usage);
  assert.equal(h, `${iso} info  POST /v1/chat/completions 200 request_id=req-1 method=POST route=/v1/chat/completions status=200 model_group=g deployment_id=dep-1 attempted_retries=1 attempted_fallbacks=0 duration_ms=2.5 ttfb_ms=0.25 prompt_tokens=12 completion_tokens=34`);
  assert.equal(j, `{"level":"info","time":"${iso}","request_id":"req-1","method":"POST","route":"/v1/chat/completions","status":200,"model_group":"g","deployment_id":"dep-1","attempted_retries":1,"attempted_fallbacks":0,"duration_ms":2.5,"ttfb_ms":0.25,"prompt_tokens":12,"completion_tokens":34,"msg":"POST /v1/chat/completions 200"}`);
});

test('absent fields are left out: no router headers, no usage, no first byte; a client gone is 499 and client_closed', (t) => {
  const { both, iso } = setup(t);
  const [h, j] = both(() => state({ status: 0, aborted: true, method: 'GET', url: '/health' }), null);
  assert.equal(h, `${iso} info  GET /health 499 request_id=req-1 method=GET route=/health status=499 duration_ms=2.5 client_closed=true`);
  assert.equal(j, `{"level":"info","time":"${iso}","request_id":"req-1","method":"GET","route":"/health","status":499,"duration_ms":2.5,"client_closed":true,"msg":"GET /health 499"}`);
  const [h2] = both(() => state({ method: '' }), ['x-litellm-model-group', '', 'x-litellm-model-id', 'd'], usage);
  assert.equal(h2, `${iso} info   /v1/chat/completions 200 request_id=req-1 route=/v1/chat/completions status=200 deployment_id=d duration_ms=2.5 prompt_tokens=12 completion_tokens=34`, 'empty strings are absent');
});

test('odd values: the human line quotes as any line\'s fields are quoted, the JSON line is what pino writes for them', (t) => {
  const { both, h: human, j: pino, human: lines, json: jsonLines } = setup(t);
  const odd = ['/v1/a b', '/v1/q"uote', '/v1/k=v', '/v1/t\tab', '/v1/nb\u00a0sp', '/v1/ls\u2028', '/v1/back\\slash', '/v1/é', '/v1/ctl\x01', '/v1/lone\ud800', `/v1/${'x'.repeat(100)}`, `/v1/${'"'.repeat(120)}\udc00`];
  for (const url of odd) {
    const group = `grp ${url}`;
    const [h, j] = both(() => state({ url, requestId: `id="${url}"` }), ['x-litellm-model-group', group, 'x-litellm-model-id', `dep=${url}`], usage);
    // The generic formatter (human) and pino itself (JSON) over the JSON line's own fields
    // write the reference text.
    const o = JSON.parse(j) as Record<string, string | number>;
    const { level: _l, time: _t, msg, ...fields } = o;
    human.info(msg as string, fields);
    assert.equal(h, lines.at(-1), url);
    pino.info(msg as string, fields);
    assert.equal(j, jsonLines.at(-1), url);
    assert.equal(o.route, url);
    assert.equal(o.model_group, group);
  }
  const [h, j] = both(() => state({ url: '/v1/a b', requestId: 'a"b' }), null);
  assert.match(h, / request_id="a\\"b" method=POST route="\/v1\/a b" status=200 /);
  assert.match(j, /"request_id":"a\\"b","method":"POST","route":"\/v1\/a b","status":200,/);
});

test('numbers pino writes as null (not finite) and a null token count are written as pino writes them', (t) => {
  const { both, iso } = setup(t);
  const [h, j] = both(() => state(), ['x-litellm-attempted-retries', 'x'], { promptTokens: null as unknown as number, completionTokens: 3, totalTokens: 3 });
  assert.equal(h, `${iso} info  POST /v1/chat/completions 200 request_id=req-1 method=POST route=/v1/chat/completions status=200 attempted_retries=NaN duration_ms=2.5 completion_tokens=3`);
  assert.equal(j, `{"level":"info","time":"${iso}","request_id":"req-1","method":"POST","route":"/v1/chat/completions","status":200,"attempted_retries":null,"duration_ms":2.5,"prompt_tokens":null,"completion_tokens":3,"msg":"POST /v1/chat/completions 200"}`);
});

test('a secret the client puts in the URL is redacted in both formats, as written, percent-encoded and already JSON-escaped', (t) => {
  // The quote makes the human line quote the route: the JSON-escaped form is what is cut there.
  const secret = 'sk-url-secret/"é-0001"';
  const { both } = setup(t, [secret]);
  for (const url of [`/v1/chat/completions?key=${secret}`, `/v1/x?key=${encodeURIComponent(secret)}`, `/v1/x?a=1&key=${secret}&b=2`, `/v1/x?key=${JSON.stringify(secret).slice(1, -1)}`]) {
    const [h, j] = both(() => state({ url, requestId: secret }), ['x-litellm-model-group', secret, 'x-litellm-model-id', `id ${secret}`], null);
    for (const line of [h, j]) {
      assert.ok(!line.includes('sk-url-secret'), line);
      assert.match(line, /\[redacted\]/);
    }
  }
});

test('info disabled: no access line, in either format', (t) => {
  setup(t);
  const lines: string[] = [];
  for (const json of [false, true]) {
    const log: Logger = createLogger({ level: 'warn', json, write: (l) => lines.push(l) });
    assert.equal(log.infoText, null);
    assert.equal(log.infoJson, null);
    logAccess(log, state(), routed, usage);
  }
  assert.deepEqual(lines, []);
});

test('one line per request: a second logAccess of the same state writes nothing', (t) => {
  const { h, human } = setup(t);
  const st = state();
  logAccess(h, st, null);
  logAccess(h, st, routed);
  assert.equal(human.length, 1);
});

test('the timestamp is the clock\'s millisecond, every line: formatted once per millisecond, never stale', (t) => {
  const { h, j, human, json } = setup(t);
  const seen: string[] = [];
  for (let i = 0; i < 5; i++) {
    const expected = new Date().toISOString();
    logAccess(h, state(), null);
    logAccess(j, state(), null);
    h.warn('other line');
    assert.equal(human.at(-2)!.slice(0, 25), `${expected} `);
    assert.equal(human.at(-1)!, `${expected} warn  other line`);
    assert.equal((JSON.parse(json.at(-1)!) as { time: string }).time, expected);
    seen.push(expected);
    t.mock.timers.tick(i % 2 === 0 ? 1 : 1000);
  }
  assert.equal(new Set(seen).size, 5);
});
