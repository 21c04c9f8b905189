/**
 * `GET /health` and the background loop: a real, minimal call to every deployment (LiteLLM's
 * health check), outside the actors (probes are not traffic: no lease, no limits), and the
 * optional loop (`general_settings.background_health_checks`) that repeats it every
 * `health_check_interval` seconds and cools the deployments that fail through their actor.
 */
import type { DeploymentConfig, JsonObject, ProxyConfig } from '../config/types.js';
import { publicParams } from '../config/public-params.js';
import { upstreamError } from '../errors.js';
import type { Endpoint } from '../providers/index.js';
import type { Secrets } from '../secrets.js';
import { timerDelay } from '../timer-delay.js';
import { newTaskId, type Dispatcher } from '../upstream/dispatch.js';
import { taskFor } from './attempt.js';
import type { GroupActor } from './group-actor.js';
import type { ModelNames, Resolved } from '../config/model-names.js';
import type { ApiRequest } from './types.js';

export interface HealthEntry {
  readonly params: JsonObject;
  readonly error?: string;
}

export interface HealthReport {
  readonly healthy_endpoints: readonly JsonObject[];
  readonly unhealthy_endpoints: readonly JsonObject[];
  readonly healthy_count: number;
  readonly unhealthy_count: number;
}

/** LiteLLM's health-check timeout when `model_info.health_check_timeout` is not set. */
export const HEALTH_CHECK_TIMEOUT_MS = 60_000;

/** The smallest request that proves a deployment answers, by its `model_info.mode`. */
export function healthProbeBody(mode: unknown, model: string): { endpoint: Endpoint; json: Record<string, unknown> } {
  if (mode === 'embedding') return { endpoint: 'embeddings', json: { model, input: ['ping'] } };
  if (mode === 'completion') return { endpoint: 'completions', json: { model, prompt: 'ping', max_tokens: 1 } };
  return { endpoint: 'chat', json: { model, messages: [{ role: 'user', content: "What's 1 + 1?" }], max_tokens: 1 } };
}

export function report(results: readonly HealthEntry[]): HealthReport {
  const healthy = results.filter((r) => r.error === undefined).map((r) => r.params);
  const unhealthy = results.filter((r) => r.error !== undefined).map((r) => ({ ...r.params, error: r.error! }));
  return { healthy_endpoints: healthy, unhealthy_endpoints: unhealthy, healthy_count: healthy.length, unhealthy_count: unhealthy.length };
}

/** `model_info.health_check_timeout`, seconds, when it is a number (or a numeric string). */
function ownTimeoutS(o: JsonObject): number | null {
  const v = o.health_check_timeout;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

export class HealthChecks {
  readonly #config: ProxyConfig;
  readonly #actors: ReadonlyMap<string, GroupActor>;
  readonly #names: ModelNames;
  readonly #dispatcher: Dispatcher;
  readonly #clock: () => number;
  readonly #secrets: Secrets;
  #last: HealthReport | null = null;

  constructor(config: ProxyConfig, actors: ReadonlyMap<string, GroupActor>, names: ModelNames, dispatcher: Dispatcher, clock: () => number, secrets: Secrets) {
    this.#config = config;
    this.#actors = actors;
    this.#names = names;
    this.#dispatcher = dispatcher;
    this.#clock = clock;
    this.#secrets = secrets;
  }

  /**
   * Calls every deployment (or those of `model` / the one `modelId`) with a minimal request.
   * Wildcard deployments have no concrete model to ask and are left out. Null = unknown id.
   */
  async check(filter: { model?: string; modelId?: string } = {}): Promise<HealthReport | null> {
    let deps = this.#config.deployments.filter((d) => !d.group.includes('*'));
    if (filter.modelId !== undefined) {
      deps = deps.filter((d) => d.id === filter.modelId);
      if (deps.length === 0) return null;
    }
    if (filter.model !== undefined) {
      const group = this.#names.resolve(filter.model)?.group;
      deps = deps.filter((d) => d.group === group);
    }
    const results = await Promise.all(deps.map((cfg) => this.#probe(cfg)));
    return report(results);
  }

  async #probe(cfg: DeploymentConfig): Promise<HealthEntry> {
    const params = { ...publicParams(this.#config, cfg), model_name: cfg.group, model_id: cfg.id };
    const d = this.#actors.get(cfg.group)?.deployment(cfg.id);
    if (!d) return { params, error: 'deployment not found' };
    const { endpoint, json } = healthProbeBody(cfg.modelInfo.mode, cfg.group);
    const body = new TextEncoder().encode(JSON.stringify(json)).buffer as ArrayBuffer;
    const req: ApiRequest = { endpoint, model: cfg.group, stream: false, body, json, hints: { numRetries: '', timeout: '', streamTimeout: '' } };
    const resolved: Resolved = { group: cfg.group, reportedGroup: cfg.group, deploymentId: cfg.id, wildcardCaptures: null };
    // A health_check_timeout that is not positive would time every probe out at once (and cool every deployment).
    const ownS = ownTimeoutS(cfg.modelInfo);
    const timeoutMs = timerDelay(ownS !== null && ownS > 0 ? ownS * 1000 : HEALTH_CHECK_TIMEOUT_MS);
    try {
      const r = await this.#dispatcher.call({ ...taskFor(req, cfg.group, d, resolved, newTaskId(), body, this.#dispatcher.allocBody), timeoutMs });
      if (r.ok) return { params };
      if ('error' in r) return { params, error: this.#secrets.redact(r.error.message) };
      return { params, error: `${r.status}: ${upstreamError(r.status, Buffer.from(r.body).toString('utf8'), d.label, this.#secrets).message}` };
    } catch (err) {
      return { params, error: this.#secrets.redact(`health check failed: ${err instanceof Error ? err.message : String(err)}`) };
    }
  }

  /**
   * Runs the check every `intervalMs` and cools each unhealthy deployment for the router's
   * cooldown time, so traffic avoids it before a user hits it. Returns the function that stops the loop.
   */
  start(intervalMs: number, onReport?: (r: HealthReport) => void): () => void {
    let running = false;
    const tick = async (): Promise<void> => {
      if (running) return;
      running = true;
      try {
        const r = await this.check();
        if (r === null) return;
        const now = this.#clock();
        const coolMs = this.#config.reliability.cooldownTimeMs;
        if (coolMs > 0 && !this.#config.reliability.disableCooldowns) {
          for (const u of r.unhealthy_endpoints) this.#actors.get(String(u.model_name))?.coolFromHealthCheck(String(u.model_id), now, coolMs);
        }
        this.#last = r;
        onReport?.(r);
      } finally {
        running = false;
      }
    };
    void tick();
    // health_check_interval comes from the config: a value past what a timer holds would fire every millisecond.
    const timer = setInterval(() => void tick(), timerDelay(intervalMs));
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The last background health report, when the background loop runs. */
  get last(): HealthReport | null {
    return this.#last;
  }
}
