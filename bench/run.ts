/**
 * `npm run bench`: the mock upstream, the proxy in each dispatch mode, autocannon load straight
 * to the upstream and through the proxy, memory per concurrent stream, and the picker
 * micro-benchmarks. Everything runs on 127.0.0.1, every duration is bounded, and every child
 * process is killed on the way out, whatever the way out is.
 */
import { startOwnedTestRedis } from '../test/support/redis-server.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.js';
import type { BenchArgs } from './args.js';
import { killAllNow, startChild, stopAll } from './children.js';
import type { Child } from './children.js';
import { hasFailures, measureLoad } from './load.js';
import type { LoadResult } from './load.js';
import { measureStreamMemory, readRssKiB } from './memory.js';
import type { StreamMemoryResult } from './memory.js';
import { runPickerBench } from './pickers.js';
import { renderText, SCENARIOS, writeResults } from './report.js';
import type { BenchResults, ModeResult, ProxyScenarioResult, Scenario } from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** dist/bench/run.js → the repository root. */
const ROOT = resolve(HERE, '..', '..');
const UPSTREAM_JS = join(HERE, 'upstream.js');
const PROXY_CLI = join(ROOT, 'dist', 'src', 'cli.js');
const RESULTS_DIR = join(ROOT, 'bench', 'results');

const HOST = '127.0.0.1';
const PROXY_READY_MS = 20_000;
const UPSTREAM_READY_MS = 10_000;

/** Dispatch modes; `workers: null` omits the flag so the proxy's own default (the pool) is measured. */
const MODES: readonly { label: string; workers: number | null; redis: boolean }[] = [
  { label: 'pool', workers: null, redis: false },
  { label: 'inline', workers: 0, redis: false },
  // The same pool run with Redis state sharing on: the figure to compare is its ratio to `pool`.
  { label: 'pool+redis', workers: null, redis: true },
];

/** Memory scenario: streams that stay open ~30 s (150 chunks, 200 ms apart) while we sample. */
const MEMORY_STREAMS = 200;
const MEMORY_CHUNK_DELAY_MS = 200;
const MEMORY_STREAM_CHUNKS = 150;
const MEMORY_FIRST_CHUNK_CAP_MS = 15_000;

function body(model: string, stream: boolean): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...(stream ? { stream: true } : {}) });
}

function configYaml(upstreamPort: number): string {
  return [
    'model_list:',
    '  - model_name: bench',
    `    litellm_params: { model: openai/bench-model, api_base: http://${HOST}:${upstreamPort}/v1, api_key: sk-bench }`,
    '',
  ].join('\n');
}

function startUpstream(extra: readonly string[] = []): Promise<Child> {
  return startChild({
    name: `upstream${extra.length > 0 ? ` (${extra.join(' ')})` : ''}`,
    args: [UPSTREAM_JS, '--port', '0', ...extra],
    cwd: ROOT,
    ready: /^upstream listening on (\d+)/,
    timeoutMs: UPSTREAM_READY_MS,
  });
}

function startProxy(configPath: string, workers: number | null): Promise<Child> {
  const args = [PROXY_CLI, '--config', configPath, '--port', '0', '--host', HOST];
  if (workers !== null) args.push('--workers', String(workers));
  return startChild({
    name: `proxy (${workers === null ? 'default workers' : `--workers ${workers}`})`,
    args,
    cwd: ROOT,
    ready: /listening on http:\/\/(?:\[[^\]]*\]|[^\s/:]+):(\d+)/,
    timeoutMs: PROXY_READY_MS,
  });
}

function log(msg: string): void {
  console.error(`[bench] ${msg}`);
}

function summary(r: LoadResult): string {
  return `${Math.round(r.rps)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms${hasFailures(r) ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ''}`;
}

async function measureDirect(args: BenchArgs, upstream: Child): Promise<Partial<Record<Scenario, LoadResult>>> {
  const out: Partial<Record<Scenario, LoadResult>> = {};
  for (const s of SCENARIOS) {
    log(`direct ${s}…`);
    const r = await measureLoad({ ...args, url: `http://${HOST}:${upstream.port}/v1/chat/completions`, body: body('bench-model', s === 'chat-stream') });
    log(`direct ${s}: ${summary(r)}`);
    out[s] = r;
  }
  return out;
}

