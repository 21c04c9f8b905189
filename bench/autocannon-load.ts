/**
 * The fallback load generator when wrk is not on the PATH: autocannon in this process. It
 * tops out well below a fast upstream (about 40k req/s here, where wrk drives 60k), so its
 * ratios understate the proxy's cost; the results say which generator ran. Its CPU is this
 * whole process's, which runs nothing else during a measurement.
 */
import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { BENCH_HEADERS } from './generator.js';
import type { LoadGenerator, LoadResult, LoadSpec } from './generator.js';

export function autocannonGenerator(): LoadGenerator {
  return {
    name: 'autocannon (in-process; wrk not found)',
    async run(spec: LoadSpec): Promise<LoadResult> {
      // 2xx latencies in µs: autocannon's own histogram keeps whole milliseconds, too coarse for a local upstream.
      const latencyUs = createHistogram();
      const cpuBefore = process.cpuUsage();
      const r = await new Promise<autocannon.Result>((resolve, reject) => {
        const instance = autocannon(
          { url: spec.url, method: 'POST', headers: { ...BENCH_HEADERS }, body: spec.body, connections: spec.connections, duration: spec.durationS, timeout: 10, ...(spec.pauseMs ? { overallRate: Math.max(1, Math.round((1000 / spec.pauseMs) * spec.connections)) } : {}) },
          (err, result) => (err !== null && err !== undefined ? reject(err) : resolve(result)),
        );
        instance.on('response', (_client, status, _bytes, ms) => {
          if (status >= 200 && status < 300) latencyUs.record(Math.max(1, Math.round(ms * 1000)));
        });
      });
      const cpu = process.cpuUsage(cpuBefore);
      const has = latencyUs.count > 0;
      return {
        // total ÷ elapsed rather than autocannon's mean of per-second samples, which a partial last second drags down.
        rps: r.duration > 0 ? r.requests.total / r.duration : r.requests.average,
        p50Us: has ? latencyUs.percentile(50) : r.latency.p50 * 1000,
        p99Us: has ? latencyUs.percentile(99) : r.latency.p99 * 1000,
        maxUs: has ? latencyUs.max : r.latency.max * 1000,
        requests: r.requests.total,
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
        generatorCpuUs: cpu.user + cpu.system,
      };
    },
  };
}
