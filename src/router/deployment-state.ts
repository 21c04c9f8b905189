/**
 * One `model_list` entry as the router sees it: its configuration, what to call (targets,
 * precomputed headers, label) and its limits, over the DeploymentHealth of its id (in-flight
 * counts, cooldown, failure counters, latency, usage window, sync ledger). Entries with one id
 * share one DeploymentHealth (`shareHealthWith`), as LiteLLM keys all of that by id; each keeps
 * its own call data. Pickers read the Candidate view through getters (no copies, no
 * allocation). Only the owning GroupActor calls the methods that change state; everything else
 * sees a `DeploymentView` (the type GroupActor hands out), or a snapshot.
 */
import type { DeploymentConfig } from '../config/types.js';
import type { Endpoint, UpstreamTarget } from '../providers/index.js';
import type { Usage } from '../upstream/wire.js';
import { DeploymentHealth, type Blocked, type HealthSnapshot, type SharedUsage } from './deployment-health.js';
import type { Candidate } from './strategies/types.js';
import type { PendingUsage, SharedView } from './sync-ledger.js';
import type { DeploymentMetrics } from '../metrics/prometheus.js';

export type { Blocked } from './deployment-health.js';

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
export interface DeploymentSnapshot extends HealthSnapshot {
  readonly id: string;
  readonly label: string;
}

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
  /** The state of this entry's id; shared with the other entries of that id. */
  #h: DeploymentHealth;

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
    this.#h = new DeploymentHealth(opts.latencyTtlMs);
    this.targets = targets;
    const apiBase = cfg.apiBase === null ? '' : cfg.apiBase.split('?')[0]!;
    this.responseHeaders = apiBase === ''
      ? ['x-litellm-model-id', cfg.id]
      : ['x-litellm-model-id', cfg.id, 'x-litellm-model-api-base', apiBase];
    this.label = `${cfg.group}/${cfg.id.length > 16 ? cfg.id.slice(0, 12) : cfg.id}`;
  }

  /**
   * Another entry with this id came first: from now on this entry reads and writes that
   * entry's state (LiteLLM keys cooldowns, usage and in-flight counts by id). Called by the
   * actor while it is built, before any request.
   */
  shareHealthWith(first: DeploymentState): void {
    if (first.id !== this.id) throw new Error(`deployment ${this.label} cannot share state with ${first.label}: the ids differ`);
    this.#h = first.#h;
  }

  // --- the Candidate view (getters: pickers stay allocation-free) -----------------------------

  /** What pickers rank on: requests in flight across the cluster (local alone without Redis). */
  get inFlight(): number {
    return this.#h.inFlight;
  }
  get windowRequests(): number {
    return this.#h.windowRequests;
  }
  get windowTokens(): number {
    return this.#h.windowTokens;
  }
  get latencyScore(): number | null {
    return this.#h.latencyScore;
  }
  get ttftScore(): number | null {
    return this.#h.ttftScore;
  }
  get latencyUpdatedAt(): number | null {
    return this.#h.latencyUpdatedAt;
  }
  get ewmaMs(): number | null {
    return this.#h.ewmaMs;
  }
  get ewmaUpdatedAt(): number | null {
    return this.#h.ewmaUpdatedAt;
  }

  // --- read-only facts the actor decides on ---------------------------------------------------

  /** Requests and tokens in this instance's own 60 s window. */
  localRequests(now: number): number {
    return this.#h.localRequests(now);
  }
  localTokens(now: number): number {
    return this.#h.localTokens(now);
  }
  get localInFlight(): number {
    return this.#h.localInFlight;
  }
  get cooldownUntil(): number {
    return this.#h.cooldownUntil;
  }
  get lastCooldownMs(): number {
    return this.#h.lastCooldownMs;
  }
  /** Half-open with no probe out yet: the next request admitted is the probe. */
  probeDue(now: number): boolean {
    return this.#h.probeDue(now);
  }
  get stats(): { readonly successes: number; readonly failures: number } {
    return this.#h.stats;
  }
  get failedCalls(): number {
    return this.#h.failedCalls;
  }

  snapshot(): DeploymentSnapshot {
    return { id: this.id, label: this.label, ...this.#h.snapshot() };
  }

  // --- state transitions (called by the owning GroupActor only) -------------------------------

  /**
   * Brings the Candidate usage fields up to `now`: the shared view when it is fresh, else the
   * local window. Returns the view it used (null: local), for `limitedBy`.
   */
  refreshUsage(now: number): SharedUsage | null {
    return this.#h.refreshUsage(now);
  }

  /** Cooling, or half-open with its probe out: closed to traffic whatever the limits say. */
  isClosed(now: number): boolean {
    return this.#h.isClosed(now);
  }

  /**
   * Which of this entry's limits keeps it from taking a request, or null when none does. A
   * pure query: the usage it reads is what `refreshUsage` computed, `sh` the view it returned.
   * (The actor asks `isClosed` first: a closed deployment is 'cooldown' whatever its limits.)
   */
  limitedBy(sh: SharedUsage | null, promptTokens = 0): Exclude<Blocked, 'cooldown'> | null {
    return this.#h.limitedBy(this, sh, promptTokens);
  }

  /**
   * Whether a prompt of `promptTokens` fits under the tpm with the window's tokens (as of the
   * last `refreshUsage`): LiteLLM's `tpm_used + input_tokens > tpm_limit` skips a deployment. A
   * prompt not counted (0) still needs one token of room, so a full window refuses it.
   */
  fitsTokens(promptTokens: number): boolean {
    return this.#h.fitsTokens(this, promptTokens);
  }

  /** True when admitting a request needs an atomic reservation in Redis first (its lease is spent). */
  needsReservation(now: number): boolean {
    return this.#h.needsReservation(this, now);
  }

  /** Counts one admitted request. `reserved`: already counted in Redis by a reservation. */
  admit(now: number, reserved: boolean): void {
    this.#h.admit(now, reserved);
  }

  /** The lease ended: one fewer in flight. Returns whether it was the half-open probe. */
  release(): boolean {
    return this.#h.release();
  }

  /** A probe succeeded: full traffic returns. */
  closeCircuit(): void {
    this.#h.closeCircuit();
  }

  /** Counts an event in the fixed 60 s window LiteLLM's failure-rate rule reads. */
  countOutcome(now: number, failed: boolean): void {
    this.#h.countOutcome(now, failed);
  }

  /** One failure: counted, and (allowed_fails) the failed-calls window opened at `now` when the last one ended. */
  recordFailure(now: number, windowMs: number): void {
    this.#h.recordFailure(now, windowMs);
  }

  countFailedCall(): void {
    this.#h.countFailedCall();
  }

  /** Starts (or extends) a cooldown; what happens after it is a half-open probe. */
  coolDown(now: number, ms: number): void {
    this.#h.coolDown(now, ms);
  }

  /** A cooldown another instance started (published, or read on reconnect). */
  applyRemoteCooldown(now: number, untilMs: number): void {
    this.#h.applyRemoteCooldown(now, untilMs);
  }

  /** Milliseconds until this deployment's rpm/tpm window frees capacity (for a prompt of `promptTokens`). */
  msUntilCapacity(now: number, promptTokens = 0): number {
    return this.#h.msUntilCapacity(this, now, promptTokens);
  }

  recordSuccess(now: number, latencyMs: number, usage: Usage | null, ttftMs: number | undefined): void {
    this.#h.recordSuccess(now, latencyMs, usage, ttftMs);
  }

  recordTimeout(now: number, elapsedMs: number): void {
    this.#h.recordTimeout(now, elapsedMs);
  }

  /**
   * A config reload kept this deployment's id: take over `old`'s health and usage (cooldown,
   * half-open, failure counters, latency samples, the usage window and the sync ledger with
   * its Redis lease, both shared from now on, so usage recorded by requests still finishing on
   * the old object counts here too). The new config's limits apply. In-flight counts are not
   * taken: requests in flight release the object they were admitted on. Entries sharing this
   * one's state take it over with it.
   */
  adopt(old: DeploymentState): void {
    this.#h.adopt(old.#h);
  }

  // --- the sync ledger (through the actor's sync methods; once per id) ------------------------

  attachSync(): void {
    this.#h.attachSync();
  }

  /** The outbound half of a sync round for this deployment's id. */
  drainForSync(now: number): SyncDelta {
    const leaseRemaining = this.#h.leaseRemaining;
    return { id: this.id, rpm: this.rpm, leaseRemaining, pending: this.#h.drainLedger(now), localInFlight: this.#h.localInFlight };
  }

  restorePending(items: readonly PendingUsage[]): void {
    this.#h.restorePending(items);
  }

  applySync(at: number, v: SharedView): void {
    this.#h.applySync(at, v);
  }

  dropLease(): void {
    this.#h.dropLease();
  }
}

/** One deployment id's part of an outbound sync round. */
export interface SyncDelta {
  readonly id: string;
  readonly rpm: number | null;
  /** The lease left when the round was sent (what Redis reclaims or renews). */
  readonly leaseRemaining: number;
  readonly pending: readonly PendingUsage[];
  readonly localInFlight: number;
}
