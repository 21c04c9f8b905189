/**
 * One actor per model group: the only writer of its deployments' state. Every change is a
 * synchronous method call on the main thread (`acquire`, `Lease.done`), never split by an
 * await, so there is no interleaving to reason about.
 *
 * Eligibility is decided here, once, before the picker runs: cooldown, rpm/tpm windows,
 * concurrency caps, an explicit deployment, and the priority tier (`order`). Pickers only rank.
 */
import type { DeploymentConfig } from '../config/types.js';
import type { Endpoint, UpstreamTarget } from '../providers/index.js';
import type { Usage } from '../upstream/wire.js';
import { classifyFailure, cooldownMs, nextCooldownAfterProbeFailure, resolveCooldownTime, type AllowedFailsPolicy } from './policy.js';
import { updatePeakEwma } from './strategies/peak-ewma.js';
import type { Candidate, PickContext, Picker } from './strategies/types.js';
import { UsageWindow } from './usage-window.js';

/** How an attempt ended. A closed union: every path through a lease ends in exactly one. */
export type Outcome =
  | { readonly kind: 'ok'; readonly latencyMs: number; readonly usage: Usage | null; readonly ttftMs?: number }
  | { readonly kind: 'upstream-error'; readonly status: number; readonly retryAfterMs: number | null }
  | { readonly kind: 'timeout'; readonly phase: 'first-byte' | 'between-chunks' | 'total' }
  | { readonly kind: 'connect-error'; readonly message: string }
  /** Never counts against the deployment. */
  | { readonly kind: 'client-aborted' };

/** LiteLLM's lowest_latency keeps the last 10 samples per deployment. */
const LATENCY_SAMPLES = 10;
/** A shared view older than this is not trusted (Redis is gone): local rules take over. */
const SHARED_STALE_MS = 1500;
/** LiteLLM appends a 1000 s sample when a deployment times out, so it drops to the back. */
const TIMEOUT_PENALTY_S = 1000;

export class DeploymentState implements Candidate {
  readonly cfg: DeploymentConfig;
  readonly id: string;
  readonly weight: number | null;
  readonly rpm: number | null;
  readonly tpm: number | null;
  /** Priority tier; deployments without `order` come after every ordered tier. */
  readonly order: number;
  /** Concurrency cap (`max_parallel_requests`, else the router default); null = none. */
  readonly maxParallel: number | null;
  readonly costPerToken: number;
  /** Upstream URL and headers per endpoint; null for mock deployments. */
  readonly targets: Readonly<Record<Endpoint, UpstreamTarget>> | null;
  /** `x-litellm-model-id`, `x-litellm-model-api-base` as flat header pairs, computed once. */
  readonly responseHeaders: readonly string[];
  /** Label for messages and logs: never contains a key. */
  readonly label: string;
  readonly window = new UsageWindow();

  /** Requests in flight from this instance: what leases count and shutdown waits for. */
  localInFlight = 0;
  /** Requests in flight to this deployment from other live instances (from the last sync). */
  remoteInFlight = 0;
  successes = 0;
  failures = 0;
  /** Epoch ms until which the deployment is cooling down (0 = not cooling). */
  cooldownUntil = 0;
  /** Length of the last cooldown, ms; a failed half-open probe cools for longer than this. */
  lastCooldownMs = 0;
  /** After a cooldown ends, one probe request tests the deployment before full traffic returns. */
  halfOpen = false;
  probeInFlight = false;
  /** LiteLLM's per-deployment success/failure counters: a 60 s window fixed from its first event. */
  statsSince = 0;
  statsSuccesses = 0;
  statsFailures = 0;
  /** LiteLLM's `failed_calls` for allowed_fails (its window is the cooldown time, fixed from the first failure). */
  failedCalls = 0;
  failedCallsUntil = 0;
  // Candidate fields the actor refreshes before each pick.
  windowRequests = 0;
  windowTokens = 0;
  latencyScore: number | null = null;
  ttftScore: number | null = null;
  latencyUpdatedAt: number | null = null;
  ewmaMs: number | null = null;
  ewmaUpdatedAt: number | null = null;
  /** Requests this instance may still admit before its next sync without asking Redis (its lease). */
  leaseRemaining = 0;
  /** The cluster view from the last sync; null without Redis. */
  #shared: { at: number; requests: number; tokens: number; leasedByOthers: number } | null = null;
  #syncAttached = false;
  /** `leaseRemaining` when the current sync round was sent (its carry). */
  #carryAtDrain = 0;
  /** Usage not yet flushed to Redis, by epoch second. */
  #pending = new Map<number, { requests: number; tokens: number }>();
  #pendingRequests = 0;
  #pendingTokens = 0;
  /** Requests reserved in Redis one by one since the last sync (already counted there). */
  #reservedSinceSync = 0;
  readonly #latency: number[] = [];
  readonly #ttft: number[] = [];

