/**
 * A deployment's upstream targets (URL and precomputed headers per endpoint), built once when
 * its DeploymentState is: at config load, or when a request's own credentials derive one.
 */
import type { DeploymentConfig } from '../config/types.js';
import { buildTarget, type Endpoint, type UpstreamTarget } from '../providers/index.js';

const endpoints: readonly Endpoint[] = ['chat', 'completions', 'embeddings'];

/** Null for a mock deployment, or one with no base to call. */
export function targetsFor(cfg: DeploymentConfig): Record<Endpoint, UpstreamTarget> | null {
  if (cfg.provider === 'mock' || cfg.apiBase === null) return null;
  const family = cfg.provider;
  const out = {} as Record<Endpoint, UpstreamTarget>;
  for (const e of endpoints) {
    out[e] = buildTarget(
      { family, upstreamModel: cfg.upstreamModel, apiBase: cfg.apiBase, apiKey: cfg.apiKey, apiVersion: cfg.apiVersion, extraHeaders: cfg.extraHeaders, basicAuth: cfg.basicAuth },
      e,
    );
  }
  return out;
}
