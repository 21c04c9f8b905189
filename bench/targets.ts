/**
 * The things a scenario is sent to, behind one interface: the upstream itself (direct), nginx,
 * and Switchyard in each dispatch mode. Each knows its URLs, its processes' CPU and RSS, and
 * how to stop.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alsoKillOnExit, startChild } from './children.js';
import type { Child } from './children.js';
import { processCpuUs, processesCpuUs, snapshotNode, splitCpu } from './cpu.js';
import type { ThreadTags } from './cpu.js';
import { startNginx } from './nginx.js';
import { startBenchRedis } from './redis.js';
import { readRssKiB, sumRssKiB } from './rss.js';
import type { LoadScenario, TargetName } from './scenarios.js';
import { MODEL, SLOW_MODEL } from './scenarios.js';

export const HOST = '127.0.0.1';
export const CHAT_PATH = '/v1/chat/completions';

/** A target's CPU over a run; the split is Switchyard's alone. */
export interface TargetCpu {
  readonly totalUs: number;
  readonly mainUs: number | null;
  readonly workersUs: number | null;
  readonly helpersUs: number | null;
  readonly workerThreads: number | null;
}

export interface Target {
  readonly name: TargetName;
  url(s: LoadScenario): string;
  /** Where slow streams go (port, and CHAT_PATH). */
  readonly slowPort: number;
  /** A cheap CPU reading to hand back to cpuSince(). */
  cpuNow(): unknown;
  /** null for direct (the upstream is measured on its own). */
  cpuSince(before: unknown): TargetCpu | null;
  /** RSS of the target's processes; for direct, of the upstream that serves `slow` streams or the fast one. */
  rssKiB(slow?: boolean): number | null;
  stop(): Promise<void>;
}

export interface Upstreams {
  readonly fast: Child;
  readonly slow: Child;
}

export interface TargetContext {
  readonly root: string;
  readonly dir: string;
  readonly upstreams: Upstreams;
  readonly tags: ThreadTags;
  readonly proxyCli: string;
  readonly nginxBinary: string | null;
  readonly nginxTemplate: string;
}

/** Two deployments in one group on the same fast upstream, and a group on the slow one. */
export function proxyConfigYaml(fastPort: number, slowPort: number, redisUrl: string | null): string {
  const lines = [
    'model_list:',
    `  - model_name: ${MODEL}`,
    `    litellm_params: { model: openai/bench-model-a, api_base: http://${HOST}:${fastPort}/v1, api_key: sk-bench }`,
    `  - model_name: ${MODEL}`,
    `    litellm_params: { model: openai/bench-model-b, api_base: http://${HOST}:${fastPort}/v1, api_key: sk-bench }`,
    `  - model_name: ${SLOW_MODEL}`,
    `    litellm_params: { model: openai/bench-slow, api_base: http://${HOST}:${slowPort}/v1, api_key: sk-bench }`,
  ];
  if (redisUrl !== null) lines.push('router_settings:', `  redis_url: ${redisUrl}`, '  redis_namespace: bench');
  return `${lines.join('\n')}\n`;
}

function direct(ctx: TargetContext): Target {
  const { fast, slow } = ctx.upstreams;
  return {
    name: 'direct',
    url: () => `http://${HOST}:${fast.port}${CHAT_PATH}`,
    slowPort: slow.port,
    cpuNow: () => null,
    cpuSince: () => null,
    rssKiB: (isSlow) => readRssKiB(isSlow === true ? slow.pid : fast.pid),
    stop: async () => undefined,
  };
}

async function nginx(ctx: TargetContext): Promise<Target> {
  if (ctx.nginxBinary === null) throw new Error('nginx is not installed');
  const n = await startNginx({ binary: ctx.nginxBinary, template: ctx.nginxTemplate, prefix: join(ctx.dir, 'nginx'), fastPort: ctx.upstreams.fast.port, slowPort: ctx.upstreams.slow.port, cwd: ctx.root });
  // A SIGKILLed master leaves its worker running: the exit hook kills the workers by pid.
  const forget = alsoKillOnExit(() => n.pids());
  return {
    name: 'nginx',
    url: (s) => `http://${HOST}:${s === 'stream-50' ? n.streamPort : n.chatPort}${CHAT_PATH}`,
    slowPort: n.slowPort,
    cpuNow: () => ({ pids: n.pids(), us: processesCpuUs(n.pids()) }),
    cpuSince(before) {
      const b = before as { pids: number[]; us: number | null };
      const now = processesCpuUs(b.pids);
      if (b.us === null || now === null) return null;
      return { totalUs: now - b.us, mainUs: null, workersUs: null, helpersUs: null, workerThreads: null };
    },
    rssKiB: () => sumRssKiB(n.pids()),
    async stop() {
      await n.master.stop();
      forget();
    },
  };
}

async function switchyard(ctx: TargetContext, name: 'pool' | 'inline' | 'pool+redis'): Promise<Target> {
  let closeRedis: (() => Promise<void>) | null = null;
  let redisUrl: string | null = null;
  if (name === 'pool+redis') {
    const redis = await startBenchRedis(ctx.root);
    closeRedis = () => redis.close();
    redisUrl = redis.url;
  }
  const configPath = join(ctx.dir, `proxy-${name.replace('+', '-')}.yaml`);
  writeFileSync(configPath, proxyConfigYaml(ctx.upstreams.fast.port, ctx.upstreams.slow.port, redisUrl));
  // --workers omitted for the pool: the proxy's own default is what a user gets.
  const args = ['--require', ctx.tags.preload, ctx.proxyCli, '--config', configPath, '--port', '0', '--host', HOST];
  if (name === 'inline') args.push('--workers', '0');
  let proxy: Child;
  try {
    proxy = await startChild({ name: `switchyard ${name}`, args, cwd: ctx.root, ready: /listening on http:\/\/(?:\[[^\]]*\]|[^\s/:]+):(\d+)/, timeoutMs: 20_000 });
  } catch (err) {
    await closeRedis?.();
    throw err;
  }
  const pid = proxy.pid;
  return {
    name,
    url: () => `http://${HOST}:${proxy.port}${CHAT_PATH}`,
    slowPort: proxy.port,
    cpuNow: () => snapshotNode(pid),
    cpuSince(before) {
      const s = splitCpu(pid, ctx.tags, before as ReturnType<typeof snapshotNode>, snapshotNode(pid));
      return s === null ? null : { totalUs: s.totalUs, mainUs: s.mainUs, workersUs: s.workersUs, helpersUs: s.helpersUs, workerThreads: s.workerThreads };
    },
    rssKiB: () => readRssKiB(pid),
    async stop() {
      await proxy.stop();
      await closeRedis?.();
    },
  };
}

export function startTarget(ctx: TargetContext, name: TargetName): Promise<Target> {
  switch (name) {
    case 'direct':
      return Promise.resolve(direct(ctx));
    case 'nginx':
      return nginx(ctx);
    default:
      return switchyard(ctx, name);
  }
}

/** The upstreams' own CPU µs so far (whole process). */
export function upstreamCpuUs(c: Child): number | null {
  return processCpuUs(c.pid);
}
