/**
 * Per-credential deployments: for a request with its own `api_key` / `api_base`, each
 * deployment of the group becomes one with the client's credentials and its own id
 * (client-credentials.ts `credentialConfig`), in an actor of its own. Cooldowns, usage and
 * in-flight counts of those never touch the configured deployments (a client's bad key cools
 * only its own deployment), and a configured deployment never serves with a client's key
 * (LiteLLM upserts such deployments into the group, where later requests may pick them up).
 *
 * Local to this instance and this config (a reload starts them afresh), without metrics (a
 * label per client key would grow without bound). At most MAX_CREDENTIAL_ACTORS are kept; the
 * least recently used idle one goes first.
 */
import { credentialConfig, type RequestCredentials } from './client-credentials.js';
import { DeploymentState, type GroupActor } from './group-actor.js';
import { targetsFor } from './targets.js';

/** Credential sets × groups kept with their state; documented in README ("Request credentials"). */
export const MAX_CREDENTIAL_ACTORS = 1000;

export class CredentialActors {
  /** Insertion order is recency: a hit moves to the end. */
  readonly #actors = new Map<string, GroupActor>();
  readonly #opts: { readonly defaultMaxParallel: number | null; readonly latencyTtlMs: number | undefined };

  constructor(opts: { readonly defaultMaxParallel: number | null; readonly latencyTtlMs: number | undefined }) {
    this.#opts = opts;
  }

  /** The actor over `base`'s deployments with `creds`; its deployments line up with `base.deployments` by index. */
  actorFor(base: GroupActor, creds: RequestCredentials): GroupActor {
    const key = `${base.name}\n${creds.fingerprint}`;
    const hit = this.#actors.get(key);
    if (hit !== undefined) {
      this.#actors.delete(key);
      this.#actors.set(key, hit);
      return hit;
    }
    const states = base.deployments.map((d) => {
      const cfg = credentialConfig(d.cfg, creds);
      return new DeploymentState(cfg, targetsFor(cfg), {
        costPerToken: d.costPerToken, defaultMaxParallel: this.#opts.defaultMaxParallel, latencyTtlMs: this.#opts.latencyTtlMs, metrics: null,
      });
    });
    const actor = base.derive(states);
    this.#actors.set(key, actor);
    if (this.#actors.size > MAX_CREDENTIAL_ACTORS) this.#evictOne();
    return actor;
  }

  /** The oldest idle actor goes (leases still out on a busy one would settle on it anyway, but its state is worth keeping). */
  #evictOne(): void {
    let oldest: string | null = null;
    for (const [k, a] of this.#actors) {
      oldest ??= k;
      if (a.inFlight() === 0) {
        this.#actors.delete(k);
        return;
      }
    }
    if (oldest !== null) this.#actors.delete(oldest);
  }

  get size(): number {
    return this.#actors.size;
  }
}

/** `ids` of `base`'s deployments, as the ids of the same deployments in `derived` (index-aligned). */
export function translateIds(base: GroupActor, derived: GroupActor, ids: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  base.deployments.forEach((d, i) => {
    if (ids.has(d.id)) out.add(derived.deployments[i]!.id);
  });
  return out;
}
