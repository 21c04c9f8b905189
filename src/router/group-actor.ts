/**
 * One actor per model group: the only writer of its deployments' state. DeploymentState keeps
 * its fields private and hands the rest of the code a read-only DeploymentView; every change
 * is a synchronous method call on this actor on the main thread (`acquire`, `admit`,
 * `Lease.done` → `settle`, the sync methods `drainForSync`/`applySync`/`restoreUnflushed`/
 * `dropLeases`, `applyRemoteCooldown`, `coolFromHealthCheck`), never split by an await, so
 * there is no interleaving to reason about. Tests and logs read `snapshot()`.
 *
 * Eligibility is decided here, once, before the picker runs: cooldown, rpm/tpm windows,
 * concurrency caps, an explicit deployment, and the priority tier (`order`). Pickers only rank.
 */
import { DeploymentState, type DeploymentSnapshot, type DeploymentView, type SyncDelta } from './deployment-state.js';
import { classifyFailure } from './policy/classify.js';
import { cooldownMs, nextCooldownAfterProbeFailure, resolveCooldownTime, type AllowedFailsPolicy } from './policy/cooldowns.js';
import type { PickContext, Picker } from './strategies/types.js';
import type { SharedView } from './sync-ledger.js';
import type { Outcome } from './types.js';
import type { GroupMetrics } from '../metrics/prometheus.js';

export type { Outcome } from './types.js';
export { DeploymentState, type DeploymentSnapshot, type DeploymentView, type SyncDelta } from './deployment-state.js';

/** A group's state at one moment: plain data, safe to keep and compare. */
export interface GroupSnapshot {
  readonly name: string;
  readonly inFlight: number;
  /** Requests waiting for a max_parallel_requests slot. */
  readonly waiting: number;
  readonly deployments: readonly DeploymentSnapshot[];
}

/** A counted request on one deployment. `done` settles it exactly once; later calls are no-ops. */
export class Lease {
  readonly #state: DeploymentState;
  readonly startedAt: number;
  /** The request's `cooldown_time`, when it gave one. */
  readonly cooldownTimeMs: number | null;
  #actor: GroupActor | null;

  constructor(actor: GroupActor, deployment: DeploymentState, now: number, cooldownTimeMs: number | null) {
    this.#actor = actor;
    this.#state = deployment;
    this.startedAt = now;
    this.cooldownTimeMs = cooldownTimeMs;
  }

  /** The leased deployment, read-only. */
  get deployment(): DeploymentView {
    return this.#state;
  }

