/**
 * Context windows (max input tokens) for `enable_pre_call_checks` and /model_group/info:
 * `max_input_tokens` from the config wins, else the maintained model data (model-data.ts).
 * Azure deployment names say nothing about the model, so Azure is looked up by `base_model`
 * only, as LiteLLM does.
 */
import type { ProviderFamily } from '../providers/index.js';
import { modelData } from './model-data.js';
import { numberField } from './numbers.js';
import { baseModel } from './prices.js';
import type { JsonObject } from './types.js';

/** The context window of a LiteLLM model string from the model data; null if unknown. */
export function builtinMaxInputTokens(model: string): number | null {
  return modelData(model)?.maxInputTokens ?? null;
}

/** Context window for the pre-call check: `model_info.max_input_tokens` (or litellm_params'), else the model data. */
export function deploymentMaxInputTokens(
  d: { readonly litellmParams: JsonObject; readonly modelInfo: JsonObject; readonly model: string; readonly provider: ProviderFamily },
): number | null {
  const own = numberField(d.modelInfo, 'max_input_tokens') ?? numberField(d.litellmParams, 'max_input_tokens');
  if (own !== null) return own;
  const base = baseModel(d);
  // Azure deployment names say nothing about the model: LiteLLM needs base_model for them, and so do we.
  if (base === null && (d.provider === 'azure' || d.model.startsWith('azure/'))) return null;
  return builtinMaxInputTokens(base ?? d.model);
}
