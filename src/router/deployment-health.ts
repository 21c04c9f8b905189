/**
 * The routing state LiteLLM keys by deployment id: in-flight counts, cooldown and half-open
 * state, the failure counters its cooldown rules read, latency samples, the usage window and
 * the sync ledger. One object per id: two `model_list` entries with the same id (identical
 * params hash alike, as in LiteLLM) are two DeploymentStates over one DeploymentHealth, so a
 * 401 or 429 on either cools both and their usage and in-flight counts are one. What to call
 * (targets, headers) stays per entry, on DeploymentState; limits come from the entry asking.
 * Only the owning GroupActor changes it, through its DeploymentStates.
 */
import type { Usage } from '../upstream/wire.js';
import { LatencySamples } from './latency-samples.js';
import { updatePeakEwma } from './strategies/peak-ewma.js';
import { SyncLedger, type PendingUsage, type SharedView } from './sync-ledger.js';
import { UsageWindow } from './usage-window.js';

/** The limits of the entry a check is made for. */
export interface EntryLimits {
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly maxParallel: number | null;
}

export type Blocked = 'cooldown' | 'rpm' | 'tpm' | 'parallel';

/** The fresh part of the cluster view a limit check reads. */
export type SharedUsage = { readonly requests: number; readonly tokens: number; readonly leasedByOthers: number };

/** A deployment id's state at one moment (the entry adds its id and label). Plain data. */
export interface HealthSnapshot {
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

export class DeploymentHealth {
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
  /** After a config reload: the object that took this state over (cooldowns go on to it). */
  #successor: DeploymentHealth | null = null;

  constructor(latencyTtlMs?: number) {
    this.#latency = new LatencySamples(latencyTtlMs);
  }

  // --- what pickers and the actor read -------------------------------------------------------

  get inFlight(): number {
    return this.#localInFlight + this.#remoteInFlight;
  }
  get localInFlight(): number {
    return this.#localInFlight;
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
  get cooldownUntil(): number {
    return this.#cooldownUntil;
  }
  get lastCooldownMs(): number {
    return this.#lastCooldownMs;
  }
  get stats(): { readonly successes: number; readonly failures: number } {
    return { successes: this.#statsSuccesses, failures: this.#statsFailures };
  }
  get failedCalls(): number {
    return this.#failedCalls;
  }
  get leaseRemaining(): number {
    return this.#ledger.leaseRemaining;
  }

  localRequests(now: number): number {
    return this.#window.requests(now);
  }
  localTokens(now: number): number {
    return this.#window.tokens(now);
  }

  probeDue(now: number): boolean {
    return this.#halfOpen && this.#cooldownUntil <= now;
  }

  snapshot(): HealthSnapshot {
    return {
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

  // --- state transitions ---------------------------------------------------------------------

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

  isClosed(now: number): boolean {
    return this.#cooldownUntil > now || (this.#halfOpen && this.#probeInFlight);
  }

  /** Whether a prompt of `promptTokens` fits under `l`'s tpm with the window's tokens (an uncounted prompt, 0, still needs one token of room). */
  fitsTokens(l: EntryLimits, promptTokens: number): boolean {
    return l.tpm === null || this.#windowTokens + Math.max(promptTokens, 1) <= l.tpm;
  }

  limitedBy(l: EntryLimits, sh: SharedUsage | null, promptTokens = 0): Exclude<Blocked, 'cooldown'> | null {
    if (sh !== null) {
      // Past the lease, a request needs a reservation; skip the round trip when it is clearly full.
      if (l.rpm !== null && this.#ledger.leaseRemaining <= 0 && this.#windowRequests + sh.leasedByOthers >= l.rpm) return 'rpm';
    } else if (l.rpm !== null && this.#windowRequests >= l.rpm) return 'rpm';
    if (!this.fitsTokens(l, promptTokens)) return 'tpm';
    if (l.maxParallel !== null && this.#localInFlight >= l.maxParallel) return 'parallel';
    return null;
  }

  needsReservation(l: EntryLimits, now: number): boolean {
    return l.rpm !== null && this.#ledger.leaseRemaining <= 0 && this.#ledger.view(now) !== null;
  }

  admit(now: number, reserved: boolean): void {
    this.#localInFlight++;
    this.#window.add(now, 1, 0);
    this.#windowRequests++;
    this.#ledger.admit(now, reserved);
    if (this.#halfOpen && this.#cooldownUntil <= now) this.#probeInFlight = true;
  }

  release(): boolean {
    this.#localInFlight--;
    const probe = this.#halfOpen && this.#probeInFlight;
    if (probe) this.#probeInFlight = false;
    return probe;
  }

  closeCircuit(): void {
    this.#halfOpen = false;
    this.#lastCooldownMs = 0;
  }

  countOutcome(now: number, failed: boolean): void {
    if (now - this.#statsSince >= 60_000) {
      this.#statsSince = now;
      this.#statsSuccesses = 0;
      this.#statsFailures = 0;
    }
    if (failed) this.#statsFailures++;
    else this.#statsSuccesses++;
  }

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

  coolDown(now: number, ms: number): void {
    this.#successor?.coolDown(now, ms);
    this.#cooldownUntil = Math.max(this.#cooldownUntil, now + ms);
    this.#lastCooldownMs = ms;
    this.#halfOpen = true;
    this.#probeInFlight = false;
  }

  applyRemoteCooldown(now: number, untilMs: number): void {
    if (untilMs <= now || untilMs <= this.#cooldownUntil) return;
    this.#cooldownUntil = untilMs;
    this.#lastCooldownMs = untilMs - now;
    this.#halfOpen = true;
    this.#probeInFlight = false;
  }

  msUntilCapacity(l: EntryLimits, now: number, promptTokens = 0): number {
    let ms = 0;
    if (l.rpm !== null) ms = Math.max(ms, this.#window.msUntilBelow(l.rpm, now, 'requests'));
    if (l.tpm !== null) ms = Math.max(ms, this.#window.msUntilBelow(l.tpm - Math.max(promptTokens, 1) + 1, now, 'tokens'));
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

  /** See DeploymentState.adopt. */
  adopt(old: DeploymentHealth): void {
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

  // --- the sync ledger ------------------------------------------------------------------------

  attachSync(): void {
    this.#ledger.attach();
  }

  drainLedger(now: number): readonly PendingUsage[] {
    return this.#ledger.drain(now);
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