  done(outcome: Outcome, now: number): void {
    const actor = this.#actor;
    if (actor === null) return;
    this.#actor = null;
    actor.settle(this.#state, outcome, now, this.startedAt, this.cooldownTimeMs);
  }
}

/** What an attempt asks of the actor beyond the pick context. */
export interface AcquireOptions {
  /** Only this deployment may serve (the client named its id). */
  readonly deploymentId?: string | null;
  /** Deployments already tried by this request. */
  readonly exclude?: ReadonlySet<string> | null;
  /** Deployment ids that pass the pre-call checks (context window); null = all. */
  readonly allow?: ReadonlySet<string> | null;
  /** The request's own `cooldown_time` (ms), which beats the deployment's and the router's. */
  readonly cooldownTimeMs?: number | null;
  /**
   * The prompt's tokens, for the tpm check (`tpm_used + prompt > tpm` skips a deployment);
   * 0 = not counted (no tpm limit, or every tpm deployment has room for any prompt this size).
   */
  readonly promptTokens?: number;
}

/** Why no deployment could be picked, and when to try again. */
export interface Unavailable {
  readonly reason: 'cooldown' | 'limits' | 'parallel' | 'none';
  /** Milliseconds until a deployment frees up, when known. */
  readonly retryAfterMs: number;
  /** Deployments cooling down (ids), for the message. */
  readonly cooling: readonly string[];
  /** The shortest cooldown length (ms) among them, as set when each began; null when none is cooling. */
  readonly shortestCooldownMs?: number | null;
}

/** The router-wide cooldown settings an actor applies (LiteLLM's router_settings). */
export interface CooldownSettings {
  /** `cooldown_time` (default 5 s); 0 disables cooldowns. */
  readonly cooldownTimeMs: number;
  readonly disabled: boolean;
  readonly allowedFails: number | null;
  readonly allowedFailsPolicy: AllowedFailsPolicy | null;
}

export interface ActorOptions {
  /** Requests that may wait for a concurrency slot; more are refused at once. */
  readonly maxQueue: number;
  readonly cooldown: CooldownSettings;
  /** Told when a deployment starts cooling (logs now; Redis publishes it later). */
  readonly onCooldown?: (d: DeploymentView, ms: number, why: string) => void;
  /** Pre-bound Prometheus children for the group (queue waits); absent = no metrics. */
  readonly metrics?: GroupMetrics | null;
}

const defaultActorOptions: ActorOptions = {
  maxQueue: 1000,
  cooldown: { cooldownTimeMs: 5000, disabled: false, allowedFails: null, allowedFailsPolicy: null },
};

export class GroupActor {
  readonly name: string;
  /** The group's deployments, read-only (changes go through this actor's methods). */
  readonly deployments: readonly DeploymentView[];
  readonly #states: readonly DeploymentState[];
  /** The first entry of each id: one per state, for what is counted once per id (sync, in-flight totals). */
  readonly #unique: readonly DeploymentState[];
  readonly #byId: ReadonlyMap<string, DeploymentState>;
  readonly #pick: Picker;
  readonly #opts: ActorOptions;
  /** Reused between picks: the eligible candidates of the best tier. */
  readonly #eligible: DeploymentState[] = [];
  /** Requests waiting for a concurrency slot, oldest first. */
  #waiters: Array<() => void> = [];

  constructor(name: string, deployments: readonly DeploymentState[], pick: Picker, opts: ActorOptions = defaultActorOptions) {
    this.name = name;
    this.deployments = deployments;
    this.#states = deployments;
    // Entries with one id share one state, as LiteLLM keys it by id: a 429 or 401 on either
    // cools both, and their usage and in-flight counts are one. A lookup by id finds the first
    // (LiteLLM's get_deployment returns the first match).
    const byId = new Map<string, DeploymentState>();
    for (const d of deployments) {
      const first = byId.get(d.id);
      if (first === undefined) byId.set(d.id, d);
      else d.shareHealthWith(first);
    }
    this.#byId = byId;
    this.#unique = [...byId.values()];
    this.syncIds = this.#unique.map((d) => d.id);
    this.hasLimits = deployments.some((d) => d.rpm !== null || d.tpm !== null);
    this.hasTpm = deployments.some((d) => d.tpm !== null);
    this.#pick = pick;
    this.#opts = opts;
  }

