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
import { createDispatcher, type Dispatcher } from './upstream/dispatch.js';

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
}

export interface RunningProxy {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly router: Router;
  readonly dispatcher: Dispatcher;
  readonly server: ProxyServer;
  /** The Redis sync, when the config names a Redis. */
  readonly sync: RedisSync | null;
  /** What GET /metrics serves. */
  readonly metrics: ProxyMetrics;
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
  const router = new Router(opts.config, dispatcher, { ...opts.router, metrics });
  let sync: RedisSync | null = null;
  if (opts.config.redis) {
    sync = new RedisSync(opts.config.redis, router.groups(), log, opts.router?.now);
    sync.onRound = (ms, ok) => metrics.redisRoundDone(ms, ok);
    router.attachSync(sync);
    sync.start();
  }
  metrics.setSource(() => {
    const snap = router.snapshot();
    return { now: clock(), groups: snap.groups, redis: sync === null ? null : { status: sync.status, namespace: opts.config.redis!.namespace } };
  });
  const server = new ProxyServer({
    router,
    dispatcher,
    sharedState: sync ? () => sync!.status : null,
    masterKey: opts.config.server.masterKey,
    maxBodyBytes: opts.config.server.maxRequestBodyBytes,
    shutdownGraceMs: opts.config.server.shutdownGraceMs,
    metrics: { contentType: metrics.contentType, text: () => metrics.text(), requireAuth: opts.config.server.requireAuthForMetrics },
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
  router.onCooldown((d, ms, why) => {
    log.warn(`deployment ${d.label} cooling down for ${Math.round(ms / 100) / 10} s: ${why}`);
    sync?.publishCooldown(d.id, d.cooldownUntil);
  });
  router.onAttemptFailure((label, status, message, requestId) => log.warn(`upstream ${label} failed (${status})${requestId !== null ? ` [request ${requestId}]` : ''}: ${message}`));
  let stopHealth: (() => void) | null = null;
  if (opts.config.server.backgroundHealthChecks) {
    stopHealth = router.startBackgroundHealthChecks(opts.config.server.healthCheckIntervalMs, (r) => {
      if (r.unhealthy_count > 0) log.warn(`background health check: ${r.unhealthy_count} of ${r.healthy_count + r.unhealthy_count} deployments unhealthy`);
    });
  }
  server.setReady(true);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${port}`,
    host,
    port,
    router,
    dispatcher,
    server,
    sync,
    metrics,
    close() {
      closing ??= (async () => {
        server.setReady(false);
        stopHealth?.();
        await server.close();
        await sync?.stop();
        await dispatcher.close();
      })();
      return closing;
    },
  };
}