  constructor(
    cfg: DeploymentConfig,
    targets: Readonly<Record<Endpoint, UpstreamTarget>> | null,
    opts: { costPerToken: number; defaultMaxParallel: number | null },
  ) {
    this.cfg = cfg;
    this.id = cfg.id;
    this.weight = cfg.weight;
    this.rpm = cfg.rpm;
    this.tpm = cfg.tpm;
    this.order = cfg.order ?? Number.POSITIVE_INFINITY;
    this.maxParallel = cfg.maxParallelRequests ?? opts.defaultMaxParallel;
    this.costPerToken = opts.costPerToken;
    this.targets = targets;
    const apiBase = cfg.apiBase === null ? '' : cfg.apiBase.split('?')[0]!;
    this.responseHeaders = apiBase === ''
      ? ['x-litellm-model-id', cfg.id]
      : ['x-litellm-model-id', cfg.id, 'x-litellm-model-api-base', apiBase];
    this.label = `${cfg.group}/${cfg.id.length > 16 ? cfg.id.slice(0, 12) : cfg.id}`;
  }

  /** What pickers rank on: requests in flight across the cluster (local alone without Redis). */
  get inFlight(): number {
    return this.localInFlight + this.remoteInFlight;
  }

  /** The shared view when it is fresh enough to trust (see RedisSync); null means local rules apply. */
  #sharedView(now: number): { requests: number; tokens: number; leasedByOthers: number } | null {
    const sh = this.#shared;
    return sh !== null && now - sh.at < SHARED_STALE_MS ? sh : null;
  }

  /** Why this deployment cannot take a request now, or null when it can. */
  blockedBy(now: number): 'cooldown' | 'rpm' | 'tpm' | 'parallel' | null {
    if (this.cooldownUntil > now) return 'cooldown';
    // Half-open: while the probe is out, the deployment stays closed to other traffic.
    if (this.halfOpen && this.probeInFlight) return 'cooldown';
    const sh = this.#sharedView(now);
    if (sh !== null) {
      this.windowRequests = sh.requests + this.#pendingRequests + this.#reservedSinceSync;
      this.windowTokens = sh.tokens + this.#pendingTokens;
      // Past the lease, a request needs a reservation; skip the round trip when it is clearly full.
      if (this.rpm !== null && this.leaseRemaining <= 0 && this.windowRequests + sh.leasedByOthers >= this.rpm) return 'rpm';
    } else {
      this.windowRequests = this.window.requests(now);
      this.windowTokens = this.window.tokens(now);
      if (this.rpm !== null && this.windowRequests >= this.rpm) return 'rpm';
    }
    if (this.tpm !== null && this.windowTokens >= this.tpm) return 'tpm';
    if (this.maxParallel !== null && this.localInFlight >= this.maxParallel) return 'parallel';
    return null;
  }

  /** True when admitting a request needs an atomic reservation in Redis first (its lease is spent). */
  needsReservation(now: number): boolean {
    return this.rpm !== null && this.leaseRemaining <= 0 && this.#sharedView(now) !== null;
  }

  /** Counts one admitted request. `reserved`: already counted in Redis by a reservation. */
  admit(now: number, reserved: boolean): void {
    this.localInFlight++;
    this.window.add(now, 1, 0);
    this.windowRequests++;
    if (!this.#syncAttached) return;
    if (reserved) {
      this.#reservedSinceSync++;
      return;
    }
    if (this.leaseRemaining > 0) this.leaseRemaining--;
    this.#addPending(now, 1, 0);
  }

  attachSync(): void {
    this.#syncAttached = true;
  }

  #addPending(now: number, requests: number, tokens: number): void {
    const s = Math.floor(now / 1000);
    const p = this.#pending.get(s);
    if (p) {
      p.requests += requests;
      p.tokens += tokens;
    } else {
      this.#pending.set(s, { requests, tokens });
    }
    this.#pendingRequests += requests;
    this.#pendingTokens += tokens;
  }

  /** Takes the unflushed usage for a sync round (dropping seconds already out of every window). */
  drainPending(now: number): Array<{ second: number; requests: number; tokens: number }> {
    this.#carryAtDrain = this.leaseRemaining;
    const oldest = Math.floor(now / 1000) - 60;
    const out: Array<{ second: number; requests: number; tokens: number }> = [];
    for (const [second, p] of this.#pending) if (second >= oldest) out.push({ second, ...p });
    this.#pending = new Map();
    this.#pendingRequests = 0;
    this.#pendingTokens = 0;
    return out;
  }

  /** Puts back usage a failed sync round did not flush. */
  restorePending(items: ReadonlyArray<{ second: number; requests: number; tokens: number }>): void {
    for (const p of items) {
      const cur = this.#pending.get(p.second);
      if (cur) {
        cur.requests += p.requests;
        cur.tokens += p.tokens;
      } else {
        this.#pending.set(p.second, { requests: p.requests, tokens: p.tokens });
      }
      this.#pendingRequests += p.requests;
      this.#pendingTokens += p.tokens;
    }
  }

  /** Applies a sync round's cluster view. `lease` is the new grant (−1 when the deployment has no rpm). */
  applyShared(at: number, v: { requests: number; tokens: number; remoteInFlight: number; lease: number; leasedByOthers: number }): void {
    this.#shared = { at, requests: v.requests, tokens: v.tokens, leasedByOthers: v.leasedByOthers };
    this.remoteInFlight = v.remoteInFlight;
    // The new share covers what was spent from the carry while the reply travelled.
    if (v.lease >= 0) {
      const spentInFlight = Math.max(0, this.#carryAtDrain - this.leaseRemaining);
      this.leaseRemaining = Math.max(0, v.lease - spentInFlight);
    }
    this.#reservedSinceSync = 0;
  }

  /** Redis may have lost every lease (a restart keeps nothing): ours is void until the next grant. */
  dropLease(): void {
    this.leaseRemaining = 0;
    this.#carryAtDrain = 0;
  }

  /** A cooldown another instance started (published, or read on reconnect). */
  applyRemoteCooldown(now: number, untilMs: number): void {
    if (untilMs <= now || untilMs <= this.cooldownUntil) return;
    this.cooldownUntil = untilMs;
    this.lastCooldownMs = untilMs - now;
    this.halfOpen = true;
    this.probeInFlight = false;
  }

  /** Milliseconds until this deployment's rpm/tpm window frees capacity. */
  msUntilCapacity(now: number): number {
    let ms = 0;
    if (this.rpm !== null) ms = Math.max(ms, this.window.msUntilBelow(this.rpm, now, 'requests'));
    if (this.tpm !== null) ms = Math.max(ms, this.window.msUntilBelow(this.tpm, now, 'tokens'));
    return ms;
  }

  /** Counts an event in the fixed 60 s window LiteLLM's failure-rate rule reads. */
  countOutcome(now: number, failed: boolean): void {
    if (now - this.statsSince >= 60_000) {
      this.statsSince = now;
      this.statsSuccesses = 0;
      this.statsFailures = 0;
    }
    if (failed) this.statsFailures++;
    else this.statsSuccesses++;
  }

  /** Starts (or extends) a cooldown; what happens after it is a half-open probe. */
  coolDown(now: number, ms: number): void {
    this.cooldownUntil = Math.max(this.cooldownUntil, now + ms);
    this.lastCooldownMs = ms;
    this.halfOpen = true;
    this.probeInFlight = false;
  }

  recordSuccess(now: number, latencyMs: number, usage: Usage | null, ttftMs: number | undefined): void {
    this.successes++;
    const tokens = usage?.completionTokens ?? 0;
    // LiteLLM ranks by seconds per output token (raw seconds when no tokens were reported).
    pushSample(this.#latency, tokens > 0 ? latencyMs / 1000 / tokens : latencyMs / 1000);
    this.latencyScore = mean(this.#latency);
    if (ttftMs !== undefined) {
      pushSample(this.#ttft, tokens > 0 ? ttftMs / 1000 / tokens : ttftMs / 1000);
      this.ttftScore = mean(this.#ttft);
    }
    this.latencyUpdatedAt = now;
    this.ewmaMs = updatePeakEwma(this.ewmaMs, this.ewmaUpdatedAt, latencyMs, now);
    this.ewmaUpdatedAt = now;
    if (usage) {
      this.window.add(now, 0, usage.totalTokens);
      if (this.#syncAttached) this.#addPending(now, 0, usage.totalTokens);
    }
  }

  recordTimeout(now: number, elapsedMs: number): void {
    pushSample(this.#latency, TIMEOUT_PENALTY_S);
    this.latencyScore = mean(this.#latency);
    this.latencyUpdatedAt = now;
    this.ewmaMs = updatePeakEwma(this.ewmaMs, this.ewmaUpdatedAt, Math.max(elapsedMs, (this.ewmaMs ?? 0) * 2), now);
    this.ewmaUpdatedAt = now;
  }
}

/** Keeps the newest samples (LiteLLM keeps the oldest 9 once full, which freezes the average). */
function pushSample(samples: number[], v: number): void {
  if (samples.length >= LATENCY_SAMPLES) samples.shift();
  samples.push(v);
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** A counted request on one deployment. `done` settles it exactly once; later calls are no-ops. */
export class Lease {
  readonly deployment: DeploymentState;
  readonly startedAt: number;
  /** The request's `cooldown_time`, when it gave one. */
  readonly cooldownTimeMs: number | null;
  #actor: GroupActor | null;

  constructor(actor: GroupActor, deployment: DeploymentState, now: number, cooldownTimeMs: number | null) {
    this.#actor = actor;
    this.deployment = deployment;
    this.startedAt = now;
    this.cooldownTimeMs = cooldownTimeMs;
  }

  done(outcome: Outcome, now: number): void {
    const actor = this.#actor;
    if (actor === null) return;
    this.#actor = null;
    actor.settle(this.deployment, outcome, now, this.startedAt, this.cooldownTimeMs);
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
}

/** Why no deployment could be picked, and when to try again. */
export interface Unavailable {
  readonly reason: 'cooldown' | 'limits' | 'parallel' | 'none';
  /** Milliseconds until a deployment frees up, when known. */
  readonly retryAfterMs: number;
  /** Deployments cooling down (ids), for the message. */
  readonly cooling: readonly string[];
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
  readonly onCooldown?: (d: DeploymentState, ms: number, why: string) => void;
}

const defaultActorOptions: ActorOptions = {
  maxQueue: 1000,
  cooldown: { cooldownTimeMs: 5000, disabled: false, allowedFails: null, allowedFailsPolicy: null },
};

export class GroupActor {
  readonly name: string;
  readonly deployments: readonly DeploymentState[];
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
    this.#byId = new Map(deployments.map((d) => [d.id, d]));
    this.hasLimits = deployments.some((d) => d.rpm !== null || d.tpm !== null);
    this.#pick = pick;
    this.#opts = opts;
  }

  /** True when some deployment has an rpm or tpm, so responses carry x-ratelimit headers. */
  readonly hasLimits: boolean;

  /** Picks a deployment and counts the request; `Unavailable` says why none could be. */
  acquire(ctx: PickContext, opts: AcquireOptions = {}): Lease | Unavailable | { readonly reserve: DeploymentState } {
    const now = ctx.now;
    const eligible = this.#eligible;
    eligible.length = 0;
    let minOrder = Number.POSITIVE_INFINITY;
    let blockedCooldown = 0;
    let blockedLimits = 0;
    let blockedParallel = 0;
    const pinned = opts.deploymentId ?? null;
    const pool = pinned !== null ? [this.#byId.get(pinned)].filter((d): d is DeploymentState => d !== undefined) : this.deployments;
    for (const d of pool) {
      if (opts.exclude?.has(d.id) || (opts.allow && !opts.allow.has(d.id))) continue;
      const why = d.blockedBy(now);
      // A deployment named by id skips cooldown, as in LiteLLM; its limits still hold.
      if (why === 'cooldown' && pinned === null) { blockedCooldown++; continue; }
      if (why === 'rpm' || why === 'tpm') { blockedLimits++; continue; }
      if (why === 'parallel') { blockedParallel++; continue; }
      eligible.push(d);
      if (d.order < minOrder) minOrder = d.order;
    }
    if (eligible.length === 0) return this.#unavailable(now, pool, blockedCooldown, blockedLimits, blockedParallel);
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
    return this.admit(d, now, false, opts);
  }

  /** Counts the request on `d` and hands out its lease (after a reservation, `reserved` is true). */
  admit(d: DeploymentState, now: number, reserved: boolean, opts: AcquireOptions = {}): Lease {
    d.admit(now, reserved);
    if (d.halfOpen && d.cooldownUntil <= now) d.probeInFlight = true;
    return new Lease(this, d, now, opts.cooldownTimeMs ?? null);
  }

  #unavailable(now: number, pool: readonly DeploymentState[], cooldown: number, limits: number, parallel: number): Unavailable {
    const cooling = pool.filter((d) => d.cooldownUntil > now).map((d) => d.id);
    if (parallel > 0) return { reason: 'parallel', retryAfterMs: 1000, cooling };
    let soonest = Number.POSITIVE_INFINITY;
    for (const d of pool) {
      const ms = d.cooldownUntil > now ? d.cooldownUntil - now : d.msUntilCapacity(now);
      if (ms < soonest) soonest = ms;
    }
    const retryAfterMs = Number.isFinite(soonest) ? Math.max(soonest, 1) : 1000;
    if (limits > 0) return { reason: 'limits', retryAfterMs, cooling };
    if (cooldown > 0) return { reason: 'cooldown', retryAfterMs, cooling };
    return { reason: 'none', retryAfterMs, cooling };
  }

  /**
   * Waits (bounded) for a concurrency slot to free; resolves false when the queue is full or
   * the wait times out. The caller then tries `acquire` again.
   */
  waitForSlot(timeoutMs: number): Promise<boolean> {
    if (this.#waiters.length >= this.#opts.maxQueue) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(wake);
        if (i !== -1) this.#waiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      this.#waiters.push(wake);
    });
  }

  /** Called once per lease, by `Lease.done`. Health bookkeeping happens here, synchronously. */
  settle(d: DeploymentState, outcome: Outcome, now: number, startedAt: number, requestCooldownMs: number | null = null): void {
    d.localInFlight--;
    const probe = d.halfOpen && d.probeInFlight;
    if (probe) d.probeInFlight = false;
    switch (outcome.kind) {
      case 'ok':
        d.recordSuccess(now, outcome.latencyMs, outcome.usage, outcome.ttftMs);
        d.countOutcome(now, false);
        if (probe) {
          d.halfOpen = false;
          d.lastCooldownMs = 0;
        }
        break;
      case 'client-aborted':
        // Never counts against the deployment; a probe that was cut short gets another go.
        break;
      default: {
        d.failures++;
        if (outcome.kind === 'timeout') d.recordTimeout(now, now - startedAt);
        d.countOutcome(now, true);
        this.#maybeCoolDown(d, outcome, now, probe, requestCooldownMs);
      }
    }
    // A slot freed: the oldest waiter tries again.
    const w = this.#waiters.shift();
    w?.();
  }

  #maybeCoolDown(d: DeploymentState, outcome: Exclude<Outcome, { kind: 'ok' | 'client-aborted' }>, now: number, probe: boolean, requestCooldownMs: number | null): void {
    const c = this.#opts.cooldown;
    const { ms: base, explicit } = resolveCooldownTime({ requestMs: requestCooldownMs, deploymentMs: d.cfg.cooldownTimeMs ?? null, routerMs: c.cooldownTimeMs });
    const status = outcome.kind === 'upstream-error' ? outcome.status : outcome.kind === 'timeout' ? 408 : null;
    const cls = classifyFailure({ status, kind: outcome.kind });
    const retryAfterMs = outcome.kind === 'upstream-error' ? outcome.retryAfterMs : null;
    if (now >= d.failedCallsUntil) {
      d.failedCalls = 0;
      d.failedCallsUntil = now + base;
    }
    const decision = cooldownMs({
      cls,
      status,
      groupSize: this.deployments.length,
      stats: { successes: d.statsSuccesses, failures: d.statsFailures },
      allowedFails: c.allowedFails,
      allowedFailsPolicy: c.allowedFailsPolicy,
      failedCallsInWindow: d.failedCalls,
      cooldownTimeMs: base,
      cooldownTimeExplicit: explicit,
      retryAfterMs,
      disabled: c.disabled,
      wildcard: d.cfg.group.includes('*'),
    });
    if (decision.countFailedCall) d.failedCalls++;
    let ms = decision.coolMs;
    // A failed half-open probe cools for longer than last time (capped), whatever the rule said.
    if (probe && base > 0 && !c.disabled && cls !== 'connection') ms = Math.max(ms, nextCooldownAfterProbeFailure(d.lastCooldownMs, base));
    if (ms > 0) {
      d.coolDown(now, ms);
      this.#opts.onCooldown?.(d, ms, probe ? 'half-open probe failed' : `${cls}${status !== null ? ` (${status})` : ''}`);
    }
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
    for (const d of this.deployments) n += d.localInFlight;
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
    for (const d of this.deployments) {
      if (d.rpm !== null) { anyRpm = true; rpm += d.rpm; usedReq += d.window.requests(now); }
      if (d.tpm !== null) { anyTpm = true; tpm += d.tpm; usedTok += d.window.tokens(now); }
    }
    const h: string[] = [];
    if (anyRpm) h.push('x-ratelimit-limit-requests', String(rpm), 'x-ratelimit-remaining-requests', String(Math.max(0, rpm - usedReq)));
    if (anyTpm) h.push('x-ratelimit-limit-tokens', String(tpm), 'x-ratelimit-remaining-tokens', String(Math.max(0, Math.round(tpm - usedTok))));
    return h;
  }
}
