/**
 * Shares routing state across instances through Redis, off the request path.
 *
 * Every `syncIntervalMs` one script call flushes this instance's usage deltas and in-flight
 * counts for every deployment and brings back cluster totals, other instances' in-flight
 * counts and a budget lease per rpm-limited deployment (scripts.ts explains the lease). The
 * actors apply the totals synchronously. Only a request for a deployment whose lease is spent
 * waits on Redis (one RESERVE call, bounded by `commandTimeout`). Cooldowns are written with
 * their expiry and published the moment they start.
 *
 * Latency averages stay local: they describe the path from this instance to the upstream,
 * sharing them would cost a write per request, and a few local samples settle them anyway.
 *
 * Losing Redis never fails a request: commands fail fast (no offline queue), the actors fall
 * back to their local windows once the shared view is stale, the loss is logged once, and on
 * reconnect the deltas kept meanwhile are flushed and cooldowns re-read.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisSettings } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Reservation, Reserver } from '../router/admission.js';
import type { GroupActor, SyncDelta } from '../router/group-actor.js';
import { SHARED_STALE_MS } from '../router/sync-ledger.js';
import type { SharedView } from '../router/sync-ledger.js';
import { RESERVE, SYNC } from './scripts.js';

/** Heartbeat expiry: an instance silent this long stops counting (its in-flight requests too). */
const HEARTBEAT_TTL_MS = 3000;
/** Upper bound on any Redis command, so a slow Redis cannot hold a request. */
const COMMAND_TIMEOUT_MS = 250;
/** How long the first connection may take before Redis counts as unreachable (ioredis's connectTimeout). */
const CONNECT_TIMEOUT_MS = 2000;

export type SyncStatus = 'connected' | 'degraded';


type Client = Redis | Cluster;

interface ScriptClient {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export class RedisSync implements Reserver {
  readonly instanceId = randomUUID();
  readonly #settings: RedisSettings;
  #actors: readonly GroupActor[];
  /** Every deployment id, in the order the actors list them (the order of a round's keys and answers). */
  #ids: readonly string[];
  /** Deployment id → its actor, for cooldowns published by other instances. */
  #actorOf: ReadonlyMap<string, GroupActor>;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #tag: string;
  #client: Client | null = null;
  #sub: Client | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #syncing = false;
  #lastOk = 0;
  #lostLogged = false;
  /**
   * Still making the first connection: not ready yet, no error and within CONNECT_TIMEOUT_MS
   * of start. Sync rounds then skip quietly; a start with Redis up is not a loss.
   */
  #connecting = false;
  #startedAt = 0;
  /** The client's last connection error, for the one "unreachable" line. */
  #lastError: Error | null = null;
  #liveInstances = 1;
  /** Told how long each sync round took and whether it succeeded (metrics). */
  onRound: ((ms: number, ok: boolean) => void) | null = null;
  readonly #sha = new Map<string, string>();

  constructor(settings: RedisSettings, actors: readonly GroupActor[], log: Logger, clock: () => number = Date.now) {
    this.#settings = settings;
    this.#actors = actors;
    this.#ids = actors.flatMap((a) => a.syncIds);
    this.#actorOf = new Map(actors.flatMap((a) => a.syncIds.map((id) => [id, a] as const)));
    this.#log = log;
    this.#clock = clock;
    this.#tag = `{${settings.namespace}}`;
    for (const a of actors) a.attachSync();
  }

  /**
   * A config reload: sync the new router's actors from the next round on. A round in flight
   * finishes on the actors it drained (kept deployments share their ledger, so nothing is lost).
   */
  switchActors(actors: readonly GroupActor[]): void {
    for (const a of actors) a.attachSync();
    this.#actors = actors;
    this.#ids = actors.flatMap((a) => a.syncIds);
    this.#actorOf = new Map(actors.flatMap((a) => a.syncIds.map((id) => [id, a] as const)));
  }

  get status(): SyncStatus {
    return this.#clock() - this.#lastOk < SHARED_STALE_MS ? 'connected' : 'degraded';
  }

  /** Instances that heartbeated within the last few seconds, as of the last sync. */
  get liveInstances(): number {
    return this.#liveInstances;
  }

