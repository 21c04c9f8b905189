/**
 * Table-driven cases per picker: each row names a situation, the candidates' fields that
 * matter, and the share of picks each candidate should get. The shared properties (empty,
 * identity, determinism, no mutation, no positional bias) live in strategies-conformance.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinCostPerToken, builtinPrice, DEFAULT_COST_PER_TOKEN } from '../src/config/prices.js';
import { costBased } from '../src/router/strategies/cost-based.js';
import { createPicker } from '../src/router/strategies/index.js';
import { createLatencyBased, latencyBased } from '../src/router/strategies/latency-based.js';
import { leastBusy } from '../src/router/strategies/least-busy.js';
import { peakEwma, updatePeakEwma } from '../src/router/strategies/peak-ewma.js';
import type { Candidate, Picker } from '../src/router/strategies/types.js';
import { usageBased } from '../src/router/strategies/usage-based.js';
import { seeded } from './support/random.js';

const NOW = 100_000_000;

type Spec = Partial<Omit<Candidate, 'id'>>;

function candidates(specs: readonly Spec[]): Candidate[] {
  return specs.map((s, i) => ({
    id: `d${i}`, weight: null, rpm: null, tpm: null, inFlight: 0, windowRequests: 0, windowTokens: 0,
    latencyScore: null, ttftScore: null, latencyUpdatedAt: null, ewmaMs: null, ewmaUpdatedAt: null, costPerToken: 0,
    ...s,
  }));
}

/** Share of `n` picks each candidate got, with a seeded random source. */
function shares(picker: Picker, specs: readonly Spec[], opts: { stream?: boolean; now?: number; n?: number; seed?: number } = {}): number[] {
  const cs = candidates(specs);
  const n = opts.n ?? 20_000;
  const counts = new Array<number>(cs.length).fill(0);
  const ctx = { now: opts.now ?? NOW, random: seeded(opts.seed ?? 7), stream: opts.stream ?? false };
  for (let i = 0; i < n; i++) counts[cs.indexOf(picker(cs, ctx)!)]!++;
  return counts.map((c) => c / n);
}

interface Case {
  readonly name: string;
  readonly picker: Picker;
  readonly specs: readonly Spec[];
  readonly stream?: boolean;
  readonly expect: readonly number[];
  /** Allowed distance from each expected share; 0.02 unless set. */
  readonly tolerance?: number;
}

function run(prefix: string, cases: readonly Case[]): void {
  for (const c of cases) {
    test(`${prefix}: ${c.name}`, () => {
      const got = shares(c.picker, c.specs, { stream: c.stream ?? false });
      const tol = c.tolerance ?? 0.02;
      c.expect.forEach((e, i) => assert.ok(Math.abs(got[i]! - e) <= tol, `candidate ${i}: expected ~${e}, got ${got[i]} (all: ${got.map((g) => g.toFixed(3)).join(', ')})`));
    });
  }
}

const fresh = NOW - 1000;

run('least-busy', [
  { name: 'fewest in flight wins', picker: leastBusy, specs: [{ inFlight: 3 }, { inFlight: 1 }, { inFlight: 2 }], expect: [0, 1, 0] },
  { name: 'a tie for fewest is shared', picker: leastBusy, specs: [{ inFlight: 1 }, { inFlight: 1 }, { inFlight: 5 }], expect: [0.5, 0.5, 0] },
  { name: 'a tie at the end of the list is shared too', picker: leastBusy, specs: [{ inFlight: 4 }, { inFlight: 0 }, { inFlight: 2 }, { inFlight: 0 }, { inFlight: 0 }], expect: [0, 1 / 3, 0, 1 / 3, 1 / 3] },
  { name: 'other fields do not matter', picker: leastBusy, specs: [{ inFlight: 2, ewmaMs: 1, costPerToken: 0 }, { inFlight: 1, ewmaMs: 900, costPerToken: 9 }], expect: [0, 1] },
]);

