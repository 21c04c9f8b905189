import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simpleShuffle } from '../src/router/strategies/simple-shuffle.js';
import type { Candidate } from '../src/router/strategies/types.js';
import { seeded } from './support/random.js';

type Spec = Partial<Pick<Candidate, 'weight' | 'rpm' | 'tpm'>>;

function candidates(specs: Spec[]): Candidate[] {
  return specs.map((s, i) => ({
    id: `d${i}`, weight: s.weight ?? null, rpm: s.rpm ?? null, tpm: s.tpm ?? null, inFlight: 0,
    windowRequests: 0, windowTokens: 0, latencyScore: null, ttftScore: null, latencyUpdatedAt: null, ewmaMs: null, ewmaUpdatedAt: null, costPerToken: 0,
  }));
}

/** Share of `n` picks each candidate got, with a seeded random source. */
function shares(specs: Spec[], n = 20_000, seed = 7): number[] {
  const cs = candidates(specs);
  const counts = new Array<number>(cs.length).fill(0);
  const ctx = { now: 0, random: seeded(seed), stream: false };
  for (let i = 0; i < n; i++) counts[cs.indexOf(simpleShuffle(cs, ctx)!)]!++;
  return counts.map((c) => c / n);
}

const cases: Array<{ name: string; specs: Spec[]; expect: number[] }> = [
  { name: 'weights', specs: [{ weight: 1 }, { weight: 3 }], expect: [0.25, 0.75] },
  { name: 'weight wins over rpm', specs: [{ weight: 1, rpm: 900 }, { weight: 1, rpm: 100 }], expect: [0.5, 0.5] },
  { name: 'rpm when no weight', specs: [{ rpm: 100 }, { rpm: 300 }], expect: [0.25, 0.75] },
  { name: 'tpm when no weight or rpm', specs: [{ tpm: 1000 }, { tpm: 1000 }, { tpm: 2000 }], expect: [0.25, 0.25, 0.5] },
  { name: 'uniform when nothing is set', specs: [{}, {}, {}, {}], expect: [0.25, 0.25, 0.25, 0.25] },
  // LiteLLM decides the field by the first candidate: one without it weighs 0.
  { name: 'field chosen by the first candidate', specs: [{ weight: 1 }, { rpm: 500 }], expect: [1, 0] },
  { name: 'all-zero weights fall back to uniform', specs: [{ weight: 0 }, { weight: 0 }], expect: [0.5, 0.5] },
];

for (const c of cases) {
  test(`simple-shuffle: ${c.name}`, () => {
    const got = shares(c.specs);
    c.expect.forEach((e, i) => assert.ok(Math.abs(got[i]! - e) < 0.02, `candidate ${i}: expected ~${e}, got ${got[i]}`));
  });
}

test('simple-shuffle: empty → null, one → that one', () => {
  const ctx = { now: 0, random: seeded(1), stream: false };
  assert.equal(simpleShuffle([], ctx), null);
  const one = candidates([{}]);
  assert.equal(simpleShuffle(one, ctx), one[0]);
});

test('simple-shuffle: same seed, same picks', () => {
  const cs = candidates([{ weight: 2 }, { weight: 5 }, { weight: 3 }]);
  const run = () => { const ctx = { now: 0, random: seeded(42), stream: false }; return Array.from({ length: 50 }, () => simpleShuffle(cs, ctx)!.id); };
  assert.deepEqual(run(), run());
});
