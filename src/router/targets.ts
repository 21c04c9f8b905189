/**
 * A deployment's upstream targets (URL and precomputed headers per endpoint), built once when
 * its DeploymentState is: at config load, or when a request's own credentials derive one.
 */
import type { DeploymentConfig } from '../config/types.js';
import { buildTarget, type Endpoint, type UpstreamTarget } from '../providers/index.js';
import { responsesTarget } from '../providers/responses-target.js';

const endpoints: readonly Endpoint[] = ['chat', 'completions', 'embeddings'];

/** Null for a mock deployment, or one with no base to call. */
export function targetsFor(cfg: DeploymentConfig): Record<Endpoint, UpstreamTarget> | null {
  if (cfg.provider === 'mock' || cfg.apiBase === null) return null;
  const family = cfg.provider;
  const params = { family, upstreamModel: cfg.upstreamModel, apiBase: cfg.apiBase, apiKey: cfg.apiKey, apiVersion: cfg.apiVersion, extraHeaders: cfg.extraHeaders, basicAuth: cfg.basicAuth };
  const out = {} as Record<Endpoint, UpstreamTarget>;
  for (const e of endpoints) out[e] = buildTarget(params, e);
  // Azure's Responses API has its own default version (LiteLLM's): only a configured api_version replaces it.
  const configured = cfg.litellmParams.api_version;
  out.responses = responsesTarget(configured === undefined || configured === null || configured === '' ? { ...params, apiVersion: null } : params);
  return out;
}
