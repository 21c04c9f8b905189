/** One load measurement with autocannon: a discarded warm-up, then the measured run. */
import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';

export interface LoadSpec {
  readonly url: string;
  readonly body: string;
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
}

export interface LoadResult {
  /** Responses per second over the measured run, non-2xx included (see non2xx). */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
  /** Connection errors, timeouts included. */
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
}

const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' };

interface Fired {
  readonly result: autocannon.Result;
  /** 2xx latencies in µs. autocannon's own histogram keeps whole milliseconds, too coarse for a local upstream. */
  readonly latencyUs: ReturnType<typeof createHistogram>;
}

function fire(spec: LoadSpec, durationS: number): Promise<Fired> {
  const latencyUs = createHistogram();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: spec.url, method: 'POST', headers: HEADERS, body: spec.body, connections: spec.connections, duration: durationS, timeout: 10 },
      (err, result) => (err !== null && err !== undefined ? reject(err) : resolve({ result, latencyUs })),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencyUs.record(Math.max(1, Math.round(ms * 1000)));
    });
  });
}

export async function measureLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupS > 0) await fire(spec, spec.warmupS);
  const { result: r, latencyUs } = await fire(spec, spec.durationS);
  const hasSamples = latencyUs.count > 0;
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = Number(s.count);
  return {
    // total ÷ elapsed rather than autocannon's mean of per-second samples, which a partial last second drags down.
    rps: r.duration > 0 ? r.requests.total / r.duration : r.requests.average,
    p50Ms: hasSamples ? latencyUs.percentile(50) / 1000 : r.latency.p50,
    p99Ms: hasSamples ? latencyUs.percentile(99) / 1000 : r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
  };
}

export function hasFailures(r: LoadResult): boolean {
  return r.non2xx > 0 || r.errors > 0;
}
