/**
 * The router's facade: builds one actor per model group and hands each request to a
 * RequestPlan over the single-attempt runner. Server code never touches actors; workers never
 * see anything but the task. The parts live beside it: plan.ts (retries, fallbacks, the final
 * error), attempt.ts (one attempt), admission.ts (name → lease), health.ts (probes).
 */
import type { ProxyConfig } from '../config/types.js';
import type { Dispatcher } from '../upstream/dispatch.js';
import { Admission, type Reserver } from './admission.js';
import { Attempts } from './attempt.js';
import { batchErrorReply, batchFastest, batchFastestStream, batchList, readBatch } from './batch.js';
import { ClientBaseRules, readRequestCredentials, type RequestCredentials } from './client-credentials.js';
import { CredentialActors } from './credential-actors.js';
import { DeploymentState, GroupActor, type DeploymentView, type GroupSnapshot } from './group-actor.js';
import { HealthChecks, type HealthReport } from './health.js';
import { PreCallChecks } from './pre-call-checks.js';
import { PromptTokens } from './prompt-tokens.js';
import type { ModelNames } from '../config/model-names.js';
import { RequestPlan, type PlanEnv } from './plan.js';
import type { AttemptListener } from './attempt-trace.js';
import { StreamSession } from './stream-session.js';
import { createPicker } from './strategies/index.js';
import { targetsFor } from './targets.js';
import { Secrets } from '../secrets.js';
import { ProxyError, proxyErrorBody } from '../errors.js';
import type { ProxyMetrics } from '../metrics/prometheus.js';
import { STREAM_STARTED_BODY, type ApiRequest, type Reply, type RequestContext, type RouterOptions, type StreamConsumer } from './types.js';

export { RequestContext, type ApiRequest, type AttemptFailure, type AttemptResult, type AttemptOptions, type Attempt, type Reply, type RequestHints, type RouterOptions, type StreamConsumer } from './types.js';

/** Requests that may queue per group for a concurrency slot. */
const PARALLEL_QUEUE = 1000;

export class Router {
  readonly config: ProxyConfig;
  readonly actors: ReadonlyMap<string, GroupActor>;
  readonly names: ModelNames;
  readonly #clock: () => number;
  readonly #modelList: string;
  /** Cuts the config's secrets out of text on error paths (never on a success). */
  readonly #secrets: Secrets;
  readonly #admission: Admission;
  readonly #attempts: Attempts;
  readonly #health: HealthChecks;
  /** Mutable only in `onAttempt`, set when the router is wired (before it serves). */
  readonly #planEnv: { -readonly [K in keyof PlanEnv]: PlanEnv[K] };
  readonly #credentialRules: ClientBaseRules;
  #onCooldown: ((d: DeploymentView, ms: number, why: string) => void) | null = null;
  readonly #metrics: ProxyMetrics | null;
  /** Deployments that took over the previous router's state (a reload); 0 otherwise. */
  readonly kept: number;