async function measureMode(args: BenchArgs, configPath: string, mode: (typeof MODES)[number], direct: Partial<Record<Scenario, LoadResult>>): Promise<ModeResult> {
  log(`starting proxy, mode ${mode.label}…`);
  const proxy = await startProxy(configPath, mode.workers);
  try {
    const idleRssKiB = readRssKiB(proxy.pid);
    const scenarios: Partial<Record<Scenario, ProxyScenarioResult>> = {};
    for (const s of SCENARIOS) {
      log(`${mode.label} ${s}…`);
      const r = await measureLoad({ ...args, url: `http://${HOST}:${proxy.port}/v1/chat/completions`, body: body('bench', s === 'chat-stream') });
      const d = direct[s];
      const ratio = d !== undefined && d.rps > 0 ? r.rps / d.rps : 0;
      scenarios[s] = { ...r, ratio, rssKiB: readRssKiB(proxy.pid) };
      log(`${mode.label} ${s}: ${summary(r)}, ratio ${ratio.toFixed(2)}`);
    }
    return { workers: mode.workers, idleRssKiB, scenarios };
  } finally {
    await proxy.stop();
  }
}

/** A fresh pool-mode proxy in front of a slow-streaming upstream, so streams stay open while we sample. */
async function measureMemory(dir: string): Promise<StreamMemoryResult> {
  log(`memory per stream: ${MEMORY_STREAMS} concurrent streams…`);
  const slow = await startUpstream(['--chunk-delay-ms', String(MEMORY_CHUNK_DELAY_MS), '--stream-chunks', String(MEMORY_STREAM_CHUNKS)]);
  try {
    const configPath = join(dir, 'memory.yaml');
    writeFileSync(configPath, configYaml(slow.port));
    const proxy = await startProxy(configPath, null);
    try {
      const r = await measureStreamMemory({
        url: `http://${HOST}:${proxy.port}/v1/chat/completions`,
        model: 'bench',
        pid: proxy.pid,
        streams: MEMORY_STREAMS,
        firstChunkCapMs: MEMORY_FIRST_CHUNK_CAP_MS,
      });
      log(`memory: ${r.perStreamKiB === null ? 'n/a' : `${r.perStreamKiB.toFixed(1)} KiB/stream`} (${r.streamsOpen} open, ${r.streamsFailed} failed)`);
      return r;
    } finally {
      await proxy.stop();
    }
  } finally {
    await slow.stop();
  }
}

/** Holds the proxy configs; removed by the 'exit' handler so an interrupted run leaves nothing behind. */
const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
/** Stops the bench's own redis-server (its helper also kills it on exit). */
let stopRedis: (() => Promise<void>) | null = null;

async function main(args: BenchArgs): Promise<void> {
  try {
    log('starting upstream…');
    const upstream = await startUpstream();
    const configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, configYaml(upstream.port));

    const direct = await measureDirect(args, upstream);
    const modes: Record<string, ModeResult> = {};
    let memory: StreamMemoryResult | null = null;
    if (!args.onlyDirect) {
      let redisConfigPath: string | null = null;
      try {
        const redis = await startOwnedTestRedis();
        stopRedis = () => redis.close();
        redisConfigPath = join(dir, 'config-redis.yaml');
        writeFileSync(redisConfigPath, `${configYaml(upstream.port)}router_settings:\n  redis_url: ${redis.url}\n  redis_namespace: bench\n`);
      } catch (err) {
        log(`no redis-server for the pool+redis scenario (${err instanceof Error ? err.message : String(err)}); skipping it`);
      }
      for (const mode of MODES) {
        if (mode.redis && redisConfigPath === null) continue;
        modes[mode.label] = await measureMode(args, mode.redis ? redisConfigPath! : configPath, mode, direct);
      }
      await stopRedis?.();
      stopRedis = null;
      await upstream.stop();
      memory = await measureMemory(dir);
    }
    // Pickers last, with every child gone, so they have the CPU to themselves.
    await stopAll();
    log('picker micro-benchmarks…');
    const pickers = await runPickerBench();

    const results: BenchResults = {
      when: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      settings: { durationS: args.durationS, warmupS: args.warmupS, connections: args.connections },
      modes,
      direct,
      memoryPerStreamKiB: memory?.perStreamKiB ?? null,
      memory,
      pickers,
    };
    console.log(renderText(results));
    const written = writeResults(RESULTS_DIR, results);
    log(`wrote ${written.json} and ${written.md}`);
  } finally {
    await stopRedis?.();
    await stopAll();
  }
}

/** Upper bound for the whole run; a stuck phase must not leave the machine busy forever. */
function watchdogMs(args: BenchArgs): number {
  const perLoad = (args.durationS + args.warmupS + 15) * 1000;
  return perLoad * SCENARIOS.length * (MODES.length + 1) + 3 * PROXY_READY_MS + 60_000 + 120_000;
}

// Children must die with us: Ctrl-C, a thrown error, the watchdog, or a plain exit.
process.once('exit', () => {
  killAllNow();
  rmSync(dir, { recursive: true, force: true });
});
process.once('SIGINT', () => {
  log('interrupted; stopping children');
  void stopAll().finally(() => process.exit(130));
});
process.once('SIGTERM', () => {
  void stopAll().finally(() => process.exit(143));
});

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