  /**
   * An actor of the same name, picker and cooldown rules over `states` (a request's own
   * credentials, credential-actors.ts), without metrics.
   */
  derive(states: readonly DeploymentState[]): GroupActor {
    return new GroupActor(this.name, states, this.#pick, { ...this.#opts, metrics: null });
  }

  /** The group's metrics (whole-request latency, retries, queue waits); null without metrics. */
  get metrics(): GroupMetrics | null {
    return this.#opts.metrics ?? null;
  }

  /** True when some deployment has an rpm or tpm, so responses carry x-ratelimit headers. */
  readonly hasLimits: boolean;
  /** True when some deployment has a tpm: only then does a prompt's size matter to admission. */
  readonly hasTpm: boolean;

  /**
   * Whether a prompt of up to `bound` tokens could be refused by some deployment's tpm that
   * would take a prompt of one token: only then is the exact count worth making. Reads (and
   * refreshes) the usage windows; changes nothing else.
   */
  promptMayNotFit(bound: number, now: number): boolean {
    for (const d of this.#states) {
      if (d.tpm === null) continue;
      d.refreshUsage(now);
      if (d.fitsTokens(1) && !d.fitsTokens(bound)) return true;
    }
    return false;
  }

  /** The group's distinct deployment ids, in the order the sync methods take and give their deltas and views. */
  readonly syncIds: readonly string[];

  /** Picks a deployment and counts the request; `Unavailable` says why none could be. */
  acquire(ctx: PickContext, opts: AcquireOptions = {}): Lease | Unavailable | { readonly reserve: DeploymentView } {
    const now = ctx.now;
    const eligible = this.#eligible;
    eligible.length = 0;
    let minOrder = Number.POSITIVE_INFINITY;
    let blockedCooldown = 0;
    let blockedLimits = 0;
    let blockedParallel = 0;
    const pinned = opts.deploymentId ?? null;
    const promptTokens = opts.promptTokens ?? 0;
    const pool = pinned !== null ? [this.#byId.get(pinned)].filter((d): d is DeploymentState => d !== undefined) : this.#states;
    for (const d of pool) {
      if (opts.exclude?.has(d.id) || (opts.allow && !opts.allow.has(d.id))) continue;
      // Half-open: while the probe is out, the deployment stays closed to other traffic.
      const why = d.isClosed(now) ? 'cooldown' : d.limitedBy(d.refreshUsage(now), promptTokens);
      // A deployment named by id skips cooldown, as in LiteLLM; its limits still hold.
      if (why === 'cooldown' && pinned === null) { blockedCooldown++; continue; }
      if (why === 'rpm' || why === 'tpm') { blockedLimits++; continue; }
      if (why === 'parallel') { blockedParallel++; continue; }
      eligible.push(d);
      if (d.order < minOrder) minOrder = d.order;
    }
    if (eligible.length === 0) return this.#unavailable(now, pool, blockedCooldown, blockedLimits, blockedParallel, promptTokens);
    // Priority tiers: only the lowest tier with an available deployment; the rest spill over when it is exhausted.
    if (minOrder !== Number.POSITIVE_INFINITY) {
      let w = 0;
      for (let i = 0; i < eligible.length; i++) if (eligible[i]!.order === minOrder) eligible[w++] = eligible[i]!;
      eligible.length = w;
    }
    const d = this.#pick(eligible, ctx);
    eligible.length = 0;
    if (d === null) return { reason: 'none', retryAfterMs: 1000, cooling: [] };
    if (d.needsReservation(now)) return { reserve: d };
    return this.#admit(d, now, false, opts);
  }

  /** Counts the request on `d` after a reservation was answered (`reserved`: Redis counted it) and hands out its lease. */
  admit(d: DeploymentView, now: number, reserved: boolean, opts: AcquireOptions = {}): Lease {
    // The entry that was picked (twins share state but each keeps its own targets).
    const picked = this.#states.find((s) => s === d) ?? this.#byId.get(d.id)!;
    return this.#admit(picked, now, reserved, opts);
  }

  #admit(d: DeploymentState, now: number, reserved: boolean, opts: AcquireOptions): Lease {
    d.admit(now, reserved);
    return new Lease(this, d, now, opts.cooldownTimeMs ?? null);
  }

  #unavailable(now: number, pool: readonly DeploymentState[], cooldown: number, limits: number, parallel: number, promptTokens: number): Unavailable {
    const coolingStates = pool.filter((d) => d.cooldownUntil > now);
    const cooling = coolingStates.map((d) => d.id);
    let shortest = Number.POSITIVE_INFINITY;
    for (const d of coolingStates) if (d.lastCooldownMs > 0 && d.lastCooldownMs < shortest) shortest = d.lastCooldownMs;
    const shortestCooldownMs = Number.isFinite(shortest) ? shortest : null;
    if (parallel > 0) return { reason: 'parallel', retryAfterMs: 1000, cooling, shortestCooldownMs };
    let soonest = Number.POSITIVE_INFINITY;
    for (const d of pool) {
      const ms = d.cooldownUntil > now ? d.cooldownUntil - now : d.msUntilCapacity(now, promptTokens);
      if (ms < soonest) soonest = ms;
    }
    const retryAfterMs = Number.isFinite(soonest) ? Math.max(soonest, 1) : 1000;
    if (limits > 0) return { reason: 'limits', retryAfterMs, cooling, shortestCooldownMs };
    if (cooldown > 0) return { reason: 'cooldown', retryAfterMs, cooling, shortestCooldownMs };
    return { reason: 'none', retryAfterMs, cooling, shortestCooldownMs };
  }

