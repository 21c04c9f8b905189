/**
 * One deployment's health and metrics: in-flight counts, cooldown and half-open state, the
 * failure counters LiteLLM's cooldown rules read, latency samples, and the usage window. All
 * mutable fields are private; pickers read the Candidate view through getters (no copies,
 * no allocation). Only the owning GroupActor calls the methods that change it; everything
 * else sees a `DeploymentView` (the type GroupActor hands out), or a snapshot.
 */
import type { DeploymentConfig } from '../config/types.js';
import type { Endpoint, UpstreamTarget } from '../providers/index.js';
import type { Usage } from '../upstream/wire.js';
import { LatencySamples } from './latency-samples.js';
import { updatePeakEwma } from './strategies/peak-ewma.js';
import type { Candidate } from './strategies/types.js';
import { SyncLedger, type PendingUsage, type SharedView } from './sync-ledger.js';
import { UsageWindow } from './usage-window.js';
import type { DeploymentMetrics } from '../metrics/prometheus.js';


/** What anyone but the owning actor may read of a deployment: its configuration and the picker's view. */
export interface DeploymentView extends Candidate {
  readonly cfg: DeploymentConfig;
  /** Priority tier; deployments without `order` come after every ordered tier. */
  readonly order: number;
  /** Concurrency cap (`max_parallel_requests`, else the router default); null = none. */
  readonly maxParallel: number | null;
  /** Upstream URL and headers per endpoint; null for mock deployments. */
  readonly targets: Readonly<Record<Endpoint, UpstreamTarget>> | null;
  /** `x-litellm-model-id`, `x-litellm-model-api-base` as flat header pairs, computed once. */
  readonly responseHeaders: readonly string[];
  /** Label for messages and logs: never contains a key. */
  readonly label: string;
  /** Epoch ms until which the deployment is cooling down (0 = not cooling). */
  readonly cooldownUntil: number;
}

/** A deployment's state at one moment, for tests, /health-style reports and logs. Plain data. */
export interface DeploymentSnapshot {
  readonly id: string;
  readonly label: string;
  readonly localInFlight: number;
  readonly remoteInFlight: number;
  readonly successes: number;
  readonly failures: number;
  readonly cooldownUntil: number;
  readonly lastCooldownMs: number;
  readonly halfOpen: boolean;
  readonly probeInFlight: boolean;
  readonly windowRequests: number;
  readonly windowTokens: number;
  readonly leaseRemaining: number;
  readonly latencyScore: number | null;
}

export type Blocked = 'cooldown' | 'rpm' | 'tpm' | 'parallel';

/** The fresh part of the cluster view a limit check reads. */
type SharedUsage = { readonly requests: number; readonly tokens: number; readonly leasedByOthers: number };

export class DeploymentState implements DeploymentView {
  readonly cfg: DeploymentConfig;
  readonly id: string;
  readonly weight: number | null;
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly order: number;
  readonly maxParallel: number | null;
  readonly costPerToken: number;
  readonly targets: Readonly<Record<Endpoint, UpstreamTarget>> | null;
  readonly responseHeaders: readonly string[];
  readonly label: string;
  /** Pre-bound Prometheus children (null: no metrics); the actor counts each settled lease here. */
  readonly metrics: DeploymentMetrics | null;
  /** This instance's own rpm/tpm window (the cluster's comes through the ledger). */
  #window = new UsageWindow();
  #ledger = new SyncLedger();

  /** Requests in flight from this instance: what leases count and shutdown waits for. */
  #localInFlight = 0;
  /** Requests in flight to this deployment from other live instances (from the last sync). */
  #remoteInFlight = 0;
  #successes = 0;
  #failures = 0;
  #cooldownUntil = 0;
  /** Length of the last cooldown, ms; a failed half-open probe cools for longer than this. */
  #lastCooldownMs = 0;
  /** After a cooldown ends, one probe request tests the deployment before full traffic returns. */
  #halfOpen = false;
  #probeInFlight = false;
  /** LiteLLM's per-deployment success/failure counters: a 60 s window fixed from its first event. */
  #statsSince = 0;
  #statsSuccesses = 0;
  #statsFailures = 0;
  /** LiteLLM's `failed_calls` for allowed_fails (its window is the cooldown time, fixed from the first failure). */
  #failedCalls = 0;
  #failedCallsUntil = 0;
  // Candidate fields, refreshed by `refreshUsage` before each pick.
  #windowRequests = 0;
  #windowTokens = 0;
  #ewmaMs: number | null = null;
  #ewmaUpdatedAt: number | null = null;
  readonly #latency: LatencySamples;
  /** After a config reload: the object that took this deployment's state over (cooldowns go on to it). */
  #successor: DeploymentState | null = null;

