/**
 * Response headers go to uWS as one block (src/server/header-block.ts): what reaches the wire
 * must be exactly one `name: value` line per header, and a value that could start a header of
 * its own (CR or LF in it) is dropped. The wire form is checked over a raw socket, for a
 * plain answer and for a stream's head.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { HeaderBlock } from '../src/server/header-block.js';
import type { HttpResponse } from '../src/server/uws.js';
import { startMockUpstream } from './support/mock-upstream.js';
import { deployment } from './support/deployments.js';
import { startTestProxy } from './support/proxy.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

// Started before any test is declared: the `after` hook must see them in `cleanups`.
const up = await startMockUpstream();
cleanups.push(() => up.close());
const proxy = await startTestProxy(`model_list:${deployment('g', up)}\n`, { workers: 0 });
cleanups.push(() => proxy.close());

/** The response head as sent, over a raw socket. */
async function rawHead(body: string): Promise<string[]> {
  const raw = await new Promise<string>((resolve, reject) => {
    const s = connect(proxy.port, '127.0.0.1', () => {
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nOrigin: https://app.example\r\nConnection: close\r\n\r\n${body}`);
    });
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
  return raw.slice(0, raw.indexOf('\r\n\r\n')).split('\r\n');
}

function headerNames(lines: string[]): string[] {
  assert.match(lines[0]!, /^HTTP\/1\.1 200 OK$/);
  const names = lines.slice(1).map((l) => {
    assert.match(l, /^[a-zA-Z0-9_-]+: [^\r\n]*$/, l);
    return l.slice(0, l.indexOf(':')).toLowerCase();
  });
  assert.equal(new Set(names).size, names.length, 'no header twice');
  return names;
}

for (const stream of [false, true]) {
  test(`a proxied ${stream ? 'stream' : 'answer'} has one well-formed line per header on the wire`, async () => {
    up.setBehavior(stream
      ? { kind: 'stream', chunks: 2, headers: { 'x-request-id': 'upstream-req-1', 'x-ratelimit-remaining-requests': '99' } }
      : { kind: 'ok', headers: { 'x-request-id': 'upstream-req-1', 'x-ratelimit-remaining-requests': '99' } });
    const names = headerNames(await rawHead(JSON.stringify({ model: 'g', messages: [{ role: 'user', content: 'hi' }], stream })));
    const expected = ['content-type', 'x-request-id', 'x-litellm-call-id', 'x-litellm-model-id', 'x-litellm-version', 'access-control-allow-origin', 'access-control-expose-headers', 'llm_provider-x-request-id', 'llm_provider-x-ratelimit-remaining-requests'];
    if (stream) expected.push('cache-control', 'x-accel-buffering');
    for (const h of expected) assert.ok(names.includes(h), `${h} missing from ${names.join(', ')}`);
  });
}

test('HeaderBlock: one writeHeader call, CRLF-joined; values with CR or LF are dropped', () => {
  const calls: Array<[string, string]> = [];
  const res = { writeHeader: (k: string, v: string) => calls.push([k, v]) } as unknown as HttpResponse;
  new HeaderBlock().writeHeader('a', '1').writeHeader('b', 'x\r\ninjected: yes').writeHeader('c', 'line\nbreak').writeHeader('d', '4').writeTo(res);
  assert.deepEqual(calls, [['a', '1\r\nd: 4']]);
  const none: Array<[string, string]> = [];
  new HeaderBlock().writeTo({ writeHeader: (k: string, v: string) => none.push([k, v]) } as unknown as HttpResponse);
  assert.deepEqual(none, []);
  assert.throws(() => new HeaderBlock().writeHeader('x', 42 as unknown as string), /x: the value must be a string, got number/);
});
