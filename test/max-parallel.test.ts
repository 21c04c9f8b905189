import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveMaxParallel } from '../src/config/max-parallel.js';
import { load } from './support/config.js';

test('max_parallel: LiteLLM order — explicit, rpm, tpm/1000*6 (at least 1), router default, none', () => {
  assert.equal(effectiveMaxParallel(3, 100, 100000, 8), 3);
  assert.equal(effectiveMaxParallel(null, 2, 100000, 8), 2);
  assert.equal(effectiveMaxParallel(null, null, 100000, 8), 600);
  assert.equal(effectiveMaxParallel(null, null, 400, 8), 2);
  assert.equal(effectiveMaxParallel(null, null, 100, 8), 1);
  assert.equal(effectiveMaxParallel(null, null, null, 8), 8);
  assert.equal(effectiveMaxParallel(null, null, null, null), null);
});

test('max_parallel: the loader stores the derived value where the router reads it', () => {
  const cfg = load(`
    model_list:
      - model_name: a
        litellm_params: {model: openai/a, rpm: 2}
      - model_name: b
        litellm_params: {model: openai/b, tpm: 2000}
      - model_name: c
        litellm_params: {model: openai/c, rpm: 5, max_parallel_requests: 1}
      - model_name: d
        litellm_params: {model: openai/d}
      - model_name: e
        rpm: 7
        litellm_params: {model: openai/e}
    router_settings:
      default_max_parallel_requests: 4
  `);
  assert.deepEqual(cfg.deployments.map((d) => [d.group, d.maxParallelRequests]), [['a', 2], ['b', 12], ['c', 1], ['d', 4], ['e', 7]]);
  assert.equal(load('model_list:\n  - model_name: x\n    litellm_params: {model: openai/x}\n').deployments[0]?.maxParallelRequests, null);
});
