/** What a load generator is given and what it reports, whichever one runs (wrk or autocannon). */

export interface LoadSpec {
  readonly url: string;
  /** The POST body, sent with content-type application/json. */
  readonly body: string;
  readonly connections: number;
  readonly durationS: number;
  /**
   * Pause per connection between a response and the next request: a light probe that measures
   * latency without loading the target (wrk's Lua delay(); autocannon's overall rate).
   */
  readonly pauseMs?: number;
}

export interface LoadResult {
  /** Completed responses per second, non-2xx included (see non2xx). */
  readonly rps: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly requests: number;
  /** Responses with a status ≥ 400 (wrk counts those; autocannon every non-2xx). */
  readonly non2xx: number;
  /** Connect, read and write errors and timeouts. */
  readonly errors: number;
  readonly timeouts: number;
  /** The generator's own CPU over the run: it must stay well below what it measures. */
  readonly generatorCpuUs: number | null;
}

export interface LoadGenerator {
  /** `wrk 4.1.0` or `autocannon (in-process)`: printed with the results. */
  readonly name: string;
  run(spec: LoadSpec): Promise<LoadResult>;
}

export const BENCH_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' };

export function hasFailures(r: LoadResult): boolean {
  return r.non2xx > 0 || r.errors > 0;
}
