/**
 * The failure vocabulary (errors.ts `failures`): one row per wire code, and what the actor does
 * with each outcome. A worker that fails is not the deployment's fault; an upstream that
 * cannot be reached is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../src/config/load.js';
import { failures, type FailureCode } from '../src/errors.js';
import { DeploymentState } from '../src/router/deployment-state.js';
import { GroupActor } from '../src/router/group-actor.js';
import { createPicker } from '../src/router/strategies/index.js';
import type { Outcome } from '../src/router/types.js';

function actor(): GroupActor {
  const loaded = loadConfigText(`model_list:
  - model_name: g
    litellm_params: { model: openai/a, api_base: "http://127.0.0.1:9/v1", api_key: sk-a }
    model_info: { id: only }
`, 'test.yaml', {});
  if (!loaded.ok) throw new Error('config refused');
  const states = loaded.config.deployments.map((d) => new DeploymentState(d, null, { costPerToken: 0, defaultMaxParallel: null }));
  return new GroupActor('g', states, createPicker('simple-shuffle', {}), {
    maxQueue: 10,
    cooldown: { cooldownTimeMs: 5000, disabled: false, allowedFails: null, allowedFailsPolicy: null },
  });
}

function settleOne(a: GroupActor, outcome: Outcome, now: number): void {
  const lease = a.acquire({ now, random: () => 0, stream: false });
  assert.ok('deployment' in lease, 'a lease');
  lease.done(outcome, now);
}

test('every wire code has one row; only a client that left has no error for the client', () => {
  const codes = Object.keys(failures) as FailureCode[];
  assert.deepEqual(codes.sort(), ['UPSTREAM_ABORTED', 'UPSTREAM_CONNECT', 'UPSTREAM_PROTOCOL', 'UPSTREAM_TIMEOUT', 'WORKER_FAILED']);
  for (const c of codes) assert.equal(failures[c].error === null, c === 'UPSTREAM_ABORTED', c);
  assert.equal(failures.WORKER_FAILED.outcome, 'worker-failed', 'the worker failing is its own outcome, not client-aborted');
  assert.equal(failures.UPSTREAM_ABORTED.outcome, 'client-aborted');
});

test('a worker that fails never counts against the deployment; a connect error or a 401 does', () => {
  const now = 1_000_000;
  const a = actor();
  settleOne(a, { kind: 'worker-failed' }, now);
  settleOne(a, { kind: 'client-aborted' }, now);
  let d = a.snapshot().deployments[0]!;
  assert.equal(d.failures, 0);
  assert.equal(d.cooldownUntil, 0);
  assert.equal(a.inFlight(), 0, 'both leases returned');
  settleOne(a, { kind: 'connect-error', message: 'refused' }, now);
  assert.equal(a.snapshot().deployments[0]!.failures, 1, 'a connect error counts');
  settleOne(a, { kind: 'upstream-error', status: 401, retryAfterMs: null }, now);
  d = a.snapshot().deployments[0]!;
  assert.equal(d.failures, 2);
  assert.ok(d.cooldownUntil > now, 'a 401 cools even a lone deployment');
});
