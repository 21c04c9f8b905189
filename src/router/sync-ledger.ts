/**
 * One deployment's side of the Redis sync: usage not yet flushed, the lease budget this
 * instance may spend without asking Redis, the cluster view from the last round, and the one
 * staleness rule both the actors and the sync status use. Owned by a DeploymentState and
 * changed only through its GroupActor (sync/ never holds a ledger).
 */

/** A shared view older than this is not trusted (Redis is gone): local rules take over. */
export const SHARED_STALE_MS = 1500;

/** Usage of one epoch second, not yet flushed to Redis. */
export interface PendingUsage {
  readonly second: number;
  readonly requests: number;
  readonly tokens: number;
}

/** What a sync round brings back for one deployment. `lease` is −1 when it has no rpm. */
export interface SharedView {
  readonly requests: number;
  readonly tokens: number;
  readonly remoteInFlight: number;
  readonly lease: number;
  readonly leasedByOthers: number;
}

export class SyncLedger {
  /** Requests this instance may still admit before its next sync without asking Redis (its lease). */
  #leaseRemaining = 0;
  /** The cluster view from the last sync; null without Redis. */
  #shared: { at: number; requests: number; tokens: number; leasedByOthers: number } | null = null;
  #attached = false;
  /** `#leaseRemaining` when the current sync round was sent (its carry). */
  #carryAtDrain = 0;
  /** Usage not yet flushed to Redis, by epoch second. */
  #pending = new Map<number, { requests: number; tokens: number }>();
  #pendingRequests = 0;
  #pendingTokens = 0;
  /** Requests reserved in Redis one by one since the last sync (already counted there). */
  #reservedSinceSync = 0;

  get attached(): boolean {
    return this.#attached;
  }

  get leaseRemaining(): number {
    return this.#leaseRemaining;
  }

  attach(): void {
    this.#attached = true;
  }

  /** The shared view when it is fresh enough to trust; null means local rules apply. */
  view(now: number): { readonly requests: number; readonly tokens: number; readonly leasedByOthers: number } | null {
    const sh = this.#shared;
    return sh !== null && now - sh.at < SHARED_STALE_MS ? sh : null;
  }

  /** Requests counted here but not yet in the shared view (unflushed, or reserved one by one). */
  get unsyncedRequests(): number {
    return this.#pendingRequests + this.#reservedSinceSync;
  }

  get unsyncedTokens(): number {
    return this.#pendingTokens;
  }

  /** One admitted request. `reserved`: already counted in Redis by a reservation. */
  admit(now: number, reserved: boolean): void {
    if (!this.#attached) return;
    if (reserved) {
      this.#reservedSinceSync++;
      return;
    }
    if (this.#leaseRemaining > 0) this.#leaseRemaining--;
    this.addPending(now, 1, 0);
  }

  addPending(now: number, requests: number, tokens: number): void {
    if (!this.#attached) return;
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
  drain(now: number): PendingUsage[] {
    this.#carryAtDrain = this.#leaseRemaining;
    const oldest = Math.floor(now / 1000) - 60;
    const out: PendingUsage[] = [];
    for (const [second, p] of this.#pending) if (second >= oldest) out.push({ second, ...p });
    this.#pending = new Map();
    this.#pendingRequests = 0;
    this.#pendingTokens = 0;
    return out;
  }

  /** Puts back usage a failed sync round did not flush. */
  restore(items: readonly PendingUsage[]): void {
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

  /** Applies a sync round's cluster view. */
  apply(at: number, v: SharedView): void {
    this.#shared = { at, requests: v.requests, tokens: v.tokens, leasedByOthers: v.leasedByOthers };
    // The new share covers what was spent from the carry while the reply travelled.
    if (v.lease >= 0) {
      const spentInFlight = Math.max(0, this.#carryAtDrain - this.#leaseRemaining);
      this.#leaseRemaining = Math.max(0, v.lease - spentInFlight);
    }
    this.#reservedSinceSync = 0;
  }

  /** Redis may have lost every lease (a restart keeps nothing): ours is void until the next grant. */
  dropLease(): void {
    this.#leaseRemaining = 0;
    this.#carryAtDrain = 0;
  }
}
