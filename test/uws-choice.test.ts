/**
 * Which uWebSockets.js build runs: candidates tried in order, the first native one wins, a
 * pure-JS fallback is refused, and when nothing loads the message names the machine, every
 * attempt and what would work.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseUws, isNativeUws, type Machine, type UwsCandidate } from '../src/server/uws-choice.js';
import { uwsBuild } from '../src/server/uws.js';

const native = { App() {}, getParts() {}, us_listen_socket_close() {}, us_socket_local_port() {} };
const fallback = { App() {} };
const node22: Machine = { node: '22.12.0', abi: '127', platform: 'linux', arch: 'x64', glibc: '2.36' };

function candidate(name: string, load: () => unknown): UwsCandidate & { calls: number } {
  const c = { name, supports: `${name} works on X`, idleTimeoutS: 8, calls: 0, load: () => (c.calls++, load()) };
  return c;
}

test('the first candidate whose native binding loads wins; later ones are not tried', () => {
  const a = candidate('a', () => native);
  const b = candidate('b', () => native);
  const r = chooseUws([a, b], node22, '');
  assert.equal(r.ok, true);
  assert.equal(r.ok && r.name, 'a');
  assert.equal(r.ok && r.module, native);
  assert.equal(b.calls, 0);
});

test('a candidate that throws is skipped and the next one is used', () => {
  const a = candidate('old', () => {
    throw new Error('no binary for ABI 127');
  });
  const b = candidate('new', () => native);
  const r = chooseUws([a, b], node22, '');
  assert.equal(r.ok && r.name, 'new');
  assert.equal(a.calls, 1);
});

test('a pure-JS fallback is never accepted, even when it is the only thing that loads', () => {
  assert.equal(isNativeUws(fallback), false);
  assert.equal(isNativeUws(null), false);
  assert.equal(isNativeUws(native), true);
  const r = chooseUws([candidate('js', () => fallback)], node22, '');
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.message : '', /js: loaded, but it is not the native build/);
});

test('when nothing loads, the message names Node, ABI, glibc, each attempt with its cause, and what works', () => {
  const r = chooseUws(
    [
      candidate('truffle', () => {
        throw new Error('20.30 has no binary for ABI 127');
      }),
      candidate('btc', () => {
        throw new Error("This version supports only Node 20, 22, 24\n\nError: /lib/libc.so.6: version `GLIBC_2.38' not found (required by uws_linux_x64_127.node)");
      }),
    ],
    node22,
    'a hint',
  );
  assert.equal(r.ok, false);
  const m = r.ok ? '' : r.message;
  assert.match(m, /Node 22\.12\.0 \(ABI 127, linux-x64, glibc 2\.36\)/);
  assert.match(m, /- truffle: 20\.30 has no binary for ABI 127/);
  // The dlopen cause, not the loader's preamble, and without a doubled "Error:".
  assert.match(m, /- btc: \/lib\/libc\.so\.6: version `GLIBC_2\.38' not found/);
  assert.match(m, /truffle works on X/);
  assert.match(m, /btc works on X/);
  assert.match(m, /SWITCHYARD_UWS_PATH/);
  assert.match(m, /a hint$/);
});

test('a machine without glibc says so', () => {
  const r = chooseUws([], { ...node22, glibc: null }, '');
  assert.match(r.ok ? '' : r.message, /linux-x64, not glibc\)/);
});

test('on this machine a native build loaded, and it is named', () => {
  assert.equal(typeof uwsBuild, 'string');
  assert.match(uwsBuild ?? '', /uWebSockets\.js|uwebsockets/);
});
