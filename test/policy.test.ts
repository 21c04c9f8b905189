/**
 * Table-driven tests for router/policy.ts. Each case names the LiteLLM rule it holds us to
 * (router.py, router_utils/*, v1.81), or says "ours" where we deliberately differ.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allowedFailsFromPolicy, backoffMs, classifyFailure, contentFilterTriggersFallback, cooldownMs, DEFAULT_COOLDOWN_MS,
  effectiveRetries, fallbackTargets, isCooldownRequired, nextCooldownAfterProbeFailure, parseFallbacks,
  parseRequestFallbacks, parseRetryCount, resolveCooldownTime, resolveNumRetries, retriesFromPolicy, shouldRetry,
  type AllowedFailsPolicy, type CooldownInput, type ErrorClass, type FailureInput, type FallbackEntry, type FallbackMap,
  type FallbackMaps, type RetryPolicy, type ShouldRetryInput,
} from '../src/router/policy.js';

// --- classifyFailure ------------------------------------------------------------------------

const classifyCases: readonly { name: string; input: FailureInput; want: ErrorClass }[] = [
  { name: '400 → BadRequestError', input: { status: 400, kind: 'upstream-error' }, want: 'bad-request' },
  { name: '401 → AuthenticationError', input: { status: 401, kind: 'upstream-error' }, want: 'auth' },
  { name: '403 → PermissionDeniedError', input: { status: 403, kind: 'upstream-error' }, want: 'permission' },
  { name: '404 → NotFoundError', input: { status: 404, kind: 'upstream-error' }, want: 'not-found' },
  { name: '408 → Timeout', input: { status: 408, kind: 'upstream-error' }, want: 'timeout' },
  { name: '409 → other 4xx is BadRequestError', input: { status: 409, kind: 'upstream-error' }, want: 'bad-request' },
  { name: '413 → other 4xx is BadRequestError', input: { status: 413, kind: 'upstream-error' }, want: 'bad-request' },
  { name: '422 → UnprocessableEntityError', input: { status: 422, kind: 'upstream-error' }, want: 'unprocessable' },
  { name: '429 → RateLimitError', input: { status: 429, kind: 'upstream-error' }, want: 'rate-limit' },
  { name: '500 → InternalServerError', input: { status: 500, kind: 'upstream-error' }, want: 'server' },
  { name: '502 → BadGateway is a 5xx', input: { status: 502, kind: 'upstream-error' }, want: 'server' },
  { name: '503 → ServiceUnavailable is a 5xx', input: { status: 503, kind: 'upstream-error' }, want: 'server' },
  { name: '529 (overloaded) is a 5xx', input: { status: 529, kind: 'upstream-error' }, want: 'server' },
  { name: 'upstream error without a status is a server error', input: { status: null, kind: 'upstream-error' }, want: 'server' },
  { name: 'a 2xx/3xx reported as an error is a server error', input: { status: 302, kind: 'upstream-error' }, want: 'server' },
  { name: 'timeout kind → Timeout, whatever the status', input: { status: null, kind: 'timeout' }, want: 'timeout' },
  { name: 'connect-error → APIConnectionError', input: { status: null, kind: 'connect-error' }, want: 'connection' },
  { name: 'no-deployments → RouterRateLimitError', input: { status: 429, kind: 'no-deployments' }, want: 'no-deployments' },
  {
    name: 'OpenAI context_length_exceeded code on 400 → ContextWindowExceededError',
    input: { status: 400, kind: 'upstream-error', body: '{"error":{"message":"too long","code":"context_length_exceeded"}}' },
    want: 'context-window',
  },
  {
    name: '"maximum context length" wording → ContextWindowExceededError',
    input: { status: 400, kind: 'upstream-error', body: "This model's maximum context length is 8192 tokens." },
    want: 'context-window',
  },
  {
    name: 'a LiteLLM upstream saying ContextWindowExceededError → context window',
    input: { status: 400, kind: 'upstream-error', body: 'litellm.ContextWindowExceededError: ...' },
    want: 'context-window',
  },
  {
    name: 'context-window wording on a 500 (some servers) → context window',
    input: { status: 500, kind: 'upstream-error', body: 'maximum context length exceeded' },
    want: 'context-window',
  },
  {
    name: 'context-window wording on 413 → context window',
    input: { status: 413, kind: 'upstream-error', body: 'prompt is too long: 250000 tokens' },
    want: 'context-window',
  },
  {
    name: 'OpenAI content_policy_violation → ContentPolicyViolationError',
    input: { status: 400, kind: 'upstream-error', body: '{"error":{"code":"content_policy_violation"}}' },
    want: 'content-policy',
  },
  {
    name: 'Azure content_filter → ContentPolicyViolationError',
    input: { status: 400, kind: 'upstream-error', body: '{"error":{"code":"content_filter","innererror":{"code":"ResponsibleAIPolicyViolation"}}}' },
    want: 'content-policy',
  },
  {
    name: 'Azure "content management policy" wording → ContentPolicyViolationError',
    input: { status: 400, kind: 'upstream-error', body: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy." },
    want: 'content-policy',
  },
  {
    name: 'a LiteLLM upstream saying ContentPolicyViolationError → content policy',
    input: { status: 400, kind: 'upstream-error', body: 'litellm.ContentPolicyViolationError: blocked' },
    want: 'content-policy',
  },
  {
    name: 'a 429 body mentioning context length stays a rate limit (status decides)',
    input: { status: 429, kind: 'upstream-error', body: 'maximum context length' },
    want: 'rate-limit',
  },
  {
    name: 'a 401 body mentioning content_filter stays auth (status decides)',
    input: { status: 401, kind: 'upstream-error', body: 'content_filter' },
    want: 'auth',
  },
  {
    name: 'an ordinary 400 body stays a bad request',
    input: { status: 400, kind: 'upstream-error', body: '{"error":{"message":"Unrecognized request argument: foo"}}' },
    want: 'bad-request',
  },
  {
    name: 'only the start of a huge body is searched',
    input: { status: 400, kind: 'upstream-error', body: `${'x'.repeat(20_000)}context_length_exceeded` },
    want: 'bad-request',
  },
];

for (const c of classifyCases) {
  test(`classifyFailure: ${c.name}`, () => {
    assert.equal(classifyFailure(c.input), c.want);
  });
}

// --- retriesFromPolicy ----------------------------------------------------------------------

const fullPolicy: RetryPolicy = {
  BadRequestErrorRetries: 1,
  AuthenticationErrorRetries: 2,
  TimeoutErrorRetries: 3,
  RateLimitErrorRetries: 4,
  ContentPolicyViolationErrorRetries: 5,
  InternalServerErrorRetries: 6,
  NotFoundErrorRetries: 7,
};

const policyCases: readonly { name: string; cls: ErrorClass; policy: RetryPolicy | null; want: number | null }[] = [
  { name: 'no policy → null (num_retries applies)', cls: 'server', policy: null, want: null },
  { name: 'empty policy → null', cls: 'rate-limit', policy: {}, want: null },
  { name: 'AuthenticationError → AuthenticationErrorRetries', cls: 'auth', policy: fullPolicy, want: 2 },
  { name: 'Timeout → TimeoutErrorRetries', cls: 'timeout', policy: fullPolicy, want: 3 },
  { name: 'RateLimitError → RateLimitErrorRetries', cls: 'rate-limit', policy: fullPolicy, want: 4 },
  { name: 'ContentPolicyViolationError → ContentPolicyViolationErrorRetries (checked before BadRequest)', cls: 'content-policy', policy: fullPolicy, want: 5 },
  { name: 'ContentPolicyViolationError is a BadRequestError: falls back to BadRequestErrorRetries', cls: 'content-policy', policy: { BadRequestErrorRetries: 1 }, want: 1 },
  { name: 'ContextWindowExceededError is a BadRequestError → BadRequestErrorRetries', cls: 'context-window', policy: fullPolicy, want: 1 },
  { name: 'BadRequestError → BadRequestErrorRetries', cls: 'bad-request', policy: fullPolicy, want: 1 },
  { name: 'NotFoundError → NotFoundErrorRetries (newer LiteLLM)', cls: 'not-found', policy: fullPolicy, want: 7 },
  { name: 'ours: 5xx honours InternalServerErrorRetries (LiteLLM never reads it)', cls: 'server', policy: fullPolicy, want: 6 },
  { name: 'a zero entry is an entry: 0 retries', cls: 'rate-limit', policy: { RateLimitErrorRetries: 0 }, want: 0 },
  { name: 'PermissionDeniedError has no policy field', cls: 'permission', policy: fullPolicy, want: null },
  { name: 'UnprocessableEntityError has no policy field', cls: 'unprocessable', policy: fullPolicy, want: null },
  { name: 'APIConnectionError is not an InternalServerError', cls: 'connection', policy: fullPolicy, want: null },
  { name: 'router "no deployments" has no policy field', cls: 'no-deployments', policy: fullPolicy, want: null },
  { name: 'an unrelated entry does not apply', cls: 'timeout', policy: { RateLimitErrorRetries: 9 }, want: null },
];

for (const c of policyCases) {
  test(`retriesFromPolicy: ${c.name}`, () => {
    assert.equal(retriesFromPolicy(c.cls, c.policy), c.want);
  });
}

// --- shouldRetry ------------------------------------------------------------------------------

const base: ShouldRetryInput = {
  cls: 'server', groupSize: 3, healthy: 2, hasFallbacks: false, hasContextWindowFallbacks: false, hasContentPolicyFallbacks: false, policyRetries: null,
};

const retryCases: readonly { name: string; input: Partial<ShouldRetryInput>; want: boolean }[] = [
  { name: '5xx with healthy deployments → retry', input: {}, want: true },
  { name: '5xx on a single-deployment group that is still healthy → retry', input: { groupSize: 1, healthy: 1 }, want: true },
  { name: 'connection error → retry', input: { cls: 'connection' }, want: true },
  { name: 'timeout (408) → retry', input: { cls: 'timeout' }, want: true },
  { name: '429 with healthy deployments → retry', input: { cls: 'rate-limit' }, want: true },
  { name: '429, no healthy deployment, fallbacks exist → straight to fallbacks', input: { cls: 'rate-limit', healthy: 0, hasFallbacks: true }, want: false },
  { name: '429, no healthy deployment, no fallbacks → still no retry (0 healthy)', input: { cls: 'rate-limit', healthy: 0 }, want: false },
  { name: '400 is not retryable (_should_retry)', input: { cls: 'bad-request' }, want: false },
  { name: '404 NotFoundError → never retried', input: { cls: 'not-found' }, want: false },
  { name: '422 is not retryable (_should_retry)', input: { cls: 'unprocessable' }, want: false },
  { name: '401 with other deployments → retry', input: { cls: 'auth' }, want: true },
  { name: '401 on a single-deployment group → no retry', input: { cls: 'auth', groupSize: 1, healthy: 1 }, want: false },
  { name: '403 with other deployments → retry (as 401)', input: { cls: 'permission' }, want: true },
  { name: '403 on a single-deployment group → no retry', input: { cls: 'permission', groupSize: 1, healthy: 1 }, want: false },
  { name: '401, others exist but none healthy → no retry', input: { cls: 'auth', healthy: 0 }, want: false },
  { name: 'ContextWindowExceeded with context_window_fallbacks set → go to them', input: { cls: 'context-window', hasContextWindowFallbacks: true }, want: false },
  { name: 'ContextWindowExceeded without them is a 400 → not retried either', input: { cls: 'context-window' }, want: false },
  { name: 'ContentPolicyViolation with content_policy_fallbacks set → go to them', input: { cls: 'content-policy', hasContentPolicyFallbacks: true }, want: false },
  { name: 'ContentPolicyViolation without them is a 400 → not retried', input: { cls: 'content-policy' }, want: false },
  { name: 'no healthy deployment → no retry', input: { healthy: 0 }, want: false },
  { name: 'router "no deployments" error retried only while some are healthy', input: { cls: 'no-deployments', healthy: 1 }, want: true },
  { name: 'router "no deployments" error with none healthy → no retry', input: { cls: 'no-deployments', healthy: 0 }, want: false },
  { name: 'retry_policy entry skips the check: ContentPolicyViolationErrorRetries: 3 retries a 400', input: { cls: 'content-policy', policyRetries: 3 }, want: true },
  { name: 'retry_policy entry skips the check: BadRequestErrorRetries retries a 400', input: { cls: 'bad-request', policyRetries: 1, healthy: 0 }, want: true },
  { name: 'retry_policy entry skips the check: NotFoundErrorRetries retries a 404', input: { cls: 'not-found', policyRetries: 2 }, want: true },
  { name: 'retry_policy entry of 0 → no retry even for a 5xx', input: { policyRetries: 0 }, want: false },
];

for (const c of retryCases) {
  test(`shouldRetry: ${c.name}`, () => {
    assert.equal(shouldRetry({ ...base, ...c.input }), c.want);
  });
}

// --- backoffMs -------------------------------------------------------------------------------

const backoffCases: readonly { name: string; groupSize: number; healthy: number; retryAfterMs: number | null; attempt: number; random: number; minMs?: number; roundDone?: boolean; want: number }[] = [
  { name: 'another healthy deployment → retry at once', groupSize: 3, healthy: 1, retryAfterMs: 30_000, attempt: 2, random: 0.9, want: 0 },
  { name: 'two deployments, one healthy → at once', groupSize: 2, healthy: 1, retryAfterMs: null, attempt: 0, random: 0.5, want: 0 },
  { name: 'single deployment, no Retry-After → 500 ms · 2^0 + jitter', groupSize: 1, healthy: 1, retryAfterMs: null, attempt: 0, random: 0, want: 500 },
  { name: 'single deployment, attempt 1 → 1000 ms + jitter 750·0.5', groupSize: 1, healthy: 1, retryAfterMs: null, attempt: 1, random: 0.5, want: 1375 },
  { name: 'attempt 3 → 4000 ms', groupSize: 1, healthy: 1, retryAfterMs: null, attempt: 3, random: 0, want: 4000 },
  { name: 'exponential capped at MAX_RETRY_DELAY 8 s (+ jitter)', groupSize: 1, healthy: 1, retryAfterMs: null, attempt: 10, random: 1, want: 8750 },
  { name: 'Retry-After 0 < v ≤ 60 s is waited out as given, plus jitter', groupSize: 1, healthy: 1, retryAfterMs: 20_000, attempt: 0, random: 0.5, want: 20_375 },
  { name: 'Retry-After exactly 60 s is honoured', groupSize: 1, healthy: 1, retryAfterMs: 60_000, attempt: 0, random: 0, want: 60_000 },
  { name: 'ours: Retry-After > 60 s raises the wait to the 8 s cap', groupSize: 1, healthy: 1, retryAfterMs: 90_000, attempt: 0, random: 0, want: 8000 },
  { name: 'Retry-After 0 is ignored → exponential', groupSize: 1, healthy: 1, retryAfterMs: 0, attempt: 1, random: 0, want: 1000 },
  { name: 'no healthy deployment in a bigger group → backoff applies', groupSize: 4, healthy: 0, retryAfterMs: null, attempt: 2, random: 0, want: 2000 },
  { name: 'router retry_after is the least exponential wait (min_timeout)', groupSize: 1, healthy: 1, retryAfterMs: null, attempt: 0, random: 0, minMs: 3000, want: 3000 },
  { name: 'router retry_after is still capped at 8 s', groupSize: 1, healthy: 1, retryAfterMs: null, attempt: 0, random: 0, minMs: 20_000, want: 8000 },
  { name: 'negative attempt counts as 0', groupSize: 1, healthy: 1, retryAfterMs: null, attempt: -1, random: 0, want: 500 },
  { name: 'ours: every deployment tried (roundDone) → backoff although others are healthy', groupSize: 4, healthy: 4, retryAfterMs: null, attempt: 0, random: 0, roundDone: true, want: 500 },
  { name: 'ours: the second round waits twice as long', groupSize: 4, healthy: 4, retryAfterMs: null, attempt: 1, random: 0, roundDone: true, want: 1000 },
  { name: 'ours: a round done honours the Retry-After', groupSize: 2, healthy: 2, retryAfterMs: 3000, attempt: 0, random: 0, roundDone: true, want: 3000 },
];

for (const c of backoffCases) {
  test(`backoffMs: ${c.name}`, () => {
    const got = backoffMs({ groupSize: c.groupSize, healthy: c.healthy, retryAfterMs: c.retryAfterMs, attempt: c.attempt, random: () => c.random, ...(c.minMs !== undefined ? { minMs: c.minMs } : {}), ...(c.roundDone !== undefined ? { roundDone: c.roundDone } : {}) });
    assert.equal(got, c.want);
  });
}

test('backoffMs: jitter stays below 750 ms (JITTER 0.75 s)', () => {
  for (const r of [0, 0.25, 0.999999]) {
    const got = backoffMs({ groupSize: 1, healthy: 0, retryAfterMs: null, attempt: 0, random: () => r });
    assert.ok(got >= 500 && got < 1250, String(got));
  }
});

// --- num_retries ---------------------------------------------------------------------------------

const countCases: readonly { name: string; value: unknown; want: number | null }[] = [
  { name: 'an integer', value: 3, want: 3 },
  { name: 'zero', value: 0, want: 0 },
  { name: 'a header string (int())', value: '4', want: 4 },
  { name: 'a padded header string', value: ' 5 ', want: 5 },
  { name: 'Python int() accepts +', value: '+2', want: 2 },
  { name: 'Python int() accepts _ between digits', value: '1_0', want: 10 },
  { name: 'negative → not a count', value: -1, want: null },
  { name: 'a fraction → not a count', value: 1.5, want: null },
  { name: 'a fractional string → not a count', value: '1.5', want: null },
  { name: 'words → not a count', value: 'three', want: null },
  { name: 'empty string → not a count', value: '', want: null },
  { name: 'boolean → not a count', value: true, want: null },
  { name: 'a huge count is still a count (callers bound it)', value: 1e20, want: 1e20 },
  { name: 'a huge header count is still a count', value: '100000000000000000000', want: 1e20 },
  { name: 'Infinity → not a count', value: Number.POSITIVE_INFINITY, want: null },
  { name: 'absent', value: undefined, want: null },
];

for (const c of countCases) {
  test(`parseRetryCount: ${c.name}`, () => {
    assert.equal(parseRetryCount(c.value), c.want);
  });
}

const numRetriesCases: readonly { name: string; request: unknown; router: number | null; litellm: number | null; want: number }[] = [
  { name: 'nothing set → openai.DEFAULT_MAX_RETRIES (2)', request: undefined, router: null, litellm: null, want: 2 },
  { name: 'litellm_settings.num_retries when the router has none', request: undefined, router: null, litellm: 5, want: 5 },
  { name: 'router_settings.num_retries beats litellm_settings', request: undefined, router: 1, litellm: 5, want: 1 },
  { name: 'router num_retries: 0 is a value, not unset', request: undefined, router: 0, litellm: 5, want: 0 },
  { name: 'request body num_retries beats the router', request: 4, router: 1, litellm: 5, want: 4 },
  { name: 'request num_retries 0 disables retries', request: 0, router: 3, litellm: null, want: 0 },
  { name: 'x-litellm-num-retries header value (string)', request: '6', router: 1, litellm: null, want: 6 },
  { name: 'an unusable request value falls through to the router', request: 'lots', router: 1, litellm: null, want: 1 },
  { name: 'a negative request value falls through', request: -2, router: null, litellm: null, want: 2 },
];

for (const c of numRetriesCases) {
  test(`resolveNumRetries: ${c.name}`, () => {
    assert.equal(resolveNumRetries({ request: c.request, router: c.router, litellm: c.litellm }), c.want);
  });
}

const effectiveCases: readonly { name: string; base: number; deployment: number | null; policy: number | null; want: number }[] = [
  { name: 'neither override → the request/router value', base: 2, deployment: null, policy: null, want: 2 },
  { name: "the failing deployment's litellm_params.num_retries replaces it", base: 2, deployment: 5, policy: null, want: 5 },
  { name: 'deployment num_retries 0 → no retries on it', base: 2, deployment: 0, policy: null, want: 0 },
  { name: 'a retry policy entry beats the deployment value', base: 2, deployment: 5, policy: 1, want: 1 },
  { name: 'a retry policy entry beats the base', base: 2, deployment: null, policy: 0, want: 0 },
];

for (const c of effectiveCases) {
  test(`effectiveRetries: ${c.name}`, () => {
    assert.equal(effectiveRetries(c.base, c.deployment, c.policy), c.want);
  });
}

// --- parseFallbacks -----------------------------------------------------------------------------

function entries(map: FallbackMap): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of map) out[k] = v.map((e) => e.model);
  return out;
}

const parseOk: readonly { name: string; value: unknown; want: Record<string, string[]>; warnings?: number }[] = [
  { name: 'unset → empty', value: undefined, want: {} },
  { name: 'null → empty', value: null, want: {} },
  { name: 'empty list → empty', value: [], want: {} },
  { name: 'one group, two fallbacks, in order', value: [{ a: ['b', 'c'] }], want: { a: ['b', 'c'] } },
  { name: 'several groups and a "*" generic entry', value: [{ a: ['b'] }, { b: ['c'] }, { '*': ['d'] }], want: { a: ['b'], b: ['c'], '*': ['d'] } },
  { name: 'an empty target list is allowed (no fallback for that group)', value: [{ a: [] }], want: { a: [] } },
  { name: 'a group listed twice: the first exact entry wins (get_fallback_model_group breaks on it)', value: [{ a: ['b'] }, { a: ['c'] }], want: { a: ['b'] }, warnings: 1 },
  { name: '"*" listed twice: the last wins (generic_fallback_idx is overwritten)', value: [{ '*': ['b'] }, { '*': ['c'] }], want: { '*': ['c'] }, warnings: 1 },
  { name: 'group names with dots and slashes', value: [{ 'openai/gpt-3.5-turbo': ['gpt-4.1-mini'] }], want: { 'openai/gpt-3.5-turbo': ['gpt-4.1-mini'] } },
];

for (const c of parseOk) {
  test(`parseFallbacks: ${c.name}`, () => {
    const r = parseFallbacks(c.value, 'router_settings.fallbacks');
    assert.deepEqual(r.problems, []);
    assert.deepEqual(entries(r.map), c.want);
    assert.equal(r.warnings.length, c.warnings ?? 0);
  });
}

const parseBad: readonly { name: string; value: unknown; path: string; message: RegExp }[] = [
  { name: 'not a list', value: { a: ['b'] }, path: 'router_settings.fallbacks', message: /must be a list of \{model_group: \[fallback groups\]\} mappings/ },
  { name: 'a string', value: 'a', path: 'router_settings.fallbacks', message: /must be a list/ },
  { name: 'an item with two keys (validate_fallbacks raises)', value: [{ a: ['b'], c: ['d'] }], path: 'router_settings.fallbacks[0]', message: /exactly one key.*got 2: "a", "c"/ },
  { name: 'an item with no keys', value: [{}], path: 'router_settings.fallbacks[0]', message: /exactly one key.*got none/ },
  { name: 'an item that is a string', value: ['a'], path: 'router_settings.fallbacks[0]', message: /must be a mapping.*got "a"/ },
  { name: 'an item that is a list', value: [['a']], path: 'router_settings.fallbacks[0]', message: /must be a mapping.*got a list/ },
  { name: 'targets given as one string', value: [{ a: 'b' }], path: 'router_settings.fallbacks[0].a', message: /must be a list of model group names, e\.g\. \["b"\]/ },
  { name: 'a target that is not a name', value: [{ a: ['b', 3] }], path: 'router_settings.fallbacks[0].a[1]', message: /must be a model group name, got 3/ },
  { name: 'an empty target name', value: [{ a: [''] }], path: 'router_settings.fallbacks[0].a[0]', message: /must be a model group name, got an empty string/ },
  { name: 'an empty group key', value: [{ ' ': ['b'] }], path: 'router_settings.fallbacks[0]', message: /must not be empty/ },
];

for (const c of parseBad) {
  test(`parseFallbacks problem: ${c.name}`, () => {
    const r = parseFallbacks(c.value, 'router_settings.fallbacks');
    assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
    assert.equal(r.problems[0]!.path, c.path);
    assert.match(r.problems[0]!.message, c.message);
  });
}

test('parseFallbacks: every bad item is reported, good ones still parsed', () => {
  const r = parseFallbacks([{ a: ['b'] }, { x: 1, y: 2 }, { c: 'd' }, { e: ['f'] }], 'fallbacks');
  assert.deepEqual(r.problems.map((p) => p.path), ['fallbacks[1]', 'fallbacks[2].c']);
  assert.deepEqual(entries(r.map), { a: ['b'], e: ['f'] });
});

// --- parseRequestFallbacks ------------------------------------------------------------------------

const requestCases: readonly { name: string; value: unknown; want: Record<string, readonly FallbackEntry[]>; all: boolean }[] = [
  { name: 'dict form, as the config', value: [{ g: ['b'] }, { '*': ['c'] }], want: { g: [{ model: 'b' }], '*': [{ model: 'c' }] }, all: false },
  { name: 'plain list of names applies to the requested group', value: ['b', 'c'], want: { g: [{ model: 'b' }, { model: 'c' }] }, all: true },
  { name: 'empty list → no fallbacks', value: [], want: {}, all: false },
  {
    name: 'list of {model, messages}: merged into the request',
    value: [{ model: 'b', messages: [{ role: 'user', content: 'short' }] }],
    want: { g: [{ model: 'b', messages: [{ role: 'user', content: 'short' }] }] },
    all: true,
  },
  {
    name: 'a parameter set without model re-runs the requested group with other params',
    value: [{ messages: [{ role: 'user', content: 'x' }], temperature: 0 }],
    want: { g: [{ model: 'g', messages: [{ role: 'user', content: 'x' }], params: { temperature: 0 } }] },
    all: true,
  },
  { name: 'model plus body params', value: [{ model: 'b', max_tokens: 10 }], want: { g: [{ model: 'b', params: { max_tokens: 10 } }] }, all: true },
  { name: '{"model": ["x"]} is the dict form: a group named "model" (LiteLLM decides the same)', value: [{ model: ['x'] }], want: { model: [{ model: 'x' }] }, all: false },
];

for (const c of requestCases) {
  test(`parseRequestFallbacks: ${c.name}`, () => {
    const r = parseRequestFallbacks(c.value, 'g');
    assert.deepEqual(r.problems, []);
    assert.deepEqual(Object.fromEntries(r), c.want);
    assert.equal(r.appliesToAllErrors, c.all);
  });
}

const requestBad: readonly { name: string; value: unknown; message: RegExp }[] = [
  { name: 'not a list', value: 'b', message: /must be a list/ },
  { name: 'names mixed with objects', value: ['b', { model: 'c' }], message: /mixes model group names with objects/ },
  { name: 'dict form mixed with parameter sets', value: [{ a: ['b'] }, { model: 'c' }], message: /mixes the \{model_group: \[fallbacks\]\} form/ },
  { name: 'a parameter set may not change api_base', value: [{ model: 'b', api_base: 'http://evil.example' }], message: /cannot be set in a fallback.*api_base/ },
  { name: 'a parameter set may not carry an api_key', value: [{ model: 'b', api_key: 'sk-x' }], message: /api_key/ },
  { name: 'a parameter set may not nest fallbacks', value: [{ model: 'b', fallbacks: ['c'] }], message: /fallbacks/ },
  { name: 'messages must be a list', value: [{ model: 'b', messages: 'hi' }], message: /must be a list of messages/ },
  { name: 'model must be a name', value: [{ model: 3, messages: [] }], message: /must be a model group name/ },
  { name: 'an empty name in the plain list', value: ['b', ''], message: /empty string/ },
  { name: 'a dict-form item with two keys', value: [{ a: ['b'], c: ['d'] }], message: /mixes|exactly one key/ },
];

for (const c of requestBad) {
  test(`parseRequestFallbacks problem: ${c.name}`, () => {
    const r = parseRequestFallbacks(c.value, 'g');
    assert.ok(r.problems.length > 0, 'expected a problem');
    assert.match(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'), c.message);
  });
}

test('parseRequestFallbacks: the result is a Map usable as a FallbackMap', () => {
  const r = parseRequestFallbacks(['b'], 'g');
  const maps: FallbackMaps = { general: r, contextWindow: null, contentPolicy: null, defaults: [] };
  assert.deepEqual(fallbackTargets('general', 'g', maps), [{ model: 'b' }]);
});

// --- fallbackTargets ---------------------------------------------------------------------------

function fmap(o: Record<string, string[]>): FallbackMap {
  return new Map(Object.entries(o).map(([k, v]) => [k, v.map((model) => ({ model }))]));
}

const none: FallbackMaps = { general: new Map(), contextWindow: null, contentPolicy: null, defaults: [] };

const targetCases: readonly { name: string; kind: 'general' | 'context-window' | 'content-policy'; group: string; maps: Partial<FallbackMaps>; want: string[] }[] = [
  { name: 'nothing configured → none', kind: 'general', group: 'a', maps: {}, want: [] },
  { name: 'exact group match', kind: 'general', group: 'a', maps: { general: fmap({ a: ['b', 'c'] }) }, want: ['b', 'c'] },
  { name: 'no entry for the group and no "*" → none', kind: 'general', group: 'x', maps: { general: fmap({ a: ['b'] }) }, want: [] },
  { name: '"*" generic entry applies to any group', kind: 'general', group: 'x', maps: { general: fmap({ a: ['b'], '*': ['d'] }) }, want: ['d'] },
  { name: 'exact match beats "*"', kind: 'general', group: 'a', maps: { general: fmap({ '*': ['d'], a: ['b'] }) }, want: ['b'] },
  { name: 'provider-stripped match (wildcard request openai/gpt-4o → key gpt-4o)', kind: 'general', group: 'openai/gpt-4o', maps: { general: fmap({ 'gpt-4o': ['b'], '*': ['d'] }) }, want: ['b'] },
  { name: 'exact match beats the stripped one', kind: 'general', group: 'openai/gpt-4o', maps: { general: fmap({ 'gpt-4o': ['b'], 'openai/gpt-4o': ['c'] }) }, want: ['c'] },
  { name: 'default_fallbacks behave as {"*": [...]}', kind: 'general', group: 'x', maps: { defaults: ['d1', 'd2'] }, want: ['d1', 'd2'] },
  { name: 'default_fallbacks do not override a group entry', kind: 'general', group: 'a', maps: { general: fmap({ a: ['b'] }), defaults: ['d'] }, want: ['b'] },
  { name: 'default_fallbacks are appended after a configured "*", and the last "*" wins', kind: 'general', group: 'x', maps: { general: fmap({ '*': ['star'] }), defaults: ['d'] }, want: ['d'] },
  { name: 'the group itself is skipped (run_async_fallback: mg == original)', kind: 'general', group: 'a', maps: { general: fmap({ '*': ['a', 'b'] }) }, want: ['b'] },
  { name: 'a group whose only fallback is itself → none', kind: 'general', group: 'a', maps: { general: fmap({ a: ['a'] }) }, want: [] },
  { name: 'an empty entry stops the lookup (no "*")', kind: 'general', group: 'a', maps: { general: fmap({ a: [], '*': ['d'] }) }, want: [] },
  { name: 'context window, context_window_fallbacks unset → the general chain', kind: 'context-window', group: 'a', maps: { general: fmap({ a: ['b'] }) }, want: ['b'] },
  { name: 'context window, context_window_fallbacks set → only that map', kind: 'context-window', group: 'a', maps: { general: fmap({ a: ['b'] }), contextWindow: fmap({ a: ['big'] }) }, want: ['big'] },
  { name: 'context window, set but no entry for the group → none (no generic fallback)', kind: 'context-window', group: 'a', maps: { general: fmap({ a: ['b'] }), contextWindow: fmap({ z: ['big'] }), defaults: ['d'] }, want: [] },
  { name: 'context window, set but empty → none, not the general chain', kind: 'context-window', group: 'a', maps: { general: fmap({ a: ['b'] }), contextWindow: new Map() }, want: [] },
  { name: 'ours: context_window_fallbacks honours its own "*" entry', kind: 'context-window', group: 'a', maps: { contextWindow: fmap({ '*': ['big'] }) }, want: ['big'] },
  { name: 'content policy, content_policy_fallbacks set → only that map', kind: 'content-policy', group: 'a', maps: { general: fmap({ a: ['b'] }), contentPolicy: fmap({ a: ['safe'] }) }, want: ['safe'] },
  { name: 'content policy, unset → general chain, default_fallbacks included', kind: 'content-policy', group: 'a', maps: { defaults: ['d'] }, want: ['d'] },
  { name: 'general kind ignores the special maps', kind: 'general', group: 'a', maps: { contextWindow: fmap({ a: ['big'] }), contentPolicy: fmap({ a: ['safe'] }) }, want: [] },
  { name: 'chains are per group: B has its own entry', kind: 'general', group: 'b', maps: { general: fmap({ a: ['b'], b: ['c'] }) }, want: ['c'] },
  { name: 'a fallback may name a deployment id (passed through as a name)', kind: 'general', group: 'a', maps: { general: fmap({ a: ['3564a39c9e8b149e'] }) }, want: ['3564a39c9e8b149e'] },
];

for (const c of targetCases) {
  test(`fallbackTargets: ${c.name}`, () => {
    assert.deepEqual(fallbackTargets(c.kind, c.group, { ...none, ...c.maps }).map((e) => e.model), c.want);
  });
}

test('fallbackTargets: an entry carrying its own messages may re-run the same group', () => {
  const r = parseRequestFallbacks([{ messages: [{ role: 'user', content: 'shorter' }] }], 'g');
  const got = fallbackTargets('general', 'g', { ...none, general: r });
  assert.equal(got.length, 1);
  assert.equal(got[0]!.model, 'g');
  assert.deepEqual(got[0]!.messages, [{ role: 'user', content: 'shorter' }]);
});

const contentFilterCases: readonly { name: string; maps: Partial<FallbackMaps>; want: boolean }[] = [
  { name: 'no fallbacks → the content_filter response is returned as-is', maps: {}, want: false },
  { name: 'content_policy_fallbacks entry for the group → raise and fall back', maps: { contentPolicy: fmap({ g: ['safe'] }) }, want: true },
  { name: 'content_policy_fallbacks set without an entry for the group → as-is', maps: { contentPolicy: fmap({ other: ['safe'] }), defaults: ['d'] }, want: false },
  { name: 'no content_policy_fallbacks but default fallbacks → raise', maps: { defaults: ['d'] }, want: true },
  { name: 'no content_policy_fallbacks, a "*" general entry → raise', maps: { general: fmap({ '*': ['d'] }) }, want: true },
];

for (const c of contentFilterCases) {
  test(`contentFilterTriggersFallback: ${c.name}`, () => {
    assert.equal(contentFilterTriggersFallback('g', { ...none, ...c.maps }), c.want);
  });
}

// --- cooldowns --------------------------------------------------------------------------------------

const requiredCases: readonly { name: string; cls: ErrorClass; status: number | null; want: boolean }[] = [
  { name: '429 is cooled', cls: 'rate-limit', status: 429, want: true },
  { name: '401 is cooled', cls: 'auth', status: 401, want: true },
  { name: '408 is cooled', cls: 'timeout', status: 408, want: true },
  { name: 'a timeout without a status counts as 408', cls: 'timeout', status: null, want: true },
  { name: '404 is cooled', cls: 'not-found', status: 404, want: true },
  { name: '400 never', cls: 'bad-request', status: 400, want: false },
  { name: '403 never', cls: 'permission', status: 403, want: false },
  { name: '409 never', cls: 'bad-request', status: 409, want: false },
  { name: '413 never', cls: 'bad-request', status: 413, want: false },
  { name: '422 never', cls: 'unprocessable', status: 422, want: false },
  { name: 'context window is a 400 → never', cls: 'context-window', status: 500, want: false },
  { name: 'content policy is a 400 → never', cls: 'content-policy', status: 400, want: false },
  { name: '500 may cool', cls: 'server', status: 500, want: true },
  { name: '503 may cool', cls: 'server', status: 503, want: true },
  { name: 'APIConnectionError never', cls: 'connection', status: null, want: false },
  { name: 'our own "no deployments" is not a deployment failure', cls: 'no-deployments', status: 429, want: false },
];

for (const c of requiredCases) {
  test(`isCooldownRequired (_is_cooldown_required): ${c.name}`, () => {
    assert.equal(isCooldownRequired(c.cls, c.status), c.want);
  });
}

const cd: CooldownInput = {
  cls: 'server', status: 500, groupSize: 3, stats: { successes: 10, failures: 1 }, allowedFails: null, allowedFailsPolicy: null,
  failedCallsInWindow: 0, cooldownTimeMs: DEFAULT_COOLDOWN_MS, retryAfterMs: null, disabled: false, wildcard: false,
};

const rl: Partial<CooldownInput> = { cls: 'rate-limit', status: 429 };

const cooldownCases: readonly { name: string; input: Partial<CooldownInput>; coolMs: number; count?: boolean }[] = [
  // v2 (default) rule
  { name: 'v2: an upstream 429 cools in a group of more than one', input: rl, coolMs: 5000 },
  { name: 'v2: a 429 on a single-deployment group does not cool', input: { ...rl, groupSize: 1, stats: { successes: 0, failures: 1 } }, coolMs: 0 },
  { name: 'v2: 401 cools always (not retryable), even a lone deployment', input: { cls: 'auth', status: 401, groupSize: 1 }, coolMs: 5000 },
  { name: 'v2: 404 cools always (not retryable)', input: { cls: 'not-found', status: 404 }, coolMs: 5000 },
  { name: 'v2: a single 5xx with mostly successes does not cool', input: {}, coolMs: 0 },
  { name: 'v2: >50% of ≥5 requests failing cools (group > 1)', input: { stats: { successes: 2, failures: 3 } }, coolMs: 5000 },
  { name: 'v2: exactly 50% failing does not cool', input: { stats: { successes: 3, failures: 3 } }, coolMs: 0 },
  { name: 'v2: >50% of only 4 requests does not cool (DEFAULT_FAILURE_THRESHOLD_MINIMUM_REQUESTS)', input: { stats: { successes: 1, failures: 3 } }, coolMs: 0 },
  { name: 'v2: the very first request failing does not cool', input: { stats: { successes: 0, failures: 1 } }, coolMs: 0 },
  { name: 'v2: failure rate never cools a single-deployment group', input: { groupSize: 1, stats: { successes: 0, failures: 50 } }, coolMs: 0 },
  { name: 'v2: all of ≥1000 requests failing cools even a single deployment', input: { groupSize: 1, stats: { successes: 0, failures: 1000 } }, coolMs: 5000 },
  { name: 'v2: 999 of 1000 failing does not trip the all-failed rule on a single deployment', input: { groupSize: 1, stats: { successes: 1, failures: 999 } }, coolMs: 0 },
  { name: 'v2: timeouts (408) cool only through the failure rate', input: { cls: 'timeout', status: null, stats: { successes: 1, failures: 5 } }, coolMs: 5000 },
  { name: 'v2: a lone timeout does not cool', input: { cls: 'timeout', status: null }, coolMs: 0 },
  // never
  { name: 'a 400 never cools, even at 100% failures', input: { cls: 'bad-request', status: 400, stats: { successes: 0, failures: 20 } }, coolMs: 0 },
  { name: 'a 403 never cools', input: { cls: 'permission', status: 403 }, coolMs: 0 },
  { name: 'a 422 never cools', input: { cls: 'unprocessable', status: 422, stats: { successes: 0, failures: 20 } }, coolMs: 0 },
  { name: 'a context-window error never cools', input: { cls: 'context-window', status: 400, stats: { successes: 0, failures: 20 } }, coolMs: 0 },
  { name: 'APIConnectionError never cools, even at 100% failures', input: { cls: 'connection', status: null, stats: { successes: 0, failures: 20 } }, coolMs: 0 },
  { name: 'disable_cooldowns', input: { ...rl, disabled: true }, coolMs: 0 },
  { name: 'cooldown_time 0 disables (deployment/request: LiteLLM _should_run_cooldown_logic)', input: { ...rl, cooldownTimeMs: 0, cooldownTimeExplicit: true }, coolMs: 0 },
  { name: 'ours: router cooldown_time 0 disables, Retry-After notwithstanding', input: { ...rl, cooldownTimeMs: 0, retryAfterMs: 30_000 }, coolMs: 0 },
  { name: 'wildcard deployments are never cooled (provider_default_deployment_ids)', input: { ...rl, wildcard: true }, coolMs: 0 },
  // length
  { name: 'cooldown length = router cooldown_time', input: { ...rl, cooldownTimeMs: 30_000 }, coolMs: 30_000 },
  { name: "the upstream's Retry-After beats the router cooldown_time", input: { ...rl, cooldownTimeMs: 5000, retryAfterMs: 20_000 }, coolMs: 20_000 },
  { name: "a deployment/request cooldown_time beats Retry-After (deployment_callback_on_failure)", input: { ...rl, cooldownTimeMs: 2000, cooldownTimeExplicit: true, retryAfterMs: 20_000 }, coolMs: 2000 },
  { name: 'ours: a Retry-After cooldown is capped at 5 min', input: { ...rl, retryAfterMs: 86_400_000 }, coolMs: 300_000 },
  { name: 'ours: Retry-After 0 is treated as absent, not as "no cooldown"', input: { ...rl, retryAfterMs: 0 }, coolMs: 5000 },
  // legacy (allowed_fails / allowed_fails_policy)
  { name: 'legacy: allowed_fails 0 → cool on the first qualifying failure', input: { allowedFails: 0 }, coolMs: 5000, count: false },
  { name: 'legacy: allowed_fails 1, first failure → counted, not cooled', input: { allowedFails: 1 }, coolMs: 0, count: true },
  { name: 'legacy: allowed_fails 1, second failure in the window → cooled', input: { allowedFails: 1, failedCallsInWindow: 1 }, coolMs: 5000, count: false },
  { name: 'legacy: applies to single-deployment groups too', input: { ...rl, groupSize: 1, allowedFails: 0 }, coolMs: 5000, count: false },
  { name: 'legacy: replaces v2 — a 429 in a big group is tolerated up to allowed_fails', input: { ...rl, allowedFails: 2 }, coolMs: 0, count: true },
  { name: 'legacy: a 400 never counts (the status filter still applies)', input: { cls: 'bad-request', status: 400, allowedFails: 0, allowedFailsPolicy: { BadRequestErrorAllowedFails: 0 } }, coolMs: 0, count: false },
  { name: 'legacy: a connection error never counts', input: { cls: 'connection', status: null, allowedFails: 0 }, coolMs: 0, count: false },
  { name: 'legacy: policy entry for the class beats allowed_fails', input: { ...rl, allowedFails: 0, allowedFailsPolicy: { RateLimitErrorAllowedFails: 3 }, failedCallsInWindow: 2 }, coolMs: 0, count: true },
  { name: 'legacy: policy entry exceeded → cooled', input: { ...rl, allowedFailsPolicy: { RateLimitErrorAllowedFails: 3 }, failedCallsInWindow: 3 }, coolMs: 5000, count: false },
  { name: 'legacy: policy without an entry for the class → litellm.allowed_fails (3)', input: { allowedFailsPolicy: { RateLimitErrorAllowedFails: 0 }, failedCallsInWindow: 2 }, coolMs: 0, count: true },
  { name: 'legacy: …and the 4th failure cools', input: { allowedFailsPolicy: { RateLimitErrorAllowedFails: 0 }, failedCallsInWindow: 3 }, coolMs: 5000, count: false },
  { name: 'ours: a policy value of 0 is honoured (LiteLLM reads it as unset)', input: { ...rl, allowedFails: 5, allowedFailsPolicy: { RateLimitErrorAllowedFails: 0 } }, coolMs: 5000, count: false },
  { name: 'legacy: InternalServerErrorAllowedFails covers 5xx', input: { status: 503, allowedFailsPolicy: { InternalServerErrorAllowedFails: 0 } }, coolMs: 5000, count: false },
  { name: 'legacy: TimeoutErrorAllowedFails covers timeouts', input: { cls: 'timeout', status: null, allowedFailsPolicy: { TimeoutErrorAllowedFails: 1 }, failedCallsInWindow: 1 }, coolMs: 5000, count: false },
  { name: 'legacy: the cooldown length still follows Retry-After', input: { ...rl, allowedFails: 0, retryAfterMs: 12_000 }, coolMs: 12_000, count: false },
  { name: 'legacy: disabled cooldowns do not count', input: { allowedFails: 0, disabled: true }, coolMs: 0, count: false },
];

for (const c of cooldownCases) {
  test(`cooldownMs: ${c.name}`, () => {
    const got = cooldownMs({ ...cd, ...c.input });
    assert.equal(got.coolMs, c.coolMs);
    assert.equal(got.countFailedCall, c.count ?? false);
  });
}

const afpCases: readonly { name: string; cls: ErrorClass; policy: AllowedFailsPolicy | null; want: number | null }[] = [
  { name: 'no policy', cls: 'rate-limit', policy: null, want: null },
  { name: 'AuthenticationErrorAllowedFails', cls: 'auth', policy: { AuthenticationErrorAllowedFails: 1 }, want: 1 },
  { name: 'ContentPolicyViolationErrorAllowedFails before BadRequest', cls: 'content-policy', policy: { ContentPolicyViolationErrorAllowedFails: 2, BadRequestErrorAllowedFails: 9 }, want: 2 },
  { name: 'context window is a BadRequestError', cls: 'context-window', policy: { BadRequestErrorAllowedFails: 9 }, want: 9 },
  { name: 'no field for 404', cls: 'not-found', policy: { BadRequestErrorAllowedFails: 9 }, want: null },
];

for (const c of afpCases) {
  test(`allowedFailsFromPolicy: ${c.name}`, () => {
    assert.equal(allowedFailsFromPolicy(c.cls, c.policy), c.want);
  });
}

const resolveCases: readonly { name: string; requestMs: number | null; deploymentMs: number | null; routerMs: number; want: { ms: number; explicit: boolean } }[] = [
  { name: 'router (defaulted) only', requestMs: null, deploymentMs: null, routerMs: 5000, want: { ms: 5000, explicit: false } },
  { name: 'deployment cooldown_time beats the router', requestMs: null, deploymentMs: 1000, routerMs: 5000, want: { ms: 1000, explicit: true } },
  { name: 'request cooldown_time beats the deployment', requestMs: 0, deploymentMs: 1000, routerMs: 5000, want: { ms: 0, explicit: true } },
  { name: 'deployment 0 (never cool this one) is kept', requestMs: null, deploymentMs: 0, routerMs: 5000, want: { ms: 0, explicit: true } },
  { name: 'ours: a request cannot lengthen the router cooldown_time', requestMs: 1e12, deploymentMs: null, routerMs: 5000, want: { ms: 5000, explicit: true } },
  { name: "ours: a request cannot lengthen the deployment's cooldown_time", requestMs: 60_000, deploymentMs: 1000, routerMs: 5000, want: { ms: 1000, explicit: true } },
  { name: 'a request may shorten it', requestMs: 2000, deploymentMs: null, routerMs: 5000, want: { ms: 2000, explicit: true } },
];

for (const c of resolveCases) {
  test(`resolveCooldownTime: ${c.name}`, () => {
    assert.deepEqual(resolveCooldownTime({ requestMs: c.requestMs, deploymentMs: c.deploymentMs, routerMs: c.routerMs }), c.want);
  });
}

const probeCases: readonly { name: string; previous: number; base: number; cap?: number; want: number }[] = [
  { name: 'first probe failure after a base cooldown doubles it', previous: 5000, base: 5000, want: 10_000 },
  { name: 'keeps doubling', previous: 40_000, base: 5000, want: 80_000 },
  { name: 'capped at 5 min by default', previous: 200_000, base: 5000, want: 300_000 },
  { name: 'stays at the cap', previous: 300_000, base: 5000, want: 300_000 },
  { name: 'nothing before → the base', previous: 0, base: 5000, want: 5000 },
  { name: 'a short Retry-After cooldown still backs off from the base', previous: 1000, base: 5000, want: 5000 },
  { name: 'custom cap', previous: 8000, base: 1000, cap: 10_000, want: 10_000 },
  { name: 'a base above the cap is not shortened', previous: 600_000, base: 600_000, want: 600_000 },
];

for (const c of probeCases) {
  test(`nextCooldownAfterProbeFailure (ours, half-open): ${c.name}`, () => {
    assert.equal(nextCooldownAfterProbeFailure(c.previous, c.base, c.cap), c.want);
  });
}