  constructor(config: ProxyConfig, dispatcher: Dispatcher, opts: RouterOptions & { readonly previous?: Router | null } = {}) {
    this.config = config;
    this.#clock = opts.now ?? Date.now;
    const random = opts.random ?? Math.random;
    const metrics = opts.metrics ?? null;
    this.#metrics = metrics;
    this.#secrets = Secrets.of(config.secrets);
    const picker = createPicker(config.router.routingStrategy, config.router.routingStrategyArgs);
    const actors = new Map<string, GroupActor>();
    const ttlSeconds = config.router.routingStrategyArgs.ttlSeconds;
    const latencyTtlMs = ttlSeconds === undefined ? undefined : ttlSeconds * 1000;
    for (const [name, deps] of config.groups) {
      const states = deps.map((d) => new DeploymentState(d, targetsFor(d), {
        costPerToken: d.costPerToken, defaultMaxParallel: config.router.defaultMaxParallelRequests, latencyTtlMs, metrics: metrics?.deployment(d) ?? null,
      }));
      actors.set(name, new GroupActor(name, states, picker, {
        maxQueue: PARALLEL_QUEUE,
        cooldown: {
          cooldownTimeMs: config.reliability.cooldownTimeMs,
          disabled: config.reliability.disableCooldowns,
          allowedFails: config.reliability.allowedFails,
          allowedFailsPolicy: config.reliability.allowedFailsPolicy,
        },
        onCooldown: (d, ms, why) => this.#onCooldown?.(d, ms, why),
        metrics: metrics?.group(name) ?? null,
      }));
    }
    // A reload: deployments whose id the previous router had keep their state.
    let kept = 0;
    if (opts.previous) for (const a of actors.values()) kept += a.adoptFrom(opts.previous.actors.values());
    this.kept = kept;
    this.actors = actors;
    this.names = config.names;
    const tokens = new PromptTokens(dispatcher);
    this.#credentialRules = new ClientBaseRules(config);
    this.#admission = new Admission(actors, this.names, tokens, {
      clock: this.#clock, random,
      checks: config.router.enablePreCallChecks ? new PreCallChecks(tokens, { dropParams: config.router.dropParams ?? false }) : null,
      credentials: {
        rules: this.#credentialRules,
        actors: new CredentialActors({ defaultMaxParallel: config.router.defaultMaxParallelRequests, latencyTtlMs }),
      },
      defaultCooldownMs: config.reliability.cooldownTimeMs,
    });
    this.#attempts = new Attempts(this.#admission, dispatcher, this.#clock, this.#secrets);
    this.#health = new HealthChecks(config, actors, this.names, dispatcher, this.#clock, this.#secrets);
    this.#planEnv = {
      reliability: config.reliability, groupHealth: (model) => this.groupHealth(model), random,
      // Metric labels are group names from the config, never a client's text (a wildcard serves any name).
      onRetry: metrics === null ? undefined : (model) => {
        this.resolve(model)?.metrics?.retried();
      },
      onFallback: metrics === null ? undefined : (primary, fallback, ok) => {
        const p = this.resolve(primary);
        const f = this.resolve(fallback);
        if (p !== null && f !== null) metrics.fallback(p.name, f.name, ok);
      },
    };
    // `created` is fixed as in LiteLLM's /v1/models, so the list is a constant we build once.
    this.#modelList = JSON.stringify({
      object: 'list',
      data: this.names.listed().map((id) => ({ id, object: 'model', created: 1677610602, owned_by: 'openai' })),
    });
  }

  /** A non-streaming request, with retries and fallbacks. Resolves null when the client went away. */
  call(req: ApiRequest, ctx: RequestContext): Promise<Reply | null> {
    const batch = readBatch(req, this.#routesAsIs);
    if (batch !== null) {
      if (batch instanceof ProxyError) return Promise.resolve(batchErrorReply(batch));
      const one = (r: ApiRequest, c: RequestContext): Promise<Reply | null> => this.#callOne(r, c);
      return batch.fastest ? batchFastest(req, ctx, batch, one) : batchList(req, ctx, batch, one);
    }
    return this.#callOne(req, ctx);
  }

  /** A name that routes as written (a group, alias or id; a wildcard match does not count): `a,b` may be a group. */
  readonly #routesAsIs = (model: string): boolean => {
    const r = this.names.resolve(model);
    return r !== null && r.wildcardCaptures === null;
  };

  #callOne(req: ApiRequest, ctx: RequestContext): Promise<Reply | null> {
    const creds = this.#credentials(req);
    if (creds instanceof ProxyError) return Promise.resolve(refusal(creds));
    const run = new RequestPlan(this.#planEnv, req, ctx, (model, tried, opts) => this.#attempts.call(req, ctx, model, tried, opts, creds)).run();
    return this.#metrics === null ? run : this.#timed(req, run);
  }

  /**
   * The request's own `api_key` / `api_base` (client-credentials.ts), or null; a 400 when one is
   * malformed or the requested group does not take the endpoint: refused before any attempt,
   * never retried and never sent to a fallback (each fallback group is checked when it is reached).
   */
  #credentials(req: ApiRequest): RequestCredentials | null | ProxyError {
    const creds = readRequestCredentials(req.json, this.#secrets);
    if (creds === null || creds instanceof ProxyError) return creds;
    const group = this.names.resolve(req.model)?.group;
    return group === undefined ? creds : (this.#credentialRules.check(group, creds) ?? creds);
  }

  /** `litellm_request_total_latency_metric`: the whole request, on the group it asked for. */
  #timed<T>(req: ApiRequest, run: Promise<T>): Promise<T> {
    const g = this.resolve(req.model)?.metrics ?? null;
    if (g === null) return run;
    const t0 = performance.now();
    return run.then((v) => {
      g.requestDone(performance.now() - t0);
      return v;
    });
  }

  /**
   * A streaming request. Failures before the first byte fail over like any request, unseen by
   * the client; after it, a fallback continues the stream when the group has one, else the
   * client gets a final SSE error event and no `[DONE]`.
   */
  async stream(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer): Promise<void> {
    const batch = readBatch(req, this.#routesAsIs);
    if (batch !== null) {
      if (batch instanceof ProxyError) return consumer.reply(batchErrorReply(batch));
      // A batch's fastest stream is relayed as it comes: it does not continue on a fallback mid-stream.
      return batchFastestStream(req, ctx, batch, consumer, (r, c, k) => this.#streamPlan(r, c, k, false).reply);
    }
    const { reply: run, sink } = this.#streamPlan(req, ctx, consumer, true);
    const reply = await run;
    if (reply === null || ctx.aborted) return;
    if (reply.body === STREAM_STARTED_BODY) sink.start(reply.headers, reply.upstreamMs);
    else sink.reply(reply);
  }

  /**
   * A stream's plan: its reply is STREAM_STARTED_BODY once a stream started, else the answer to
   * send, and the consumer to start or answer. With `mayContinue` and a fallback for the group, a
   * session between the attempts and the client can continue a stream that breaks after its
   * first byte (stream-session.ts); without one, nothing sits between.
   */
  #streamPlan(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer, mayContinue: boolean): { reply: Promise<Reply | null>; sink: StreamConsumer } {
    const creds = this.#credentials(req);
    if (creds instanceof ProxyError) return { reply: Promise.resolve(refusal(creds)), sink: consumer };
    let sink = consumer;
    const plan = new RequestPlan(this.#planEnv, req, ctx, (model, tried, opts) => this.#attempts.stream(req, ctx, sink, model, tried, opts, creds));
    if (mayContinue && plan.streamMayContinue) sink = new StreamSession(consumer, (generated) => plan.continueStream(generated));
    const run = plan.run();
    return { reply: this.#metrics === null ? run : this.#timed(req, run), sink };
  }

  /** `GET /health`: probes every deployment (or those of `model` / the one `modelId`). Null = unknown id. */
  healthCheck(filter: { model?: string; modelId?: string } = {}): Promise<HealthReport | null> {
    return this.#health.check(filter);
  }

  /** `background_health_checks`: the probe loop; returns the function that stops it. */
  startBackgroundHealthChecks(intervalMs: number, onReport?: (r: HealthReport) => void): () => void {
    return this.#health.start(intervalMs, onReport);
  }

  /** The last background health report, when the background loop runs. */
  get lastHealthReport(): HealthReport | null {
    return this.#health.last;
  }

  /** Every group's actor, for the sync layer (which talks to actors only). */
  groups(): readonly GroupActor[] {
    return [...this.actors.values()];
  }

  /** Every group's state now, as plain data (tests read this, never live fields). */
  snapshot(): { readonly inFlight: number; readonly groups: Readonly<Record<string, GroupSnapshot>> } {
    const groups: Record<string, GroupSnapshot> = {};
    for (const [name, a] of this.actors) groups[name] = a.snapshot();
    return { inFlight: this.inFlight(), groups };
  }

  /** Reservations go through the cluster from now on (index.ts wires the Redis sync here). */
  attachSync(reserver: Reserver): void {
    this.#admission.attachReserver(reserver);
  }

  /** Registers who hears about cooldowns as they start (the log, Redis). */
  onCooldown(fn: (d: DeploymentView, ms: number, why: string) => void): void {
    this.#onCooldown = fn;
  }

  /** Registers who hears about each failed attempt on a deployment (the log), with its redacted message and the request's id. */
  onAttemptFailure(fn: (label: string, status: number, message: string, requestId: string | null) => void): void {
    this.#attempts.onAttemptFailure = fn;
  }

  /**
   * Registers who hears about every attempt, successful ones included, with the plan's decision
   * after it (the debug log). Register only when it will be used: with none, the plan builds no
   * record at all.
   */
  onAttempt(fn: AttemptListener | null): void {
    this.#planEnv.onAttempt = fn;
  }

  /** `text` with the config's secrets cut out, for error messages built outside the router (exceptions). */
  redact(text: string): string {
    return this.#secrets.redact(text);
  }

  /** `/v1/models` body. */
  modelList(): string {
    return this.#modelList;
  }

  /** The actor serving a model name (group, alias, id or wildcard), or null. */
  resolve(model: string): GroupActor | null {
    const r = this.names.resolve(model);
    return r === null ? null : (this.actors.get(r.group) ?? null);
  }

  /**
   * A group's size and how many of its deployments are not cooling (for decisions made without
   * an attempt), and its deployment's `num_retries` when it has exactly one.
   */
  groupHealth(model: string): { size: number; healthy: number; numRetries: number | null } {
    const actor = this.resolve(model);
    if (actor === null) return { size: 0, healthy: 0, numRetries: null };
    const size = actor.deployments.length;
    return { size, healthy: actor.healthyCount(this.#clock()), numRetries: size === 1 ? (actor.deployments[0]!.cfg.numRetries ?? null) : null };
  }

  /** Requests in flight across every group. */
  inFlight(): number {
    let n = 0;
    for (const a of this.actors.values()) n += a.inFlight();
    return n;
  }
}

/** The reply to a request refused before any attempt. */
function refusal(e: ProxyError): Reply {
  return { status: e.status, body: proxyErrorBody(e), headers: [] };
}
