/**
 * One actor per model group: the only writer of its deployments' state. Every change is a
 * synchronous method call on the main thread (`acquire`, `Lease.done`), never split by an
 * await, so there is no interleaving to reason about.
 */
import type { DeploymentConfig } from '../config/types.js';
import type { Endpoint, UpstreamTarget } from '../providers/index.js';
import type { Usage } from '../upstream/wire.js';
import type { Candidate, PickContext, Picker } from './strategies/types.js';

/** How an attempt ended. A closed union: every path through a lease ends in exactly one. */
export type Outcome =
  | { readonly kind: 'ok'; readonly latencyMs: number; readonly usage: Usage | null }
  | { readonly kind: 'upstream-error'; readonly status: number; readonly retryAfterMs: number | null }
  | { readonly kind: 'timeout'; readonly phase: 'first-byte' | 'between-chunks' | 'total' }
  | { readonly kind: 'connect-error'; readonly message: string }
  /** Never counts against the deployment. */
  | { readonly kind: 'client-aborted' };

export class DeploymentState implements Candidate {
  readonly cfg: DeploymentConfig;
  readonly id: string;
  readonly weight: number | null;
  readonly rpm: number | null;
  readonly tpm: number | null;
  /** Upstream URL and headers per endpoint; null for mock deployments. */
  readonly targets: Readonly<Record<Endpoint, UpstreamTarget>> | null;
  /** `x-litellm-model-id`, `x-litellm-model-api-base` as flat header pairs, computed once. */
  readonly responseHeaders: readonly string[];
  /** Label for messages and logs: never contains a key. */
  readonly label: string;

  inFlight = 0;
  successes = 0;
  failures = 0;
  /** Exponentially weighted latency of successful attempts, ms; null until the first one. */
  latencyEwmaMs: number | null = null;
  tokens = 0;

  constructor(cfg: DeploymentConfig, targets: Readonly<Record<Endpoint, UpstreamTarget>> | null) {
    this.cfg = cfg;
    this.id = cfg.id;
    this.weight = cfg.weight;
    this.rpm = cfg.rpm;
    this.tpm = cfg.tpm;
    this.targets = targets;
    const apiBase = cfg.apiBase === null ? '' : cfg.apiBase.split('?')[0]!;
    this.responseHeaders = apiBase === ''
      ? ['x-litellm-model-id', cfg.id]
      : ['x-litellm-model-id', cfg.id, 'x-litellm-model-api-base', apiBase];
    this.label = `${cfg.group}/${cfg.id.length > 16 ? cfg.id.slice(0, 12) : cfg.id}`;
  }
}

/** A counted request on one deployment. `done` settles it exactly once; later calls are no-ops. */
export class Lease {
  readonly deployment: DeploymentState;
  readonly startedAt: number;
  #actor: GroupActor | null;

  constructor(actor: GroupActor, deployment: DeploymentState, now: number) {
    this.#actor = actor;
    this.deployment = deployment;
    this.startedAt = now;
  }

  get settled(): boolean {
    return this.#actor === null;
  }

  done(outcome: Outcome, now: number): void {
    const actor = this.#actor;
    if (actor === null) return;
    this.#actor = null;
    actor.settle(this.deployment, outcome, now);
  }
}

const EWMA_ALPHA = 0.3;

export class GroupActor {
  readonly name: string;
  readonly deployments: readonly DeploymentState[];
  readonly #pick: Picker;

  constructor(name: string, deployments: readonly DeploymentState[], pick: Picker) {
    this.name = name;
    this.deployments = deployments;
    this.#pick = pick;
  }

  /** Picks a deployment and counts the request in flight; null when none is eligible. */
  acquire(ctx: PickContext): Lease | null {
    const d = this.#pick(this.deployments, ctx);
    if (d === null) return null;
    d.inFlight++;
    return new Lease(this, d, ctx.now);
  }

  /** Called once per lease, by `Lease.done`. */
  settle(d: DeploymentState, outcome: Outcome, _now: number): void {
    d.inFlight--;
    switch (outcome.kind) {
      case 'ok':
        d.successes++;
        d.latencyEwmaMs = d.latencyEwmaMs === null ? outcome.latencyMs : d.latencyEwmaMs + EWMA_ALPHA * (outcome.latencyMs - d.latencyEwmaMs);
        if (outcome.usage) d.tokens += outcome.usage.totalTokens;
        break;
      case 'client-aborted':
        break;
      default:
        d.failures++;
    }
  }

  /** Requests in flight across the group (tests use it to prove leases return to zero). */
  inFlight(): number {
    let n = 0;
    for (const d of this.deployments) n += d.inFlight;
    return n;
  }
}