  constructor(
    cfg: DeploymentConfig,
    targets: Readonly<Record<Endpoint, UpstreamTarget>> | null,
    opts: { costPerToken: number; defaultMaxParallel: number | null; latencyTtlMs?: number; metrics?: DeploymentMetrics | null },
  ) {
    this.metrics = opts.metrics ?? null;
    this.cfg = cfg;
    this.id = cfg.id;
    this.weight = cfg.weight;
    this.rpm = cfg.rpm;
    this.tpm = cfg.tpm;
    this.order = cfg.order ?? Number.POSITIVE_INFINITY;
    this.maxParallel = cfg.maxParallelRequests ?? opts.defaultMaxParallel;
    this.costPerToken = opts.costPerToken;
    this.#latency = new LatencySamples(opts.latencyTtlMs);
    this.targets = targets;
    const apiBase = cfg.apiBase === null ? '' : cfg.apiBase.split('?')[0]!;
    this.responseHeaders = apiBase === ''
      ? ['x-litellm-model-id', cfg.id]
      : ['x-litellm-model-id', cfg.id, 'x-litellm-model-api-base', apiBase];
    this.label = `${cfg.group}/${cfg.id.length > 16 ? cfg.id.slice(0, 12) : cfg.id}`;
  }

  // --- the Candidate view (getters: pickers stay allocation-free) -----------------------------

  /** What pickers rank on: requests in flight across the cluster (local alone without Redis). */
  get inFlight(): number {
    return this.#localInFlight + this.#remoteInFlight;
  }
  get windowRequests(): number {
    return this.#windowRequests;
  }
  get windowTokens(): number {
    return this.#windowTokens;
  }
  get latencyScore(): number | null {
    return this.#latency.score;
  }
  get ttftScore(): number | null {
    return this.#latency.ttftScore;
  }
  get latencyUpdatedAt(): number | null {
    return this.#latency.updatedAt;
  }
  get ewmaMs(): number | null {
    return this.#ewmaMs;
  }
  get ewmaUpdatedAt(): number | null {
    return this.#ewmaUpdatedAt;
  }

  // --- read-only facts the actor decides on ---------------------------------------------------

  /** Requests and tokens in this instance's own 60 s window. */
  localRequests(now: number): number {
    return this.#window.requests(now);
  }
  localTokens(now: number): number {
    return this.#window.tokens(now);
  }

