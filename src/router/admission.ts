/**
 * Admission: from a model name to a lease on one deployment. Resolves the name, runs the
 * pre-call checks (pre-call-checks.ts), counts the prompt when a tpm could turn it away
 * (prompt-tokens.ts), takes a lease from the group's actor, asks the
 * cluster (the `Reserver` port) when a deployment's local lease budget is spent, and waits
 * (bounded) for a concurrency slot when that is all that stands in the way.
 */
import { ProxyError } from '../errors.js';
import type { ClientBaseRules, RequestCredentials } from './client-credentials.js';
import { translateIds, type CredentialActors } from './credential-actors.js';
import type { GroupActor, Lease, Unavailable } from './group-actor.js';
import type { PreCallChecks } from './pre-call-checks.js';
import { PromptTokens } from './prompt-tokens.js';
import type { ModelNames, Resolved } from '../config/model-names.js';
import { noDeploymentsError } from './no-deployments.js';
import type { ApiRequest, RequestContext } from './types.js';

/** The cluster's answer for an rpm-limited deployment whose local lease is spent. */
export type Reservation =
  | { readonly ok: true }
  | { readonly ok: false; readonly retryAfterMs: number }
  /** Redis gone or slow: this instance's own window decides. */
  | { readonly ok: 'unavailable' };

/** What admission needs from the cluster; `sync/` implements it, the router never imports sync/. */
export interface Reserver {
  /** One atomic reservation of a request against the deployment's cluster-wide rpm. */
  reserve(deploymentId: string, rpm: number): Promise<Reservation>;
}

/** How long a request may wait for a concurrency slot (`max_parallel_requests`) before a 429. */
const PARALLEL_WAIT_MS = 10_000;

export type LeaseResult =
  | { readonly lease: Lease; readonly actor: GroupActor; readonly resolved: Resolved }
  | { readonly error: ProxyError; readonly actor: GroupActor | null; readonly unavailable: Unavailable | null }
  /** The client left. */
  | null;

export class Admission {
  readonly #actors: ReadonlyMap<string, GroupActor>;
  readonly #names: ModelNames;
  readonly #tokens: PromptTokens;
  readonly #clock: () => number;
  readonly #random: () => number;
  /** `enable_pre_call_checks`; null when the checks are off. */
  readonly #checks: PreCallChecks | null;
  /** A request's own credentials: which groups take its endpoint, and its per-credential actors. */
  readonly #credentials: { readonly rules: ClientBaseRules; readonly actors: CredentialActors } | null;
  /** The router's `cooldown_time`, as the "No deployments" message reports it. */
  readonly #defaultCooldownMs: number;
  #reserver: Reserver | null = null;

  constructor(
    actors: ReadonlyMap<string, GroupActor>,
    names: ModelNames,
    tokens: PromptTokens,
    opts: {
      clock: () => number; random: () => number; checks: PreCallChecks | null;
      credentials?: { readonly rules: ClientBaseRules; readonly actors: CredentialActors } | null;
      defaultCooldownMs?: number;
    },
  ) {
    this.#actors = actors;
    this.#names = names;
    this.#tokens = tokens;
    this.#clock = opts.clock;
    this.#random = opts.random;
    this.#checks = opts.checks;
    this.#credentials = opts.credentials ?? null;
    this.#defaultCooldownMs = opts.defaultCooldownMs ?? 5000;
  }

  /** Reservations go through `r` from now on (index.ts wires the Redis sync here). */
  attachReserver(r: Reserver): void {
    this.#reserver = r;
  }

