/**
 * Context windows (max input tokens) of common models, for `enable_pre_call_checks` when a
 * deployment's `model_info` does not give `max_input_tokens`. Values from the providers'
 * model pages, as in LiteLLM's model map. Azure deployments are looked up by `base_model`.
 */
import type { ProviderFamily } from '../providers/index.js';
import { numberField } from './numbers.js';
import type { JsonObject } from './types.js';

const table: ReadonlyArray<readonly [RegExp, number]> = [
  [/^gpt-4\.1/, 1_047_576],
  [/^gpt-5/, 272_000],
  [/^(gpt-4o|chatgpt-4o)/, 128_000],
  [/^gpt-4-turbo|^gpt-4-(0125|1106)/, 128_000],
  [/^gpt-4-32k/, 32_768],
  [/^gpt-4/, 8_192],
  [/^gpt-3\.5-turbo-instruct/, 4_096],
  [/^gpt-3\.5-turbo/, 16_385],
  [/^(o1-mini)/, 128_000],
  [/^(o1|o3|o4)/, 200_000],
  [/^text-embedding-/, 8_191],
];

export function builtinMaxInputTokens(model: string): number | null {
  const name = model.includes('/') ? model.slice(model.lastIndexOf('/') + 1) : model;
  for (const [re, n] of table) if (re.test(name)) return n;
  return null;
}

/** Context window for the pre-call check: `model_info.max_input_tokens` (or litellm_params'), else the built-in table. */
export function deploymentMaxInputTokens(
  d: { readonly litellmParams: JsonObject; readonly modelInfo: JsonObject; readonly upstreamModel: string; readonly provider: ProviderFamily },
): number | null {
  const own = numberField(d.modelInfo, 'max_input_tokens') ?? numberField(d.litellmParams, 'max_input_tokens');
  if (own !== null) return own;
  const base = typeof d.modelInfo.base_model === 'string' ? d.modelInfo.base_model : typeof d.litellmParams.base_model === 'string' ? d.litellmParams.base_model : null;
  // Azure deployment names say nothing about the model: LiteLLM needs base_model for them, and so do we.
  if (base === null && d.provider === 'azure') return null;
  return builtinMaxInputTokens(base ?? d.upstreamModel);
}
