/**
 * One conformance suite, run over every registered strategy (as Hono runs one suite over all
 * its routers). A new strategy is covered by adding its name to `strategyNames`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPicker, strategyNames } from '../src/router/strategies/index.js';
import type { Candidate, PickContext } from '../src/router/strategies/types.js';
import { seeded } from './support/random.js';

const NOW = 50_000_000;

/** A candidate with every optional field empty: a deployment the actor knows nothing about yet. */
function blank(id: string): Candidate {
  return {
    id, weight: null, rpm: null, tpm: null, inFlight: 0, windowRequests: 0, windowTokens: 0,
    latencyScore: null, ttftScore: null, latencyUpdatedAt: null, ewmaMs: null, ewmaUpdatedAt: null, costPerToken: 0,
  };
}

/** A candidate with every field drawn from `rnd`, nullable ones sometimes null, some samples stale. */
function varied(id: string, rnd: () => number): Candidate {
  const maybe = (v: number): number | null => (rnd() < 0.25 ? null : v);
  const int = (max: number): number => Math.floor(rnd() * max);
  return {
    id,
    weight: maybe(int(5)),
    rpm: maybe(int(1000)),
    tpm: maybe(int(100_000)),
    inFlight: int(6),
    windowRequests: int(50),
    windowTokens: int(4) * 1000,
    latencyScore: maybe(int(5) / 100),
    ttftScore: maybe(int(5) / 1000),
    latencyUpdatedAt: maybe(NOW - int(8000) * 1000),
    ewmaMs: maybe(50 + int(4) * 50),
    ewmaUpdatedAt: maybe(NOW - int(20_000)),
    costPerToken: int(3) * 1e-6,
  };
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v);
  return Object.freeze(o);
}

function ctxOf(seed: number, stream = false): PickContext {
  return { now: NOW, random: seeded(seed), stream };
}

for (const name of strategyNames) {
  describe(`strategy conformance: ${name}`, () => {
    const pick = createPicker(name);

    test('empty → null', () => {
      assert.equal(pick([], ctxOf(1)), null);
    });

    test('one candidate → that candidate', () => {
      const one = [deepFreeze(varied('only', seeded(2)))];
      for (let i = 0; i < 20; i++) assert.equal(pick(one, ctxOf(i)), one[0]);
      const bare = [deepFreeze(blank('bare'))];
      assert.equal(pick(bare, ctxOf(3)), bare[0]);
    });

    test('always returns one of the inputs, by identity, and mutates nothing', () => {
      const rnd = seeded(11);
      for (let round = 0; round < 200; round++) {
        const n = 1 + Math.floor(rnd() * 12);
        const cs = deepFreeze(Array.from({ length: n }, (_, i) => deepFreeze(varied(`d${i}`, rnd))));
        const before = JSON.stringify(cs);
        const ctx = ctxOf(round, round % 2 === 0);
        for (let k = 0; k < 20; k++) {
          const got = pick(cs, ctx);
          assert.ok(got !== null && cs.includes(got), `round ${round}: picked something not in the input`);
        }
        assert.equal(JSON.stringify(cs), before);
      }
    });

    test('keeps the caller’s candidate type (extra fields come back on the same object)', () => {
      const cs = [{ ...blank('a'), label: 'A' }, { ...blank('b'), label: 'B' }];
      const got = pick(cs, ctxOf(4));
      assert.ok(got !== null && (got.label === 'A' || got.label === 'B'));
    });

    test('same seed, same picks', () => {
      const rnd = seeded(23);
      const cs = Array.from({ length: 8 }, (_, i) => deepFreeze(varied(`d${i}`, rnd)));
      const run = (): string[] => { const ctx = ctxOf(42); return Array.from({ length: 200 }, () => pick(cs, ctx)!.id); };
      assert.deepEqual(run(), run());
    });

    const identical: Array<{ label: string; make: (id: string) => Candidate }> = [
      { label: 'no data', make: blank },
      {
        label: 'full data',
        make: (id) => ({
          id, weight: 2, rpm: 600, tpm: 90_000, inFlight: 3, windowRequests: 12, windowTokens: 4000,
          latencyScore: 0.02, ttftScore: 0.004, latencyUpdatedAt: NOW - 1000, ewmaMs: 180, ewmaUpdatedAt: NOW - 1000, costPerToken: 2e-6,
        }),
      },
    ];
    for (const { label, make } of identical) {
      test(`identical candidates (${label}) share picks evenly: no positional bias`, () => {
        const cs = [0, 1, 2, 3].map((i) => deepFreeze(make(`d${i}`)));
        const counts = [0, 0, 0, 0];
        const ctx = ctxOf(99);
        const n = 4000;
        for (let i = 0; i < n; i++) counts[cs.indexOf(pick(cs, ctx)!)]!++;
        for (let i = 0; i < 4; i++) {
          const share = counts[i]! / n;
          assert.ok(Math.abs(share - 0.25) <= 0.05, `candidate ${i} got ${(share * 100).toFixed(1)}% (counts ${counts.join('/')})`);
        }
      });
    }

    test('never throws with every optional field null, streaming or not', () => {
      const cs = [0, 1, 2, 3, 4].map((i) => deepFreeze({ ...blank(`d${i}`), inFlight: i % 2, costPerToken: 1e-6 }));
      for (let i = 0; i < 100; i++) {
        const got = pick(cs, ctxOf(i, i % 2 === 0));
        assert.ok(got !== null && cs.includes(got));
      }
    });
  });
}

test('strategyNames lists every StrategyName once and createPicker builds each', () => {
  assert.equal(new Set(strategyNames).size, strategyNames.length);
  assert.deepEqual([...strategyNames].sort(), [
    'cost-based-routing', 'latency-based-routing', 'least-busy', 'peak-ewma', 'simple-shuffle',
    'usage-based-routing', 'usage-based-routing-v2',
  ]);
  for (const name of strategyNames) assert.equal(typeof createPicker(name, {}), 'function');
});