  get localInFlight(): number {
    return this.#localInFlight;
  }
  get cooldownUntil(): number {
    return this.#cooldownUntil;
  }
  get lastCooldownMs(): number {
    return this.#lastCooldownMs;
  }
  /** Half-open with no probe out yet: the next request admitted is the probe. */
  probeDue(now: number): boolean {
    return this.#halfOpen && this.#cooldownUntil <= now;
  }
  get stats(): { readonly successes: number; readonly failures: number } {
    return { successes: this.#statsSuccesses, failures: this.#statsFailures };
  }
  get failedCalls(): number {
    return this.#failedCalls;
  }

  snapshot(): DeploymentSnapshot {
    return {
      id: this.id,
      label: this.label,
      localInFlight: this.#localInFlight,
      remoteInFlight: this.#remoteInFlight,
      successes: this.#successes,
      failures: this.#failures,
      cooldownUntil: this.#cooldownUntil,
      lastCooldownMs: this.#lastCooldownMs,
      halfOpen: this.#halfOpen,
      probeInFlight: this.#probeInFlight,
      windowRequests: this.#windowRequests,
      windowTokens: this.#windowTokens,
      leaseRemaining: this.#ledger.leaseRemaining,
      latencyScore: this.#latency.score,
    };
  }

  // --- state transitions (called by the owning GroupActor only) -------------------------------

  /**
   * Brings the Candidate usage fields up to `now`: the shared view when it is fresh, else the
   * local window. Returns the view it used (null: local), for `limitedBy`.
   */
  refreshUsage(now: number): SharedUsage | null {
    const sh = this.#ledger.view(now);
    if (sh !== null) {
      this.#windowRequests = sh.requests + this.#ledger.unsyncedRequests;
      this.#windowTokens = sh.tokens + this.#ledger.unsyncedTokens;
    } else {
      this.#windowRequests = this.#window.requests(now);
      this.#windowTokens = this.#window.tokens(now);
    }
    return sh;
  }

  /** Cooling, or half-open with its probe out: closed to traffic whatever the limits say. */
  isClosed(now: number): boolean {
    return this.#cooldownUntil > now || (this.#halfOpen && this.#probeInFlight);
  }

  /**
   * Which limit keeps an open deployment from taking a request, or null when none does. A pure
   * query: the usage it reads is what `refreshUsage` computed, `sh` the view it returned.
   * (The actor asks `isClosed` first: a closed deployment is 'cooldown' whatever its limits.)
   */
  limitedBy(sh: SharedUsage | null, promptTokens = 0): Exclude<Blocked, 'cooldown'> | null {
    if (sh !== null) {
      // Past the lease, a request needs a reservation; skip the round trip when it is clearly full.
      if (this.rpm !== null && this.#ledger.leaseRemaining <= 0 && this.#windowRequests + sh.leasedByOthers >= this.rpm) return 'rpm';
    } else if (this.rpm !== null && this.#windowRequests >= this.rpm) return 'rpm';
    if (this.tpm !== null && !this.fitsTokens(promptTokens)) return 'tpm';
    if (this.maxParallel !== null && this.#localInFlight >= this.maxParallel) return 'parallel';
    return null;
  }

  /**
   * Whether a prompt of `promptTokens` fits under the tpm with the window's tokens (as of the
   * last `refreshUsage`): LiteLLM's `tpm_used + input_tokens > tpm_limit` skips a deployment. A
   * prompt not counted (0) still needs one token of room, so a full window refuses it.
   */
  fitsTokens(promptTokens: number): boolean {
    return this.tpm === null || this.#windowTokens + Math.max(promptTokens, 1) <= this.tpm;
  }

  /** True when admitting a request needs an atomic reservation in Redis first (its lease is spent). */
  needsReservation(now: number): boolean {
    return this.rpm !== null && this.#ledger.leaseRemaining <= 0 && this.#ledger.view(now) !== null;
  }

  /** Counts one admitted request. `reserved`: already counted in Redis by a reservation. */
  admit(now: number, reserved: boolean): void {
    this.#localInFlight++;
    this.#window.add(now, 1, 0);
    this.#windowRequests++;
    this.#ledger.admit(now, reserved);
    if (this.#halfOpen && this.#cooldownUntil <= now) this.#probeInFlight = true;
  }

  /** The lease ended: one fewer in flight. Returns whether it was the half-open probe. */
  release(): boolean {
    this.#localInFlight--;
    const probe = this.#halfOpen && this.#probeInFlight;
    if (probe) this.#probeInFlight = false;
    return probe;
  }

  /** A probe succeeded: full traffic returns. */
  closeCircuit(): void {
    this.#halfOpen = false;
    this.#lastCooldownMs = 0;
  }

  /** Counts an event in the fixed 60 s window LiteLLM's failure-rate rule reads. */
  countOutcome(now: number, failed: boolean): void {
    if (now - this.#statsSince >= 60_000) {
      this.#statsSince = now;
      this.#statsSuccesses = 0;
      this.#statsFailures = 0;
    }
    if (failed) this.#statsFailures++;
    else this.#statsSuccesses++;
  }

  /** One failure: counted, and (allowed_fails) the failed-calls window opened at `now` when the last one ended. */
  recordFailure(now: number, windowMs: number): void {
    this.#failures++;
    if (now >= this.#failedCallsUntil) {
      this.#failedCalls = 0;
      this.#failedCallsUntil = now + windowMs;
    }
  }

  countFailedCall(): void {
    this.#failedCalls++;
  }

  /** Starts (or extends) a cooldown; what happens after it is a half-open probe. */
  coolDown(now: number, ms: number): void {
    this.#successor?.coolDown(now, ms);
    this.#cooldownUntil = Math.max(this.#cooldownUntil, now + ms);
    this.#lastCooldownMs = ms;
    this.#halfOpen = true;
    this.#probeInFlight = false;
  }

  /** A cooldown another instance started (published, or read on reconnect). */
  applyRemoteCooldown(now: number, untilMs: number): void {
    if (untilMs <= now || untilMs <= this.#cooldownUntil) return;
    this.#cooldownUntil = untilMs;
    this.#lastCooldownMs = untilMs - now;
    this.#halfOpen = true;
    this.#probeInFlight = false;
  }

  /** Milliseconds until this deployment's rpm/tpm window frees capacity (for a prompt of `promptTokens`). */
  msUntilCapacity(now: number, promptTokens = 0): number {
    let ms = 0;
    if (this.rpm !== null) ms = Math.max(ms, this.#window.msUntilBelow(this.rpm, now, 'requests'));
    if (this.tpm !== null) ms = Math.max(ms, this.#window.msUntilBelow(this.tpm - Math.max(promptTokens, 1) + 1, now, 'tokens'));
    return ms;
  }

  recordSuccess(now: number, latencyMs: number, usage: Usage | null, ttftMs: number | undefined): void {
    this.#successes++;
    this.#latency.recordSuccess(now, latencyMs, usage?.completionTokens ?? 0, ttftMs);
    this.#ewmaMs = updatePeakEwma(this.#ewmaMs, this.#ewmaUpdatedAt, latencyMs, now);
    this.#ewmaUpdatedAt = now;
    if (usage) {
      this.#window.add(now, 0, usage.totalTokens);
      this.#ledger.addPending(now, 0, usage.totalTokens);
    }
  }

  recordTimeout(now: number, elapsedMs: number): void {
    this.#latency.recordTimeout(now);
    this.#ewmaMs = updatePeakEwma(this.#ewmaMs, this.#ewmaUpdatedAt, Math.max(elapsedMs, (this.#ewmaMs ?? 0) * 2), now);
    this.#ewmaUpdatedAt = now;
  }

  /**
   * A config reload kept this deployment's id: take over `old`'s health and usage (cooldown,
   * half-open, failure counters, latency samples, the usage window and the sync ledger with
   * its Redis lease, both shared from now on, so usage recorded by requests still finishing on
   * the old object counts here too). The new config's limits apply. In-flight counts are not
   * taken: requests in flight release the object they were admitted on.
   */
  adopt(old: DeploymentState): void {
    // A request still running on the old object that fails cools this one too.
    old.#successor = this;
    this.#window = old.#window;
    this.#ledger = old.#ledger;
    this.#remoteInFlight = old.#remoteInFlight;
    this.#successes = old.#successes;
    this.#failures = old.#failures;
    this.#cooldownUntil = old.#cooldownUntil;
    this.#lastCooldownMs = old.#lastCooldownMs;
    this.#halfOpen = old.#halfOpen;
    // A probe still out on the old object ends there; the next request here is the probe.
    this.#probeInFlight = false;
    this.#statsSince = old.#statsSince;
    this.#statsSuccesses = old.#statsSuccesses;
    this.#statsFailures = old.#statsFailures;
    this.#failedCalls = old.#failedCalls;
    this.#failedCallsUntil = old.#failedCallsUntil;
    this.#windowRequests = old.#windowRequests;
    this.#windowTokens = old.#windowTokens;
    this.#latency.adopt(old.#latency);
    this.#ewmaMs = old.#ewmaMs;
    this.#ewmaUpdatedAt = old.#ewmaUpdatedAt;
  }

  // --- the sync ledger (through the actor's sync methods) -------------------------------------

  attachSync(): void {
    this.#ledger.attach();
  }

  /** The outbound half of a sync round for this deployment. */
  drainForSync(now: number): SyncDelta {
    const leaseRemaining = this.#ledger.leaseRemaining;
    return { id: this.id, rpm: this.rpm, leaseRemaining, pending: this.#ledger.drain(now), localInFlight: this.#localInFlight };
  }

  restorePending(items: readonly PendingUsage[]): void {
    this.#ledger.restore(items);
  }

  applySync(at: number, v: SharedView): void {
    this.#ledger.apply(at, v);
    this.#remoteInFlight = v.remoteInFlight;
  }

  dropLease(): void {
    this.#ledger.dropLease();
  }
}

/** One deployment's part of an outbound sync round. */
export interface SyncDelta {
  readonly id: string;
  readonly rpm: number | null;
  /** The lease left when the round was sent (what Redis reclaims or renews). */
  readonly leaseRemaining: number;
  readonly pending: readonly PendingUsage[];
  readonly localInFlight: number;
}
