/** The shape of bench/results/latest.json, shared by the runner and the renderers. */
import type { LoadResult } from './generator.js';
import type { PickerResult } from './pickers.js';
import type { LoadScenario, TargetName } from './scenarios.js';

/** CPU µs one request (or stream) cost, by process and, for Switchyard, by thread kind. */
export interface CpuPerRequest {
  /** The proxy's whole process (nginx: master + worker); null for direct. */
  readonly proxyUs: number | null;
  /** Switchyard only: its main thread (uWS, router actors, inline dispatch). */
  readonly mainUs: number | null;
  /** Switchyard only: all Piscina worker threads together. */
  readonly workersUs: number | null;
  /** Switchyard only: threads that run no JavaScript (V8 GC and compiler threads, libuv's pool). */
  readonly helpersUs: number | null;
  readonly workerThreads: number | null;
  readonly upstreamUs: number | null;
  readonly generatorUs: number | null;
}

export interface LoadRow extends LoadResult {
  readonly scenario: LoadScenario;
  readonly target: TargetName;
  /** null when the pre-load check request got the expected answer; else why not. */
  readonly check: string | null;
  /** req/s ÷ direct req/s, same scenario. */
  readonly ratio: number | null;
  /** p50 / p99 minus direct's, same scenario. */
  readonly addedP50Us: number | null;
  readonly addedP99Us: number | null;
  readonly cpu: CpuPerRequest;
  /** The target's RSS right after the run (direct: the upstream's). */
  readonly rssKiB: number | null;
  /**
   * Cores' worth of CPU that processes outside this measurement (not the target, the upstream
   * or the generator) used during the run: above ~0.2 on a small machine, req/s and latency
   * are not to be trusted; CPU per request holds up better.
   */
  readonly otherCores: number | null;
}

export interface SlowStreamsRow {
  readonly target: TargetName;
  readonly streams: number;
  readonly opened: number;
  readonly completed: number;
  readonly failed: number;
  readonly firstFailure: string | null;
  /** From the first connect until every stream was open (first bytes seen) or failed. */
  readonly openMs: number;
  /** Most streams open at the same moment (sampled every 100 ms): below `streams`, the target queues them. */
  readonly maxOpen: number;
  /** Most requests in flight at once (sent, not complete: answered or queued by the target). */
  readonly maxInFlight: number;
  readonly rssBeforeKiB: number | null;
  /** RSS when the most streams were in flight. */
  readonly rssOpenKiB: number | null;
  /** (RSS with the most streams in flight − RSS before) ÷ that many streams. */
  readonly perStreamKiB: number | null;
  /** CPU µs per stream over the whole phase: the target, and the slow upstream. */
  readonly cpuUsPerStream: number | null;
  readonly upstreamCpuUsPerStream: number | null;
  /** Small chats on one connection, a short pause between them, while the streams open: a stall shows here. */
  readonly probe: LoadResult | null;
  /** The same probe just before, with no streams: its baseline. */
  readonly idleProbe: LoadResult | null;
  readonly probeS: number;
  readonly note: string | null;
}

export interface BenchResults {
  readonly when: string;
  readonly node: string;
  readonly cpus: number;
  readonly generator: string;
  /** The nginx version measured, or why there is no nginx column. */
  readonly nginx: string;
  readonly settings: { readonly durationS: number; readonly warmupS: number; readonly connections: number; readonly streams: number };
  readonly load: readonly LoadRow[];
  readonly slowStreams: readonly SlowStreamsRow[];
  readonly pickers: readonly PickerResult[];
  readonly notes: readonly string[];
}