  #options(): RedisOptions {
    const s = this.#settings;
    return {
      host: s.host ?? undefined,
      port: s.port ?? undefined,
      password: s.password ?? undefined,
      username: s.username ?? undefined,
      tls: s.tls ? {} : undefined,
      lazyConnect: true,
      // Fail fast while disconnected: a request must never queue behind a dead Redis.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    };
  }

  #connect(): Client {
    const s = this.#settings;
    if (s.mode === 'cluster') {
      const { host: _h, port: _p, enableOfflineQueue: _q, retryStrategy: _r, ...redisOptions } = this.#options();
      return new Cluster(s.startupNodes.map((n) => ({ host: n.host, port: n.port })), {
        lazyConnect: true,
        enableOfflineQueue: false,
        redisOptions,
        clusterRetryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      });
    }
    return s.url ? new Redis(s.url, this.#options()) : new Redis(this.#options());
  }

  /** Connects in the background (a Redis that is down at start never blocks serving) and starts syncing. */
  start(): void {
    this.#client = this.#connect();
    this.#sub = this.#connect();
    this.#connecting = true;
    this.#startedAt = this.#clock();
    // ioredis reports connection errors here; the sync loop logs the loss once.
    this.#client.on('error', (err: unknown) => {
      this.#connecting = false;
      this.#lastError = err instanceof Error ? err : new Error(String(err));
    });
    this.#sub.on('error', () => undefined);
    for (const c of [this.#client, this.#sub]) void c.connect().catch(() => undefined);
    const channel = `${this.#tag}:cooldowns`;
    this.#sub.on('ready', () => {
      void this.#sub!.subscribe(channel).catch(() => undefined);
    });
    this.#sub.on('message', (_ch: string, message: string) => this.#onCooldownMessage(message));
    this.#client.on('ready', () => {
      this.#connecting = false;
      void this.#readCooldowns();
    });
    this.#client.on('close', () => this.#dropLeases());
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.syncNow().finally(() => this.#schedule()), this.#settings.syncIntervalMs);
    this.#timer.unref();
  }

  /**
   * Stops syncing. By default one last flush keeps what this instance sent counted for its
   * window; `flush: false` goes silent at once, as a crashed instance would (tests use it).
   */
  async stop(opts: { flush?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (opts.flush !== false) await this.syncNow().catch(() => undefined);
    for (const c of [this.#client, this.#sub]) c?.disconnect();
  }

  async #script(name: 'SYNC' | 'RESERVE', keys: string[], args: (string | number)[]): Promise<unknown> {
    const c = this.#client as unknown as ScriptClient;
    const source = name === 'SYNC' ? SYNC : RESERVE;
    const sha = this.#sha.get(name);
    if (sha) {
      try {
        return await c.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      }
    }
    const result = await c.eval(source, keys.length, ...keys, ...args);
    this.#sha.set(name, createHash('sha1').update(source).digest('hex'));
    return result;
  }

  #keys(id: string): [string, string, string] {
    return [`${this.#tag}:u:${id}`, `${this.#tag}:l:${id}`, `${this.#tag}:f:${id}`];
  }

  /** One sync round: flush deltas, read totals, renew leases. Safe to call at any time. */
  async syncNow(): Promise<void> {
    if (this.#syncing) return;
    if (this.#client === null || this.#client.status !== 'ready') {
      this.#dropLeases();
      if (this.#connecting && this.#clock() - this.#startedAt < CONNECT_TIMEOUT_MS) return;
      this.#connecting = false;
      this.#noteLoss(this.#lastError);
      return;
    }
    this.#syncing = true;
    const now = this.#clock();
    const keys: string[] = [`${this.#tag}:i`];
    // The round's actors, fixed for it: a reload may switch them while it waits on Redis.
    const actors = this.#actors;
    const args: (string | number)[] = [this.instanceId, now, HEARTBEAT_TTL_MS, this.#ids.length];
    const drained: SyncDelta[][] = actors.map((a) => a.drainForSync(now));
    for (const deltas of drained) {
      for (const d of deltas) {
        keys.push(...this.#keys(d.id));
        args.push(d.rpm ?? -1, d.leaseRemaining, d.pending.length);
        for (const p of d.pending) args.push(p.second, p.requests, p.tokens);
        args.push(d.localInFlight);
      }
    }
    const t0 = performance.now();
    try {
      const out = (await this.#script('SYNC', keys, args)) as number[];
      const at = this.#clock();
      this.#liveInstances = Number(out[0]);
      let i = 0;
      for (const a of actors) {
        const views: SharedView[] = [];
        for (let k = 0; k < a.syncIds.length; k++, i++) {
          const o = 1 + i * 5;
          views.push({
            requests: Number(out[o]),
            tokens: Number(out[o + 1]),
            remoteInFlight: Number(out[o + 2]),
            lease: Number(out[o + 3]),
            leasedByOthers: Number(out[o + 4]),
          });
        }
        a.applySync(at, views);
      }
      this.#lastOk = at;
      this.onRound?.(performance.now() - t0, true);
      if (this.#lostLogged) {
        this.#lostLogged = false;
        this.#log.info('redis: reconnected; shared limits, cooldowns and counts resume');
      }
    } catch (err) {
      // Not flushed: put the deltas back so the next successful round counts them. Leases are
      // void: the server may be gone with them, and a restarted one would grant the budget again.
      actors.forEach((a, i) => a.restoreUnflushed(drained[i]!));
      this.onRound?.(performance.now() - t0, false);
      this.#noteLoss(err);
    } finally {
      this.#syncing = false;
    }
  }

  #dropLeases(): void {
    for (const a of this.#actors) a.dropLeases();
  }

  #noteLoss(err?: unknown): void {
    if (this.#lostLogged || this.#clock() - this.#lastOk < SHARED_STALE_MS) return;
    this.#lostLogged = true;
    const why = err instanceof Error ? `: ${err.message}` : '';
    this.#log.warn(`redis: unreachable${why}; serving on local state (limits and cooldowns per instance until it returns)`);
  }

  /**
   * Reserves one request for a deployment whose lease is spent. `unavailable` when Redis is
   * down or slow: the caller falls back to its local window.
   */
  async reserve(deploymentId: string, rpm: number): Promise<Reservation> {
    if (this.#client === null || this.#client.status !== 'ready') return { ok: 'unavailable' };
    try {
      const [usage, leases] = this.#keys(deploymentId);
      const out = (await this.#script('RESERVE', [usage, leases], [this.#clock(), rpm])) as number[];
      return Number(out[0]) === 1 ? { ok: true } : { ok: false, retryAfterMs: Math.max(1, Number(out[1])) };
    } catch {
      return { ok: 'unavailable' };
    }
  }

  /** Writes a cooldown with its expiry and tells every instance at once. */
  publishCooldown(deploymentId: string, untilMs: number): void {
    const c = this.#client;
    if (c === null || c.status !== 'ready') return;
    const ms = Math.max(1, Math.round(untilMs - this.#clock()));
    const key = `${this.#tag}:cd:${deploymentId}`;
    void c.set(key, String(untilMs), 'PX', ms).catch(() => undefined);
    void c.publish(`${this.#tag}:cooldowns`, `${this.instanceId}|${deploymentId}|${untilMs}`).catch(() => undefined);
  }

  #onCooldownMessage(message: string): void {
    const [from, id, until] = message.split('|');
    if (from === this.instanceId || id === undefined) return;
    const actor = this.#actorOf.get(id);
    const untilMs = Number(until);
    if (actor && Number.isFinite(untilMs)) actor.applyRemoteCooldown(id, this.#clock(), untilMs);
  }

  /** On (re)connect: cooldowns that started while this instance was not listening. */
  async #readCooldowns(): Promise<void> {
    const c = this.#client;
    const ids = this.#ids;
    if (c === null || ids.length === 0) return;
    try {
      const keys = ids.map((id) => `${this.#tag}:cd:${id}`);
      const values = await c.mget(...keys);
      const now = this.#clock();
      values.forEach((v, i) => {
        const until = Number(v);
        const id = ids[i]!;
        if (v !== null && Number.isFinite(until)) this.#actorOf.get(id)?.applyRemoteCooldown(id, now, until);
      });
    } catch {
      /* the next reconnect tries again */
    }
  }
}