  /**
   * Waits (bounded) for a concurrency slot to free; resolves false when the queue is full or
   * the wait times out. The caller then tries `acquire` again.
   */
  waitForSlot(timeoutMs: number): Promise<boolean> {
    if (this.#waiters.length >= this.#opts.maxQueue) return Promise.resolve(false);
    const metrics = this.#opts.metrics ?? null;
    const since = metrics !== null ? performance.now() : 0;
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        metrics?.waited(performance.now() - since);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(wake);
        if (i !== -1) this.#waiters.splice(i, 1);
        metrics?.waited(performance.now() - since);
        resolve(false);
      }, timeoutMs);
      this.#waiters.push(wake);
    });
  }

  /** Called once per lease, by `Lease.done`. Health bookkeeping happens here, synchronously. */
  settle(d: DeploymentState, outcome: Outcome, now: number, startedAt: number, requestCooldownMs: number | null = null): void {
    const probe = d.release();
    d.metrics?.settle(outcome);
    switch (outcome.kind) {
      case 'ok':
        d.recordSuccess(now, outcome.latencyMs, outcome.usage, outcome.ttftMs);
        d.countOutcome(now, false);
        if (probe) d.closeCircuit();
        break;
      case 'client-aborted':
      case 'worker-failed':
        // Never counts against the deployment; a probe that was cut short gets another go.
        break;
      default: {
        if (outcome.kind === 'timeout') d.recordTimeout(now, now - startedAt);
        d.countOutcome(now, true);
        this.#maybeCoolDown(d, outcome, now, probe, requestCooldownMs);
      }
    }
    // A slot freed: the oldest waiter tries again.
    const w = this.#waiters.shift();
    w?.();
  }

  #maybeCoolDown(d: DeploymentState, outcome: Exclude<Outcome, { kind: 'ok' | 'client-aborted' | 'worker-failed' }>, now: number, probe: boolean, requestCooldownMs: number | null): void {
    const c = this.#opts.cooldown;
    const { ms: base, explicit } = resolveCooldownTime({ requestMs: requestCooldownMs, deploymentMs: d.cfg.cooldownTimeMs ?? null, routerMs: c.cooldownTimeMs });
    const status = outcome.kind === 'upstream-error' ? outcome.status : outcome.kind === 'timeout' ? 408 : null;
    const cls = classifyFailure({ status, kind: outcome.kind });
    const retryAfterMs = outcome.kind === 'upstream-error' ? outcome.retryAfterMs : null;
    d.recordFailure(now, base);
    const decision = cooldownMs({
      cls,
      status,
      groupSize: this.deployments.length,
      stats: d.stats,
      allowedFails: c.allowedFails,
      allowedFailsPolicy: c.allowedFailsPolicy,
      failedCallsInWindow: d.failedCalls,
      cooldownTimeMs: base,
      cooldownTimeExplicit: explicit,
      retryAfterMs,
      disabled: c.disabled,
      wildcard: d.cfg.group.includes('*'),
    });
    if (decision.countFailedCall) d.countFailedCall();
    let ms = decision.coolMs;
    // A failed half-open probe cools for longer than last time (capped), whatever the rule said.
    if (probe && base > 0 && !c.disabled && cls !== 'connection') ms = Math.max(ms, nextCooldownAfterProbeFailure(d.lastCooldownMs, base));
    if (ms > 0) {
      d.coolDown(now, ms);
      d.metrics?.cooledDown(status);
      this.#opts.onCooldown?.(d, ms, probe ? 'half-open probe failed' : `${cls}${status !== null ? ` (${status})` : ''}`);
    }
  }

  /** The deployment with this id, or undefined. */
  deployment(id: string): DeploymentView | undefined {
    return this.#byId.get(id);
  }

  /** With Redis unreachable, whether `d`'s own window still has room under its rpm. */
  underLocalRpm(d: DeploymentView, now: number): boolean {
    return this.#byId.get(d.id)!.localRequests(now) < (d.rpm ?? Number.POSITIVE_INFINITY);
  }

  /** A failed background health check: cools the deployment like a failure would, and says so. */
  coolFromHealthCheck(id: string, now: number, ms: number): void {
    const d = this.#byId.get(id);
    if (d === undefined) return;
    d.coolDown(now, ms);
    d.metrics?.cooledDown(null);
    this.#opts.onCooldown?.(d, ms, 'background health check failed');
  }

  /**
   * A config reload: each of this (new) actor's deployments whose id one of `previous` had takes
   * over that deployment's state (DeploymentState.adopt). Returns how many were kept.
   */
  adoptFrom(previous: Iterable<GroupActor>): number {
    let kept = 0;
    for (const old of previous) {
      for (const [id, d] of this.#byId) {
        const was = old.#byId.get(id);
        if (was !== undefined) {
          d.adopt(was);
          kept++;
        }
      }
    }
    return kept;
  }

  // --- the sync port's side: what RedisSync calls, each a synchronous change -------------------

  /** From now on admitted usage is kept for the sync rounds. */
  attachSync(): void {
    for (const d of this.#unique) d.attachSync();
  }

  /** Outbound half of a sync round: each id's unflushed usage and local in-flight count, in `syncIds` order. */
  drainForSync(now: number): SyncDelta[] {
    return this.#unique.map((d) => d.drainForSync(now));
  }

  /** The round's answer, one view per id in `syncIds` order, applied with no await between them. */
  applySync(at: number, views: readonly SharedView[]): void {
    for (let i = 0; i < this.#unique.length; i++) this.#unique[i]!.applySync(at, views[i]!);
  }

  /** A round failed: its usage goes back to be flushed next time, and the leases are void. */
  restoreUnflushed(deltas: readonly SyncDelta[]): void {
    for (let i = 0; i < this.#unique.length; i++) {
      this.#unique[i]!.restorePending(deltas[i]!.pending);
      this.#unique[i]!.dropLease();
    }
  }

  /** Redis is gone (or restarted): every lease is void until the next grant. */
  dropLeases(): void {
    for (const d of this.#unique) d.dropLease();
  }

  /** A cooldown another instance published (or one read on reconnect); false when the id is not ours. */
  applyRemoteCooldown(id: string, now: number, untilMs: number): boolean {
    const d = this.#byId.get(id);
    if (d === undefined) return false;
    d.applyRemoteCooldown(now, untilMs);
    return true;
  }

  /** The group's state now, as plain data. */
  snapshot(): GroupSnapshot {
    return { name: this.name, inFlight: this.inFlight(), waiting: this.#waiters.length, deployments: this.#states.map((d) => d.snapshot()) };
  }

  /** Deployments not cooling down right now (LiteLLM's "healthy" count for retry decisions). */
  healthyCount(now: number): number {
    let n = 0;
    for (const d of this.deployments) if (d.cooldownUntil <= now) n++;
    return n;
  }

  /** Requests in flight across the group (tests use it to prove leases return to zero). */
  inFlight(): number {
    let n = 0;
    for (const d of this.#unique) n += d.localInFlight;
    return n;
  }

  /** x-ratelimit-* headers for the group: sums of limits and what is left in the window. */
  rateLimitHeaders(now: number): string[] {
    let rpm = 0;
    let tpm = 0;
    let usedReq = 0;
    let usedTok = 0;
    let anyRpm = false;
    let anyTpm = false;
    // Once per id: entries sharing an id share one window, so its capacity counts once.
    for (const d of this.#unique) {
      if (d.rpm !== null) { anyRpm = true; rpm += d.rpm; usedReq += d.localRequests(now); }
      if (d.tpm !== null) { anyTpm = true; tpm += d.tpm; usedTok += d.localTokens(now); }
    }
    const h: string[] = [];
    if (anyRpm) h.push('x-ratelimit-limit-requests', String(rpm), 'x-ratelimit-remaining-requests', String(Math.max(0, rpm - usedReq)));
    if (anyTpm) h.push('x-ratelimit-limit-tokens', String(tpm), 'x-ratelimit-remaining-tokens', String(Math.max(0, Math.round(tpm - usedTok))));
    return h;
  }
}
