/**
 * tinybench figures for each picker at 2, 10 and 1,000 candidates. A new picker is one line in
 * `pickers`. Inputs are built once per size and a seeded generator stands in for Math.random,
 * so runs compare like with like and the timed loop is the picker alone.
 */
import { Bench } from 'tinybench';
import { createPicker, strategyNames } from '../src/router/strategies/index.js';
import type { Candidate, PickContext, Picker } from '../src/router/strategies/types.js';
import { seeded } from './random.js';

export interface PickerEntry {
  readonly name: string;
  readonly picker: Picker;
}

/** Every registered strategy, with LiteLLM's default strategy args. */
export const pickers: readonly PickerEntry[] = strategyNames.map((name) => ({ name, picker: createPicker(name) }));

export const CANDIDATE_COUNTS: readonly number[] = [2, 10, 1000];

export interface PickerResult {
  readonly picker: string;
  readonly candidates: number;
  readonly opsPerSec: number;
  readonly meanNs: number;
  /** Relative margin of error of the latency mean, in percent. */
  readonly rme: number;
}

/** The clock the bench candidates' latency timestamps are relative to. */
const NOW = 10_000_000;

/**
 * Varied fields so no picker hits a degenerate all-equal case, with the gaps a live fleet has:
 * some deployments without latency data yet, a few whose samples are past the 1 h TTL, some
 * without an EWMA or a TTFT, and usage, load and price spread over realistic ranges. The
 * cycles differ in length so fields do not move in lockstep.
 */
export function makeCandidates(n: number): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    const hasLatency = i % 9 !== 4;
    out.push({
      id: `deployment-${i}`,
      weight: 1 + (i % 5),
      rpm: 600 + 60 * (i % 7),
      tpm: i % 3 === 0 ? null : 100_000 + 10_000 * (i % 4),
      inFlight: (i * 7) % 11,
      windowRequests: (i * 13) % 97,
      windowTokens: ((i * 37) % 101) * 250,
      latencyScore: hasLatency ? 0.01 + ((i * 17) % 23) / 1000 : null,
      ttftScore: hasLatency && i % 4 !== 1 ? 0.002 + ((i * 11) % 19) / 5000 : null,
      latencyUpdatedAt: hasLatency ? NOW - (i % 13 === 6 ? 4_000_000 : ((i * 29) % 600) * 1000) : null,
      ewmaMs: i % 8 === 3 ? null : 120 + ((i * 31) % 53) * 15,
      ewmaUpdatedAt: i % 8 === 3 ? null : NOW - ((i * 17) % 30) * 1000,
      costPerToken: [12.5e-6, 0.75e-6, 10e-6, 2.5e-6, 10][i % 5]!,
    });
  }
  return out;
}

// Written on every call so V8 cannot drop the picker call as dead code.
export let sink: Candidate | null = null;

/**
 * Picks per timed call. A single pick takes tens of ns, about the cost of reading the clock,
 * and tinybench keeps one sample per call (millions at that speed, then sorts them), so each
 * sample is a batch of picks of roughly constant total work.
 */
function batchSize(n: number): number {
  return Math.max(1, Math.ceil(4000 / n));
}

export async function runPickerBench(opts: { timeMs?: number } = {}): Promise<PickerResult[]> {
  const bench = new Bench({ time: opts.timeMs ?? 500, warmupTime: 100 });
  const meta = new Map<string, { picker: string; candidates: number; batch: number }>();
  for (const { name, picker } of pickers) {
    for (const n of CANDIDATE_COUNTS) {
      const candidates = makeCandidates(n);
      const ctx: PickContext = { now: NOW, random: seeded(0x5eed + n), stream: false };
      const task = `${name} n=${n}`;
      const batch = batchSize(n);
      meta.set(task, { picker: name, candidates: n, batch });
      bench.add(task, () => {
        for (let i = 0; i < batch; i++) sink = picker(candidates, ctx);
      });
    }
  }
  const tasks = await bench.run();
  const results: PickerResult[] = [];
  for (const t of tasks) {
    const r = t.result;
    const m = meta.get(t.name);
    if (r === undefined || m === undefined) continue;
    if (r.error !== undefined) throw new Error(`picker bench ${t.name} threw: ${r.error.message}`);
    results.push({
      picker: m.picker,
      candidates: m.candidates,
      opsPerSec: r.throughput.mean * m.batch,
      meanNs: (r.latency.mean * 1e6) / m.batch,
      rme: r.latency.rme,
    });
  }
  return results;
}