  #modelNotFound(model: string): ProxyError {
    const names = this.#names.listed();
    const shown = names.length > 50 ? `${names.slice(0, 50).join(', ')}, … (${names.length} in all)` : names.join(', ');
    return new ProxyError(
      'MODEL_NOT_FOUND',
      `Invalid model name passed in model=${model}. Call \`/v1/models\` to view available models. Available models: ${shown || '(none configured)'}`,
      { param: 'model' },
    );
  }

  #unavailableError(model: string, u: Unavailable): ProxyError {
    return noDeploymentsError(model, u, { preCallChecks: this.#checks !== null, defaultCooldownMs: this.#defaultCooldownMs });
  }

  /**
   * Resolves the model and takes a lease: pre-call checks first, then the actor, waiting
   * (bounded) for a concurrency slot when that is all that stands in the way. Deployments in
   * `tried` are avoided while another is available. `body`: the one this attempt sends (a
   * fallback entry's own messages), else the client's.
   */
  async lease(
    req: ApiRequest, model: string, tried: ReadonlySet<string>, ctx: RequestContext, cooldownTimeMs: number | null,
    body: ArrayBuffer | null = null, creds: RequestCredentials | null = null,
  ): Promise<LeaseResult> {
    const resolved = this.#names.resolve(model);
    if (resolved === null) return { error: this.#modelNotFound(model), actor: null, unavailable: null };
    const configured = this.#actors.get(resolved.group);
    if (configured === undefined) return { error: this.#modelNotFound(model), actor: null, unavailable: null };
    const sent = body ?? req.body;
    // A deployment named by its id skips the pre-call checks, as in LiteLLM.
    const checked = this.#checks !== null && resolved.deploymentId === null ? await this.#checks.check(req, sent, model, configured) : null;
    if (checked instanceof ProxyError) return { error: checked, actor: configured, unavailable: null };
    if (ctx.aborted) return null;
    let allow = checked?.allow ?? null;
    let actor = configured;
    let deploymentId = resolved.deploymentId;
    if (creds !== null && this.#credentials !== null) {
      // The request's own credentials: every deployment of the group as one with them, in an actor of its own.
      const refused = this.#credentials.rules.check(resolved.group, creds);
      if (refused !== null) return { error: refused, actor: null, unavailable: null };
      actor = this.#credentials.actors.actorFor(configured, creds);
      if (allow !== null) allow = translateIds(configured, actor, allow);
      if (deploymentId !== null) deploymentId = [...translateIds(configured, actor, new Set([deploymentId]))][0] ?? deploymentId;
    }
    // Free unless the group has a tpm and some deployment is near it: then the exact count decides.
    let promptTokens = 0;
    if (actor.hasTpm) {
      promptTokens = checked?.tokens ?? 0;
      if (promptTokens === 0 && actor.promptMayNotFit(PromptTokens.upperBound(sent), this.#clock())) {
        promptTokens = await this.#tokens.count(sent, actor.deployments[0]!.cfg.upstreamModel);
        if (ctx.aborted) return null;
      }
    }
    const deadline = this.#clock() + PARALLEL_WAIT_MS;
    // Deployments a reservation found full in the cluster: skipped for the rest of this lease.
    let full: Set<string> | null = null;
    let fullRetryMs = Number.POSITIVE_INFINITY;
    for (;;) {
      const pick = { now: this.#clock(), random: this.#random, stream: req.stream };
      const skip = full === null ? tried : new Set([...tried, ...full]);
      const base = { deploymentId, allow, cooldownTimeMs, promptTokens };
      let got = actor.acquire(pick, { ...base, exclude: skip.size > 0 ? skip : null });
      // Every untried deployment is unavailable: a retry may go back to one already tried.
      if ('reason' in got && tried.size > 0) got = actor.acquire(pick, { ...base, exclude: full });
      if ('reserve' in got) {
        // Its lease is spent: one atomic reservation in Redis decides (never overshoots the cluster rpm).
        const d = got.reserve;
        const r = this.#reserver !== null && d.rpm !== null ? await this.#reserver.reserve(d.id, d.rpm) : ({ ok: 'unavailable' } as const);
        if (ctx.aborted) return null;
        const now = this.#clock();
        if (r.ok === true) return { lease: actor.admit(d, now, true, base), actor, resolved };
        if (r.ok === 'unavailable' && actor.underLocalRpm(d, now)) {
          // Redis is gone or slow: this instance's own window decides, as with no Redis at all.
          return { lease: actor.admit(d, now, false, base), actor, resolved };
        }
        (full ??= new Set()).add(d.id);
        if (r.ok === false) fullRetryMs = Math.min(fullRetryMs, r.retryAfterMs);
        continue;
      }
      if (!('reason' in got)) return { lease: got, actor, resolved };
      if (full !== null && got.reason !== 'parallel') {
        got = { reason: 'limits', retryAfterMs: Math.min(got.retryAfterMs, Number.isFinite(fullRetryMs) ? fullRetryMs : got.retryAfterMs), cooling: got.cooling, shortestCooldownMs: got.shortestCooldownMs };
      }
      const left = deadline - this.#clock();
      if (got.reason !== 'parallel' || left <= 0 || !(await actor.waitForSlot(left))) {
        return { error: this.#unavailableError(model, got), actor, unavailable: got };
      }
      if (ctx.aborted) return null;
    }
  }
}
