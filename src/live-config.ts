/**
 * Live reload: the config file loaded again (SIGHUP, `POST /config/reload`). On success the new
 * model list serves new requests at once (LiveRouter.swap); requests and streams in flight
 * finish on the old router; deployments whose id did not change keep their state (cooldowns,
 * latency, usage windows, failure counts, Redis leases: GroupActor.adoptFrom), with the new
 * config's limits. On any problem the old config keeps serving and every problem is logged.
 * Server settings (`general_settings`: master key, body limit, …) and the Redis connection are
 * read at start only: a reload that changes them says so in the log.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadConfigText } from './config/load.js';
import type { ProxyConfig } from './config/types.js';
import type { Logger } from './log.js';
import type { ProxyMetrics } from './metrics/prometheus.js';
import { LiveRouter } from './router/live-router.js';
import { Router } from './router/router.js';
import type { RouterOptions } from './router/types.js';
import type { ReloadOutcome } from './server/config-reload.js';
import type { RedisSync } from './sync/redis-sync.js';
import type { Dispatcher } from './upstream/dispatch.js';

/** The config's version: the first 12 hex digits of the sha256 of the file's text. */
export function configVersion(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

export interface LiveConfigDeps {
  readonly dispatcher: Dispatcher;
  readonly log: Logger;
  readonly metrics: ProxyMetrics;
  readonly routerOptions: RouterOptions | undefined;
  /** The file to load again; null when the proxy started from a config in memory. */
  readonly path: string | null;
  readonly env: NodeJS.ProcessEnv;
  /** Sets up a router before it serves (callbacks, the Redis reserver). */
  readonly wire: (router: Router) => void;
}

export class LiveConfig {
  readonly live: LiveRouter;
  readonly #deps: LiveConfigDeps;
  #version: string | null;
  #sync: RedisSync | null = null;
  #stopHealth: (() => void) | null = null;
  /** One reload at a time; a second request while one runs waits for it and gets its answer. */
  #running: Promise<ReloadOutcome> | null = null;

  constructor(config: ProxyConfig, deps: LiveConfigDeps) {
    this.#deps = deps;
    this.#version = deps.path === null ? null : LiveConfig.#readVersion(deps.path);
    const router = new Router(config, deps.dispatcher, { ...deps.routerOptions, metrics: deps.metrics });
    this.live = new LiveRouter(router);
  }

  static #readVersion(path: string): string | null {
    try {
      return configVersion(readFileSync(path, 'utf8'));
    } catch {
      return null;
    }
  }

  get version(): string | null {
    return this.#version;
  }

  /** The Redis sync follows the router's actors from now on. */
  attachSync(sync: RedisSync): void {
    this.#sync = sync;
  }

  /** Starts (or restarts, for a new router) the background health loop when the config asks for it. */
  startHealth(): void {
    this.#stopHealth?.();
    this.#stopHealth = null;
    const router = this.live.current;
    const s = router.config.server;
    if (!s.backgroundHealthChecks) return;
    this.#stopHealth = router.startBackgroundHealthChecks(s.healthCheckIntervalMs, (r) => {
      if (r.unhealthy_count > 0) this.#deps.log.warn(`background health check: ${r.unhealthy_count} of ${r.healthy_count + r.unhealthy_count} deployments unhealthy`);
    });
  }

  stopHealth(): void {
    this.#stopHealth?.();
    this.#stopHealth = null;
  }

  reload(): Promise<ReloadOutcome> {
    this.#running ??= Promise.resolve().then(() => this.#reload()).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  #refuse(problems: readonly string[]): ReloadOutcome {
    const old = this.live.current;
    const shown = problems.map((p) => old.redact(p));
    const log = this.#deps.log;
    log.error(`config reload refused (${shown.length} problem${shown.length === 1 ? '' : 's'}); the previous config keeps serving`);
    for (const p of shown) log.error(`config reload: ${p}`);
    return { ok: false, problems: shown };
  }

  #reload(): ReloadOutcome {
    const { path, log } = this.#deps;
    if (path === null) return this.#refuse(['the proxy was started from a config in memory, not a file: there is nothing to load again']);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      return this.#refuse([`cannot read the config file ${path}: ${e instanceof Error ? e.message : String(e)}`]);
    }
    const loaded = loadConfigText(text, path, this.#deps.env);
    if (!loaded.ok) return this.#refuse(loaded.problems.map((p) => `${p.path || '(file)'}${p.line !== null ? ` (line ${p.line})` : ''}: ${p.message}`));
    const config = loaded.config;
    const old = this.live.current;
    let next: Router;
    try {
      next = new Router(config, this.#deps.dispatcher, { ...this.#deps.routerOptions, metrics: this.#deps.metrics, previous: old });
      this.#deps.wire(next);
    } catch (e) {
      return this.#refuse([`the new config could not be set up: ${e instanceof Error ? e.message : String(e)}`]);
    }
    log.addSecrets(config.secrets);
    for (const w of config.warnings) log.warn(w);
    if (JSON.stringify(config.server) !== JSON.stringify(old.config.server)) {
      log.warn('config reload: general_settings (master key, body limit, shutdown grace, health checks, metrics auth) take effect at the next restart; the model list and routing settings changed now');
    }
    if (JSON.stringify(config.redis) !== JSON.stringify(old.config.redis)) {
      log.warn('config reload: the Redis settings take effect at the next restart');
    }
    // From here on nothing can fail: the switch is one assignment, the sync and health loop follow.
    this.#sync?.switchActors(next.groups());
    this.live.swap(next);
    this.#version = configVersion(text);
    this.startHealth();
    const before = new Set(old.config.deployments.map((d) => d.id));
    const now = new Set(config.deployments.map((d) => d.id));
    const summary = {
      config_version: this.#version,
      model_groups: config.groups.size,
      deployments: config.deployments.length,
      kept: next.kept,
      added: [...now].filter((id) => !before.has(id)).length,
      removed: [...before].filter((id) => !now.has(id)).length,
    };
    log.info(`config reloaded (version ${summary.config_version}): ${summary.deployments} deployments in ${summary.model_groups} model groups; ${summary.kept} kept their state, ${summary.added} added, ${summary.removed} removed`);
    return { ok: true, summary };
  }
}
