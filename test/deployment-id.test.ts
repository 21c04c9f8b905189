import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deploymentId, PyFloat, pyFloatRepr, pyJsonDumps, pyRepr, pyStr } from '../src/config/deployment-id.js';

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

test('deploymentId: LiteLLM test vector', () => {
  assert.equal(
    deploymentId('gpt-4', { model: 'openai/gpt-4', api_key: 'sk-x' }),
    '3564a39c9e8b149e7c58516ca9bf514ae9e87339c214fbf09020a0b430e311e5',
  );
});

test('deploymentId: strings as is, dicts as json.dumps, the rest as str(), in insertion order', () => {
  // Expected string and hash printed by CPython 3 for the same dict.
  const params = {
    model: 'openai/x',
    tags: ['a', 'b'],
    temperature: 0.5,
    stream: true,
    extra_body: { k: 'v', n: 1, f: new PyFloat(30) },
    timeout: new PyFloat(30),
    seed: 7,
    stop: null,
  };
  const concat = `gmodelopenai/xtags['a', 'b']temperature0.5streamTrueextra_body{"k": "v", "n": 1, "f": 30.0}timeout30.0seed7stopNone`;
  assert.equal(sha256(concat), 'd1a62de5c9c2a6f5a54bd62c1d6d165907a021a9b5ccac3951a35d2e66cb6749');
  assert.equal(deploymentId('g', params), 'd1a62de5c9c2a6f5a54bd62c1d6d165907a021a9b5ccac3951a35d2e66cb6749');
});

test('deploymentId: key order matters, as in Python', () => {
  assert.notEqual(deploymentId('g', { a: '1', b: '2' }), deploymentId('g', { b: '2', a: '1' }));
});

test('deploymentId: the group name is part of the hash', () => {
  assert.notEqual(deploymentId('g1', { model: 'openai/x' }), deploymentId('g2', { model: 'openai/x' }));
});

// Expected values are CPython 3's repr() output.
const floatCases: readonly [number, string][] = [
  [0.5, '0.5'],
  [1e-5, '1e-05'],
  [300, '300.0'],
  [1e16, '1e+16'],
  [1e15, '1000000000000000.0'],
  [123456789.123, '123456789.123'],
  [0.0001, '0.0001'],
  [1.5e300, '1.5e+300'],
  [-2.5e-7, '-2.5e-07'],
  [12345678901234567, '1.2345678901234568e+16'],
  [0.1 + 0.2, '0.30000000000000004'],
  [0, '0.0'],
  [-0, '-0.0'],
  [Infinity, 'inf'],
  [NaN, 'nan'],
];
for (const [x, expected] of floatCases) {
  test(`pyFloatRepr(${x}) = ${expected}`, () => assert.equal(pyFloatRepr(x), expected));
}

const reprCases: readonly { name: string; value: unknown; str: string; json: string }[] = [
  { name: 'True', value: true, str: 'True', json: 'true' },
  { name: 'None', value: null, str: 'None', json: 'null' },
  { name: 'int', value: 42, str: '42', json: '42' },
  { name: 'marked float', value: new PyFloat(2), str: '2.0', json: '2.0' },
  { name: 'list of strings', value: ['a', 'b'], str: "['a', 'b']", json: '["a", "b"]' },
  { name: "string with '", value: ["it's"], str: `["it's"]`, json: `["it's"]` },
  { name: 'string with both quotes', value: [`a'b"c`], str: `['a\\'b"c']`, json: `["a'b\\"c"]` },
  { name: 'escapes', value: ['a\nb\\c\u0001'], str: "['a\\nb\\\\c\\x01']", json: '["a\\nb\\\\c\\u0001"]' },
  { name: 'non-ASCII', value: ['é😀'], str: "['é😀']", json: '["\\u00e9\\ud83d\\ude00"]' },
  { name: 'nested', value: [1, null, true, { x: 1e-5 }], str: "[1, None, True, {'x': 1e-05}]", json: '[1, null, true, {"x": 1e-05}]' },
];
for (const c of reprCases) {
  test(`Python str/json.dumps: ${c.name}`, () => {
    assert.equal(pyStr(c.value), c.str);
    assert.equal(pyJsonDumps(c.value), c.json);
  });
}

test('pyStr leaves top-level strings alone; pyRepr quotes them', () => {
  assert.equal(pyStr('x'), 'x');
  assert.equal(pyRepr('x'), "'x'");
});