run('usage-based', [
  { name: 'fewest tokens in the window wins', picker: usageBased, specs: [{ windowTokens: 500 }, { windowTokens: 100 }, { windowTokens: 300 }], expect: [0, 1, 0] },
  { name: 'tokens rank before requests', picker: usageBased, specs: [{ windowTokens: 100, windowRequests: 50 }, { windowTokens: 200, windowRequests: 1 }], expect: [1, 0] },
  { name: 'equal tokens: fewest requests wins', picker: usageBased, specs: [{ windowTokens: 100, windowRequests: 5 }, { windowTokens: 100, windowRequests: 2 }, { windowTokens: 300, windowRequests: 0 }], expect: [0, 1, 0] },
  { name: 'equal tokens and requests: shared', picker: usageBased, specs: [{ windowTokens: 100, windowRequests: 2 }, { windowTokens: 100, windowRequests: 2 }, { windowTokens: 100, windowRequests: 3 }], expect: [0.5, 0.5, 0] },
  { name: 'v1 and v2 rank alike', picker: createPicker('usage-based-routing-v2'), specs: [{ windowTokens: 9 }, { windowTokens: 3 }], expect: [0, 1] },
]);

run('latency-based', [
  { name: 'buffer 0: the best score wins', picker: latencyBased, specs: [{ latencyScore: 0.02, latencyUpdatedAt: fresh }, { latencyScore: 0.01, latencyUpdatedAt: fresh }, { latencyScore: 0.03, latencyUpdatedAt: fresh }], expect: [0, 1, 0] },
  { name: 'buffer 0: equal best scores share', picker: latencyBased, specs: [{ latencyScore: 0.01, latencyUpdatedAt: fresh }, { latencyScore: 0.01, latencyUpdatedAt: fresh }, { latencyScore: 0.05, latencyUpdatedAt: fresh }], expect: [0.5, 0.5, 0] },
  {
    name: 'buffer 0.5: every score within 50% of the best shares evenly',
    picker: createLatencyBased({ bufferFraction: 0.5 }),
    specs: [{ latencyScore: 1, latencyUpdatedAt: fresh }, { latencyScore: 1.4, latencyUpdatedAt: fresh }, { latencyScore: 1.5, latencyUpdatedAt: fresh }, { latencyScore: 1.6, latencyUpdatedAt: fresh }],
    expect: [1 / 3, 1 / 3, 1 / 3, 0],
  },
  {
    name: 'lowest_latency_buffer from strategy args',
    picker: createPicker('latency-based-routing', { lowestLatencyBuffer: 1 }),
    specs: [{ latencyScore: 1, latencyUpdatedAt: fresh }, { latencyScore: 2, latencyUpdatedAt: fresh }, { latencyScore: 2.5, latencyUpdatedAt: fresh }],
    expect: [0.5, 0.5, 0],
  },
  {
    name: 'a stream ranks by time to first token',
    picker: latencyBased,
    stream: true,
    specs: [{ latencyScore: 0.01, ttftScore: 0.5, latencyUpdatedAt: fresh }, { latencyScore: 0.09, ttftScore: 0.1, latencyUpdatedAt: fresh }],
    expect: [0, 1],
  },
  {
    name: 'a non-stream ranks by latency, ignoring TTFT',
    picker: latencyBased,
    specs: [{ latencyScore: 0.01, ttftScore: 0.5, latencyUpdatedAt: fresh }, { latencyScore: 0.09, ttftScore: 0.1, latencyUpdatedAt: fresh }],
    expect: [1, 0],
  },
  {
    name: 'a stream falls back to latency for a candidate without TTFT',
    picker: latencyBased,
    stream: true,
    specs: [{ latencyScore: 0.05, ttftScore: 0.2, latencyUpdatedAt: fresh }, { latencyScore: 0.1, ttftScore: null, latencyUpdatedAt: fresh }],
    expect: [0, 1],
  },
  {
    name: 'stale samples (past the 1 h TTL) count as no data: the stale one joins the best',
    picker: latencyBased,
    specs: [{ latencyScore: 0.01, latencyUpdatedAt: NOW - 3_601_000 }, { latencyScore: 0.5, latencyUpdatedAt: fresh }, { latencyScore: 1, latencyUpdatedAt: fresh }],
    expect: [0.5, 0.5, 0],
  },
  {
    name: 'a sample just inside the TTL still counts',
    picker: latencyBased,
    specs: [{ latencyScore: 0.01, latencyUpdatedAt: NOW - 3_599_000 }, { latencyScore: 0.5, latencyUpdatedAt: fresh }],
    expect: [1, 0],
  },
  {
    name: 'ttl from strategy args, in seconds',
    picker: createPicker('latency-based-routing', { ttlSeconds: 60 }),
    specs: [{ latencyScore: 0.01, latencyUpdatedAt: NOW - 61_000 }, { latencyScore: 0.5, latencyUpdatedAt: fresh }, { latencyScore: 0.9, latencyUpdatedAt: fresh }],
    expect: [0.5, 0.5, 0],
  },
  {
    name: 'no data: tried (gets a share) but not flooded (LiteLLM scores it 0 and sends it everything)',
    picker: latencyBased,
    specs: [{ latencyScore: 0.1, latencyUpdatedAt: fresh }, {}, { latencyScore: 0.5, latencyUpdatedAt: fresh }],
    expect: [0.5, 0.5, 0],
  },
  {
    name: 'no data joins the buffered set too',
    picker: createLatencyBased({ bufferFraction: 1 }),
    specs: [{ latencyScore: 1, latencyUpdatedAt: fresh }, { latencyScore: 1.5, latencyUpdatedAt: fresh }, {}, { latencyScore: 3, latencyUpdatedAt: fresh }],
    expect: [1 / 3, 1 / 3, 1 / 3, 0],
  },
  {
    name: 'nobody has data (or it all expired): uniform',
    picker: latencyBased,
    specs: [{}, { latencyScore: 0.2, latencyUpdatedAt: NOW - 9_000_000 }, {}, { ttftScore: 0.1 }],
    expect: [0.25, 0.25, 0.25, 0.25],
  },
]);

