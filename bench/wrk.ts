/**
 * wrk as the load generator: one thread (`-t1`), a Lua script written to the temp dir that
 * sets the POST body and, in `done()`, prints one JSON line with the counts, the latency
 * percentiles (µs, from wrk's own histogram) and wrk's own CPU from /proc/self/stat. No
 * per-response Lua callback: that would slow wrk down; status failures come from
 * summary.errors.status (responses with a status above 399).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChild } from './children.js';
import { BENCH_HEADERS } from './generator.js';
import type { LoadGenerator, LoadResult, LoadSpec } from './generator.js';

const MARK = 'WRK_JSON ';
const TICK_US = 10_000;

function luaString(s: string): string {
  return JSON.stringify(s); // a JSON string literal is a valid Lua string literal for ASCII paths
}

function script(bodyPath: string, pauseMs: number): string {
  const headers = Object.entries(BENCH_HEADERS)
    .map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`)
    .join('\n');
  return `-- written by bench/wrk.ts
wrk.method = "POST"
${headers}
local f = assert(io.open(${luaString(bodyPath)}, "rb"))
wrk.body = f:read("*a")
f:close()
${pauseMs > 0 ? `\nfunction delay() return ${Math.round(pauseMs)} end\n` : ''}
local function cpu_ticks()
  local fh = io.open("/proc/self/stat", "r")
  if fh == nil then return -1 end
  local s = fh:read("*a")
  fh:close()
  local rest = s:match(".*%) (.*)")
  local fields = {}
  for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
  -- fields[1] is the state (field 3): utime and stime are fields 14 and 15
  return tonumber(fields[12]) + tonumber(fields[13])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${MARK}{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p99":%d,"max":%d,"cpu_ticks":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, cpu_ticks()))
end
`;
}

interface WrkJson {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p99: number;
  max: number;
  cpu_ticks: number;
}

export function wrkGenerator(wrkPath: string, version: string, dir: string, cwd: string): LoadGenerator {
  const scripts = new Map<string, string>();
  const scriptFor = (body: string, pauseMs: number): string => {
    const key = `${createHash('sha1').update(body).digest('hex').slice(0, 12)}-${pauseMs}`;
    let path = scripts.get(key);
    if (path === undefined) {
      const bodyPath = join(dir, `wrk-body-${key}.json`);
      writeFileSync(bodyPath, body);
      path = join(dir, `wrk-${key}.lua`);
      writeFileSync(path, script(bodyPath, pauseMs));
      scripts.set(key, path);
    }
    return path;
  };
  return {
    name: version,
    async run(spec: LoadSpec): Promise<LoadResult> {
      const seconds = Math.max(1, Math.round(spec.durationS));
      const args = ['-t1', `-c${spec.connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', scriptFor(spec.body, spec.pauseMs ?? 0), spec.url];
      const r = await runChild({ command: wrkPath, args, cwd, timeoutMs: (seconds + 30) * 1000 });
      const line = r.stdout.split('\n').find((l) => l.startsWith(MARK));
      if (r.code !== 0 || line === undefined) {
        throw new Error(`wrk ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim() || 'no output'}`);
      }
      const j = JSON.parse(line.slice(MARK.length)) as WrkJson;
      const elapsedS = j.duration_us / 1e6;
      return {
        rps: elapsedS > 0 ? j.requests / elapsedS : 0,
        p50Us: j.p50,
        p99Us: j.p99,
        maxUs: j.max,
        requests: j.requests,
        non2xx: j.status,
        errors: j.connect + j.read + j.write + j.timeout,
        timeouts: j.timeout,
        generatorCpuUs: j.cpu_ticks >= 0 ? j.cpu_ticks * TICK_US : null,
      };
    },
  };
}
