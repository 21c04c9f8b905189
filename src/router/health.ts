/**
 * `GET /health`: a real, minimal call to every deployment (LiteLLM's health check), and the
 * optional background loop (`general_settings.background_health_checks`) that repeats it
 * every `health_check_interval` seconds and cools the deployments that fail.
 */
import type { JsonObject } from '../config/types.js';
import type { Endpoint } from '../providers/index.js';

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