test('latency-based: a bad buffer or TTL is refused when the picker is built', () => {
  assert.throws(() => createLatencyBased({ bufferFraction: -0.1 }), RangeError);
  assert.throws(() => createLatencyBased({ bufferFraction: Number.NaN }), RangeError);
  assert.throws(() => createLatencyBased({ ttlMs: 0 }), RangeError);
  assert.throws(() => createPicker('latency-based-routing', { ttlSeconds: -1 }), RangeError);
  assert.doesNotThrow(() => createLatencyBased({ bufferFraction: 0, ttlMs: Infinity }));
});

run('cost-based', [
  { name: 'the cheapest wins', picker: costBased, specs: [{ costPerToken: 3e-5 }, { costPerToken: 1e-6 }, { costPerToken: 2e-6 }], expect: [0, 1, 0] },
  // LiteLLM takes the first of equally cheap deployments; we share them.
  { name: 'equally cheap share', picker: costBased, specs: [{ costPerToken: 1e-6 }, { costPerToken: 5e-6 }, { costPerToken: 1e-6 }], expect: [0.5, 0, 0.5] },
  { name: 'a priced deployment beats an unpriced one', picker: costBased, specs: [{ costPerToken: DEFAULT_COST_PER_TOKEN }, { costPerToken: builtinCostPerToken('gpt-4')! }], expect: [0, 1] },
]);

