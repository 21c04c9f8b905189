/**
 * `npm run bench`: the mock upstreams, then each target (direct, nginx when installed,
 * Switchyard pool / inline / pool+redis) through every scenario, with wrk (or autocannon) as
 * the load, CPU per request per process and per thread from /proc, slow streams over raw
 * sockets, and the picker micro-benchmarks. Everything runs on 127.0.0.1, every duration is
 * bounded, and every child process is killed on the way out, whatever the way out is.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.js';
import type { BenchArgs } from './args.js';
import { autocannonGenerator } from './autocannon-load.js';
import { killAllNow, onPath, startChild, stopAll } from './children.js';
import type { Child } from './children.js';
import { machineBusyUs, ThreadTags } from './cpu.js';
import { BENCH_HEADERS, hasFailures } from './generator.js';
import type { LoadGenerator, LoadResult } from './generator.js';
import { nginxVersion } from './nginx.js';
import { runPickerBench } from './pickers.js';
import { renderText, writeResults } from './report.js';
import type { BenchResults, LoadRow, SlowStreamsRow } from './results.js';
import { checkResponse, LOAD_SCENARIOS, SLOW_CHUNK_DELAY_MS, SLOW_CHUNKS, SLOW_STREAM_BODY, STREAM_CHUNKS } from './scenarios.js';
import type { LoadScenario } from './scenarios.js';
import { openFleet } from './stream-fleet.js';
import { CHAT_PATH, startTarget, upstreamCpuUs } from './targets.js';
import type { Target, TargetContext } from './targets.js';
import { wrkGenerator } from './wrk.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** dist/bench/run.js → the repository root. */
const ROOT = resolve(HERE, '..', '..');
const UPSTREAM_JS = join(HERE, 'upstream.js');
const PROXY_CLI = join(ROOT, 'dist', 'src', 'cli.js');
const NGINX_TEMPLATE = join(ROOT, 'bench', 'nginx.conf');
const RESULTS_DIR = join(ROOT, 'bench', 'results');

/**
 * Slow streams: the small-chat probe runs this long from the first connect, one connection
 * pausing PROBE_PAUSE_MS between requests (a few hundred samples that barely load the target);
 * then the caps on each phase.
 */
const PROBE_S = 3;
const IDLE_PROBE_S = 2;
const PROBE_PAUSE_MS = 5;
const RSS_SAMPLE_MS = 100;
const OPEN_CAP_MS = 30_000;
const STREAM_LIFETIME_MS = SLOW_CHUNKS * SLOW_CHUNK_DELAY_MS;
const DONE_CAP_MS = STREAM_LIFETIME_MS + 30_000;

function log(msg: string): void {
  console.error(`[bench] ${msg}`);
}

function startUpstream(name: string, extra: readonly string[]): Promise<Child> {
  return startChild({ name, args: [UPSTREAM_JS, '--port', '0', ...extra], cwd: ROOT, ready: /^upstream listening on (\d+)/, timeoutMs: 10_000 });
}

function pickGenerator(args: BenchArgs, dir: string): LoadGenerator {
  const wrk = args.generator === 'autocannon' ? null : onPath('wrk');
  if (wrk === null) {
    if (args.generator === 'wrk') throw new Error('--generator wrk: wrk is not on the PATH (apt-get install wrk)');
    return autocannonGenerator();
  }
  let version = 'wrk';
  try {
    execFileSync(wrk, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    // wrk -v prints its banner and exits 1.
    const out = String((e as { stdout?: unknown }).stdout ?? '');
    version = /^wrk \S+/.exec(out)?.[0] ?? 'wrk';
  }
  return wrkGenerator(wrk, `${version} (-t1)`, dir, ROOT);
}

function findNginx(): { binary: string | null; label: string } {
  const binary = onPath('nginx');
  if (binary === null) return { binary: null, label: 'not installed (apt-get install nginx-light adds the column)' };
  // nginx -v prints its version on stderr.
  const r = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 5000 });
  return { binary, label: nginxVersion(`${r.stdout ?? ''}${r.stderr ?? ''}`) };
}

