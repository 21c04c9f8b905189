/**
 * Programmatic entry: start a proxy from a loaded config. The CLI and the tests both use it.
 */
import os from 'node:os';
import type { ProxyConfig } from './config/types.js';
import { createLogger, type Logger } from './log.js';
import { Router } from './router/router.js';
import type { RouterOptions } from './router/types.js';
import { ProxyServer } from './server/app.js';
import { RedisSync } from './sync/redis-sync.js';
import { ProxyMetrics } from './metrics/prometheus.js';
import { LiveConfig } from './live-config.js';
import type { ReloadOutcome } from './server/config-reload.js';
import { createDispatcher, type Dispatcher } from './upstream/dispatch.js';
import { attemptLogger } from './attempt-log.js';

export { loadConfigFile, loadConfigText, formatProblems } from './config/load.js';
export type { ProxyConfig } from './config/types.js';

export interface StartOptions {
  readonly config: ProxyConfig;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Upstream worker threads; 0 runs upstream calls inline on the main thread. */
  readonly workers?: number;
  readonly log?: Logger;
  readonly router?: RouterOptions;
  /** The file `config` was loaded from, for live reload and `config_version`; absent = no reload. */
  readonly configPath?: string;
  /** Where `os.environ/` references read from on a reload (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface RunningProxy {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The router serving new requests now (a config reload replaces it). */
  readonly router: Router;
  readonly dispatcher: Dispatcher;
  readonly server: ProxyServer;
  /** The Redis sync, when the config names a Redis. */
  readonly sync: RedisSync | null;
  /** What GET /metrics serves. */
  readonly metrics: ProxyMetrics;
  /** Loads the config file again (SIGHUP, POST /config/reload do this). */
  reload(): Promise<ReloadOutcome>;
  /** sha256 of the config file's text, first 12 hex digits; null when started from memory. */
  readonly configVersion: string | null;
  /** Graceful: stop accepting, let in-flight work finish (bounded), stop the workers. */
  close(): Promise<void>;
}

/** One thread for the front end, the rest for upstream I/O; at least one worker. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

export async function startProxy(opts: StartOptions): Promise<RunningProxy> {
  const log = opts.log ?? createLogger();
  log.addSecrets(opts.config.secrets);
  const host = opts.host ?? '127.0.0.1';
  const workers = opts.workers ?? defaultWorkers();
  const dispatcher = await createDispatcher(workers);
  const metrics = new ProxyMetrics();
  const clock = opts.router?.now ?? Date.now;
  let sync: RedisSync | null = null;
  // Decided once: at info level the router gets no listener and builds no per-attempt record.
  const onAttempt = attemptLogger(log);
  const wire = (router: Router): void => {
    if (sync !== null) router.attachSync(sync);
    router.onCooldown((d, ms, why) => {
      log.warn(`deployment ${d.label} cooling down for ${Math.round(ms / 100) / 10} s: ${why}`);
      sync?.publishCooldown(d.id, d.cooldownUntil);
    });
    router.onAttempt(onAttempt);
    router.onAttemptFailure((label, status, message, requestId) => log.warn(`upstream ${label} failed (${status})${requestId !== null ? ` [request ${requestId}]` : ''}: ${message}`));
  };
  const live = new LiveConfig(opts.config, {
    dispatcher, log, metrics, routerOptions: opts.router, path: opts.configPath ?? null, env: opts.env ?? process.env, wire,
  });
  if (opts.config.redis) {
    sync = new RedisSync(opts.config.redis, live.live.current.groups(), log, opts.router?.now);
    sync.onRound = (ms, ok) => metrics.redisRoundDone(ms, ok);
    live.attachSync(sync);
    sync.start();
  }
  wire(live.live.current);
  metrics.setSource(() => {
    const snap = live.live.current.snapshot();
    return { now: clock(), groups: snap.groups, redis: sync === null ? null : { status: sync.status, namespace: opts.config.redis!.namespace } };
  });
  const server = new ProxyServer({
    router: live.live,
    dispatcher,
    sharedState: sync ? () => sync!.status : null,
    masterKey: opts.config.server.masterKey,
    maxBodyBytes: opts.config.server.maxRequestBodyBytes,
    shutdownGraceMs: opts.config.server.shutdownGraceMs,
    allowedOrigins: opts.config.server.allowedOrigins,
    metrics: { contentType: metrics.contentType, text: () => metrics.text(), requireAuth: opts.config.server.requireAuthForMetrics },
    reload: () => live.reload(),
    configVersion: () => live.version,
    log,
  });
  let port: number;
  try {
    port = await server.listen(host, opts.port ?? 4000);
    await dispatcher.ready();
  } catch (err) {
    await server.close();
    await sync?.stop();
    await dispatcher.close();
    throw err;
  }
  live.startHealth();
  server.setReady(true);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${port}`,
    host,
    port,
    get router() {
      return live.live.current;
    },
    reload: () => live.reload(),
    get configVersion() {
      return live.version;
    },
    dispatcher,
    server,
    sync,
    metrics,
    close() {
      closing ??= (async () => {
        server.setReady(false);
        live.stopHealth();
        await server.close();
        await sync?.stop();
        await dispatcher.close();
      })();
      return closing;
    },
  };
}