run('peak-ewma', [
  { name: 'two candidates: the fast one always wins at equal load', picker: peakEwma, specs: [{ ewmaMs: 100 }, { ewmaMs: 10 }], expect: [0, 1], tolerance: 0 },
  {
    name: 'ten candidates: one slow server gets (almost) nothing',
    picker: peakEwma,
    specs: [{ ewmaMs: 100 }, ...Array.from({ length: 9 }, () => ({ ewmaMs: 10 }))],
    expect: [0, ...Array.from({ length: 9 }, () => 1 / 9)],
    tolerance: 0.01,
  },
  {
    // The fast one wins whenever it is drawn (2 of 10 slots): 20%, not the 10% of a random pick.
    name: 'ten candidates: one fast server gets every pair it is drawn into',
    picker: peakEwma,
    specs: [{ ewmaMs: 10 }, ...Array.from({ length: 9 }, () => ({ ewmaMs: 100 }))],
    expect: [0.2, ...Array.from({ length: 9 }, () => 0.8 / 9)],
  },
  { name: 'requests in flight penalise', picker: peakEwma, specs: [{ ewmaMs: 50, inFlight: 4 }, { ewmaMs: 50, inFlight: 0 }], expect: [0, 1], tolerance: 0 },
  { name: 'a fast server with a queue loses to an idle slower one', picker: peakEwma, specs: [{ ewmaMs: 10, inFlight: 9 }, { ewmaMs: 50, inFlight: 0 }], expect: [0, 1], tolerance: 0 },
  { name: 'equal cost is shared', picker: peakEwma, specs: [{ ewmaMs: 20, inFlight: 1 }, { ewmaMs: 40, inFlight: 0 }], expect: [0.5, 0.5] },
  { name: 'no EWMA yet borrows the other’s: idle newcomer beats a busy server', picker: peakEwma, specs: [{ ewmaMs: null, inFlight: 0 }, { ewmaMs: 10, inFlight: 1 }], expect: [1, 0], tolerance: 0 },
  { name: 'no EWMA yet borrows the other’s: busy newcomer loses to an idle server', picker: peakEwma, specs: [{ ewmaMs: null, inFlight: 2 }, { ewmaMs: 10, inFlight: 0 }], expect: [0, 1], tolerance: 0 },
  { name: 'neither has an EWMA: fewer in flight wins', picker: peakEwma, specs: [{ inFlight: 3 }, { inFlight: 1 }], expect: [0, 1], tolerance: 0 },
]);

const decay = Math.exp(-1);
const ewmaCases: Array<{ name: string; args: Parameters<typeof updatePeakEwma>; expect: number }> = [
  { name: 'null start takes the sample', args: [null, null, 120, 5], expect: 120 },
  { name: 'a slower sample is taken at once (the peak)', args: [50, 0, 200, 1], expect: 200 },
  { name: 'a faster sample decays toward it over decayMs', args: [100, 0, 10, 10_000], expect: 100 * decay + 10 * (1 - decay) },
  { name: 'decayMs sets the pace', args: [100, 0, 10, 5000, 5000], expect: 100 * decay + 10 * (1 - decay) },
  { name: 'a faster sample at the same instant moves nothing', args: [100, 1000, 10, 1000], expect: 100 },
  { name: 'after a long quiet spell the fast sample takes over', args: [100, 0, 10, 1e9], expect: 10 },
  { name: 'an equal sample keeps the value', args: [50, 0, 50, 3000], expect: 50 },
  { name: 'a value without a timestamp starts over', args: [100, null, 10, 3000], expect: 10 },
  { name: 'a sample settled out of order counts as no time elapsed', args: [100, 5000, 10, 4000], expect: 100 },
];
for (const c of ewmaCases) {
  test(`updatePeakEwma: ${c.name}`, () => {
    const got = updatePeakEwma(...c.args);
    assert.ok(Math.abs(got - c.expect) < 1e-9, `expected ${c.expect}, got ${got}`);
  });
}

test('peak-ewma: a server that turns slow loses traffic within one request, and wins it back as it recovers', () => {
  const cs = candidates([{ ewmaMs: 20 }, { ewmaMs: 20 }]);
  const ctx = { now: 0, random: seeded(3), stream: false };
  let slow = updatePeakEwma(20, 0, 400, 1000); // one slow response
  assert.equal(peakEwma([{ ...cs[0]!, ewmaMs: slow }, cs[1]!], ctx)!.id, 'd1');
  for (let t = 2000; t <= 100_000; t += 1000) slow = updatePeakEwma(slow, t - 1000, 20, t); // fast again
  assert.ok(slow < 20.1, `expected the EWMA back near 20 ms, got ${slow}`);
  // Recovered: it takes the next request as soon as the other server has one in flight.
  assert.equal(peakEwma([{ ...cs[0]!, ewmaMs: slow }, { ...cs[1]!, inFlight: 1 }], ctx)!.id, 'd0');
});