/** One request, checked, before the load: wrk counts responses but never reads them. */
async function check(url: string, body: string, stream: boolean): Promise<string | null> {
  try {
    const res = await fetch(url, { method: 'POST', headers: BENCH_HEADERS, body, signal: AbortSignal.timeout(10_000) });
    return checkResponse(res.status, await res.text(), stream, STREAM_CHUNKS);
  } catch (e) {
    return `request failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

function per(us: number | null | undefined, n: number): number | null {
  return us === null || us === undefined || n <= 0 ? null : us / n;
}

function summary(r: LoadResult): string {
  return `${Math.round(r.rps)} req/s, p50 ${(r.p50Us / 1000).toFixed(2)} ms, p99 ${(r.p99Us / 1000).toFixed(2)} ms${hasFailures(r) ? `, ${r.non2xx} ≥400, ${r.errors} errors` : ''}`;
}

interface Env {
  readonly args: BenchArgs;
  readonly gen: LoadGenerator;
  readonly ctx: TargetContext;
}

async function measureLoadScenario(env: Env, t: Target, s: LoadScenario, direct: ReadonlyMap<LoadScenario, LoadRow>): Promise<LoadRow> {
  const def = LOAD_SCENARIOS[s];
  const url = t.url(s);
  const problem = await check(url, def.body, def.stream);
  if (problem !== null) {
    log(`${t.name} ${s}: check failed (measured anyway, marked ⚠): ${problem}`);
  }
  const spec = { url, body: def.body, connections: def.connections ?? env.args.connections };
  if (env.args.warmupS > 0) await env.gen.run({ ...spec, durationS: env.args.warmupS });
  const cpu0 = t.cpuNow();
  const up0 = upstreamCpuUs(env.ctx.upstreams.fast);
  const machine0 = machineBusyUs();
  const wall0 = performance.now();
  const r = await env.gen.run({ ...spec, durationS: env.args.durationS });
  const wallUs = (performance.now() - wall0) * 1000;
  const machine1 = machineBusyUs();
  const up1 = upstreamCpuUs(env.ctx.upstreams.fast);
  const cpu = t.cpuSince(cpu0);
  const ours = (cpu?.totalUs ?? 0) + (up0 === null || up1 === null ? 0 : up1 - up0) + (r.generatorCpuUs ?? 0);
  const otherCores = machine0 === null || machine1 === null ? null : Math.max(0, machine1 - machine0 - ours) / wallUs;
  const d = direct.get(s);
  const row: LoadRow = {
    ...r,
    scenario: s,
    target: t.name,
    check: problem,
    ratio: d !== undefined && d.rps > 0 && t.name !== 'direct' ? r.rps / d.rps : null,
    addedP50Us: d !== undefined && t.name !== 'direct' ? r.p50Us - d.p50Us : null,
    addedP99Us: d !== undefined && t.name !== 'direct' ? r.p99Us - d.p99Us : null,
    cpu: {
      proxyUs: per(cpu?.totalUs, r.requests),
      mainUs: per(cpu?.mainUs, r.requests),
      workersUs: per(cpu?.workersUs, r.requests),
      helpersUs: per(cpu?.helpersUs, r.requests),
      workerThreads: cpu?.workerThreads ?? null,
      upstreamUs: up0 === null || up1 === null ? null : per(up1 - up0, r.requests),
      generatorUs: per(r.generatorCpuUs, r.requests),
    },
    rssKiB: t.rssKiB(),
    otherCores,
  };
  const cpuText = row.cpu.proxyUs === null ? '' : `, proxy ${row.cpu.proxyUs.toFixed(1)} µs/req${row.cpu.mainUs === null ? '' : ` (main ${row.cpu.mainUs.toFixed(1)}, workers ${row.cpu.workersUs?.toFixed(1)}, helpers ${row.cpu.helpersUs?.toFixed(1)})`}`;
  log(`${t.name} ${s}: ${summary(r)}${row.ratio === null ? '' : `, ratio ${row.ratio.toFixed(2)}`}${cpuText}, upstream ${row.cpu.upstreamUs?.toFixed(1)} µs/req, ${env.gen.name.split(' ')[0]} ${row.cpu.generatorUs?.toFixed(1)} µs/req, others ${otherCores?.toFixed(2)} cores`);
  return row;
}

/** Open files this process (and so its children) may hold: each proxied stream takes two. */
function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

async function measureSlowStreams(env: Env, t: Target): Promise<SlowStreamsRow> {
  const n = env.args.streams;
  const limit = openFileLimit();
  const fdsNeeded = (t.name === 'direct' ? n : 2 * n) + 200;
  const note = limit !== null && limit < fdsNeeded ? `open-file limit ${limit} < ~${fdsNeeded} needed: raise ulimit -n` : null;
  if (note !== null) log(`${t.name} slow-streams: ${note}`);
  log(`${t.name} slow-streams: opening ${n} streams (${SLOW_CHUNKS} chunks ${SLOW_CHUNK_DELAY_MS} ms apart), probing small chats for ${PROBE_S} s…`);
  const slow = env.ctx.upstreams.slow;
  const probeSpec = { url: t.url('chat'), body: LOAD_SCENARIOS.chat.body, connections: 1, pauseMs: PROBE_PAUSE_MS };
  const runProbe = (durationS: number): Promise<LoadResult | null> =>
    env.gen.run({ ...probeSpec, durationS }).then(
      (r) => r,
      (e: unknown) => {
        log(`${t.name} slow-streams probe failed: ${e instanceof Error ? e.message : String(e)}`);
        return null;
      },
    );
  // The same probe with nothing else going on: the baseline for the one that runs while streams open.
  const idleProbe = await runProbe(IDLE_PROBE_S);
  const rssBefore = t.rssKiB(true);
  const cpu0 = t.cpuNow();
  const up0 = upstreamCpuUs(slow);
  const probeP = runProbe(PROBE_S);
  const fleet = openFleet({ port: t.slowPort, path: CHAT_PATH, body: SLOW_STREAM_BODY, streams: n });
  // RSS is read with the count of streams in flight at that instant (sent, not yet complete,
  // whether answered or queued by the target), and the most streams open at once is kept
  // apart: a target that queues streams never has them all open together.
  let peak = { inFlight: 0, rssKiB: rssBefore };
  let maxOpen = 0;
  const sampler = setInterval(() => {
    const c = fleet.counts();
    maxOpen = Math.max(maxOpen, c.openNow);
    if (c.inFlight < peak.inFlight) return;
    // At the same count, keep the highest reading: RSS lags the sockets' buffers by a little.
    const rss = t.rssKiB(true);
    if (c.inFlight > peak.inFlight || (rss !== null && (peak.rssKiB === null || rss > peak.rssKiB))) peak = { inFlight: c.inFlight, rssKiB: rss };
  }, RSS_SAMPLE_MS);
  let openMs: number;
  let probe: LoadResult | null;
  try {
    openMs = await fleet.allOpen(OPEN_CAP_MS);
    probe = await probeP;
    await fleet.allDone(DONE_CAP_MS);
  } finally {
    clearInterval(sampler);
    fleet.destroy();
  }
  const up1 = upstreamCpuUs(slow);
  const cpu = t.cpuSince(cpu0);
  const c = fleet.counts();
  const row: SlowStreamsRow = {
    target: t.name,
    streams: n,
    opened: c.opened,
    completed: c.completed,
    failed: n - c.completed,
    firstFailure: c.firstFailure ?? (c.completed < n ? 'not finished within the cap' : null),
    openMs,
    maxOpen,
    maxInFlight: peak.inFlight,
    rssBeforeKiB: rssBefore,
    rssOpenKiB: peak.rssKiB,
    perStreamKiB: rssBefore !== null && peak.rssKiB !== null && peak.inFlight > 0 ? (peak.rssKiB - rssBefore) / peak.inFlight : null,
    cpuUsPerStream: per(cpu?.totalUs, n),
    upstreamCpuUsPerStream: up0 === null || up1 === null ? null : per(up1 - up0, n),
    probe,
    idleProbe,
    probeS: PROBE_S,
    note,
  };
  log(
    `${t.name} slow-streams: ${c.completed}/${n} complete${c.firstFailure === null ? '' : ` (first failure: ${c.firstFailure})`}, at most ${maxOpen} open at once, all open after ${Math.round(openMs)} ms, ` +
      `${row.perStreamKiB === null ? 'n/a' : row.perStreamKiB.toFixed(1)} KiB/stream, probe p50/p99/max ${probe === null ? 'n/a' : `${(probe.p50Us / 1000).toFixed(2)}/${(probe.p99Us / 1000).toFixed(2)}/${(probe.maxUs / 1000).toFixed(2)} ms`} (idle ${idleProbe === null ? 'n/a' : `${(idleProbe.p50Us / 1000).toFixed(2)}/${(idleProbe.p99Us / 1000).toFixed(2)}/${(idleProbe.maxUs / 1000).toFixed(2)} ms`})`,
  );
  return row;
}

/** Holds configs, scripts, nginx's prefix and the thread tags; removed on exit. */
const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));

async function main(args: BenchArgs): Promise<void> {
  const gen = pickGenerator(args, dir);
  const nginx = findNginx();
  log(`load generator: ${gen.name}; nginx: ${nginx.label}`);
  const notes: string[] = [];
  log('starting upstreams…');
  const fast = await startUpstream('upstream (fast)', ['--stream-chunks', String(STREAM_CHUNKS)]);
  const slow = await startUpstream('upstream (slow)', ['--chunk-delay-ms', String(SLOW_CHUNK_DELAY_MS), '--stream-chunks', String(SLOW_CHUNKS)]);
  const ctx: TargetContext = {
    root: ROOT,
    dir,
    upstreams: { fast, slow },
    tags: new ThreadTags(join(dir, 'threads')),
    proxyCli: PROXY_CLI,
    nginxBinary: nginx.binary,
    nginxTemplate: NGINX_TEMPLATE,
  };
  const env: Env = { args, gen, ctx };
  const load: LoadRow[] = [];
  const slowStreams: SlowStreamsRow[] = [];
  const direct = new Map<LoadScenario, LoadRow>();
  const loadScenarios = args.scenarios.filter((s): s is LoadScenario => s !== 'slow-streams');
  const withSlow = args.scenarios.includes('slow-streams');
  for (const name of args.targets) {
    if (name === 'nginx' && nginx.binary === null) continue;
    let t: Target;
    try {
      t = await startTarget(ctx, name);
    } catch (e) {
      const why = `${name}: not measured: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      log(why);
      notes.push(why);
      continue;
    }
    try {
      for (const s of loadScenarios) {
        const row = await measureLoadScenario(env, t, s, direct);
        load.push(row);
        if (name === 'direct') direct.set(s, row);
      }
      if (withSlow) slowStreams.push(await measureSlowStreams(env, t));
    } finally {
      await t.stop();
    }
  }
  // Pickers last, with every child gone, so they have the CPU to themselves.
  await stopAll();
  let pickers: Awaited<ReturnType<typeof runPickerBench>> = [];
  if (args.pickers) {
    log('picker micro-benchmarks…');
    pickers = await runPickerBench();
  }
  const results: BenchResults = {
    when: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    generator: gen.name,
    nginx: nginx.label,
    settings: { durationS: args.durationS, warmupS: args.warmupS, connections: args.connections, streams: args.streams },
    load,
    slowStreams,
    pickers,
    notes,
  };
  console.log(renderText(results));
  const written = writeResults(RESULTS_DIR, results);
  log(`wrote ${written.join(', ')}`);
}

/** Upper bound for the whole run; a stuck phase must not leave the machine busy forever. */
function watchdogMs(args: BenchArgs): number {
  const perLoad = (args.durationS + args.warmupS + 30) * 1000;
  const perSlow = OPEN_CAP_MS + DONE_CAP_MS + 10_000;
  const perTarget = perLoad * args.scenarios.length + perSlow + 30_000;
  return perTarget * args.targets.length + 180_000;
}

// Children must die with us: Ctrl-C, a thrown error, the watchdog, or a plain exit.
process.once('exit', () => {
  killAllNow();
  rmSync(dir, { recursive: true, force: true });
});
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping children`);
    void stopAll().finally(() => process.exit(code));
  });
}

let args: BenchArgs;
try {
  args = parseBenchArgs(process.argv.slice(2));
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(2);
}
// Not unref'd: if a phase waits on a promise nothing will ever settle, this is what ends the run.
setTimeout(() => {
  log('watchdog: the run took too long; stopping');
  void stopAll().finally(() => process.exit(1));
}, watchdogMs(args));

main(args).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`[bench] failed: ${e instanceof Error ? e.message : String(e)}`);
    void stopAll().finally(() => process.exit(1));
  },
);