const priceCases: Array<{ model: string; expect: { input: number; output: number } | null }> = [
  { model: 'gpt-4o', expect: { input: 2.5e-6, output: 10e-6 } },
  { model: 'gpt-4o-2024-08-06', expect: { input: 2.5e-6, output: 10e-6 } },
  { model: 'gpt-4o-2024-05-13', expect: { input: 5e-6, output: 15e-6 } },
  { model: 'gpt-4o-mini-2024-07-18', expect: { input: 0.15e-6, output: 0.6e-6 } },
  { model: 'gpt-4.1-nano', expect: { input: 0.1e-6, output: 0.4e-6 } },
  { model: 'gpt-4.1-2025-04-14', expect: { input: 2e-6, output: 8e-6 } },
  { model: 'gpt-4-0613', expect: { input: 30e-6, output: 60e-6 } },
  { model: 'gpt-4-1106-preview', expect: { input: 10e-6, output: 30e-6 } },
  { model: 'gpt-4-turbo-2024-04-09', expect: { input: 10e-6, output: 30e-6 } },
  { model: 'gpt-3.5-turbo-0125', expect: { input: 0.5e-6, output: 1.5e-6 } },
  { model: 'o3-mini-2025-01-31', expect: { input: 1.1e-6, output: 4.4e-6 } },
  { model: 'o4-mini', expect: { input: 1.1e-6, output: 4.4e-6 } },
  { model: 'openai/o1', expect: { input: 15e-6, output: 60e-6 } },
  { model: 'azure/gpt-4o-mini', expect: { input: 0.15e-6, output: 0.6e-6 } },
  { model: 'text-embedding-3-small', expect: { input: 0.02e-6, output: 0 } },
  { model: 'text-embedding-ada-002', expect: { input: 0.1e-6, output: 0 } },
  { model: 'gpt-4-32k', expect: { input: 60e-6, output: 120e-6 } },
  { model: 'groq/llama-3.1-8b-instant', expect: { input: 0.05e-6, output: 0.08e-6 } },
  { model: 'azure/gpt-35-turbo', expect: { input: 0.5e-6, output: 1.5e-6 } },
  { model: 'anthropic/claude-3-5-sonnet-20240620', expect: { input: 3e-6, output: 15e-6 } },
  { model: 'azure/my-eu-deployment', expect: null },
  { model: 'llama-3.1-70b-instruct', expect: null },
  { model: 'hosted_vllm/gpt-4o', expect: null },
  { model: 'toString', expect: null },
];
for (const c of priceCases) {
  test(`builtin prices: ${c.model} → ${c.expect === null ? 'unknown' : `${c.expect.input * 1e6}/${c.expect.output * 1e6} per 1M`}`, () => {
    const got = builtinPrice(c.model);
    const sum = builtinCostPerToken(c.model);
    if (c.expect === null) {
      assert.equal(got, null);
      assert.equal(sum, null);
      return;
    }
    assert.ok(got !== null && sum !== null);
    assert.ok(Math.abs(got.input - c.expect.input) < 1e-15 && Math.abs(got.output - c.expect.output) < 1e-15, `got ${JSON.stringify(got)}`);
    assert.ok(Math.abs(sum - (c.expect.input + c.expect.output)) < 1e-15);
  });
}

test('builtin prices: the unpriced default is LiteLLM’s 5.0 + 5.0, above any list price', () => {
  assert.equal(DEFAULT_COST_PER_TOKEN, 10);
  assert.ok(builtinCostPerToken('gpt-4')! < DEFAULT_COST_PER_TOKEN);
});

test('peak-ewma: a slow sample decays on read, so a server idle since its spike is tried again', () => {
  // Slow once, a minute ago, vs fast just now: 400·e^(−6) ≈ 1 ms beats 20 ms.
  const cs = candidates([
    { ewmaMs: 400, ewmaUpdatedAt: NOW - 60_000 },
    { ewmaMs: 20, ewmaUpdatedAt: NOW },
  ]);
  const ctx = { now: NOW, random: seeded(3), stream: false };
  for (let i = 0; i < 50; i++) assert.equal(peakEwma(cs, ctx), cs[0]);
  // The same spike a moment ago still keeps it out.
  const fresh = candidates([{ ewmaMs: 400, ewmaUpdatedAt: NOW - 100 }, { ewmaMs: 20, ewmaUpdatedAt: NOW }]);
  for (let i = 0; i < 50; i++) assert.equal(peakEwma(fresh, ctx), fresh[1]);
});
