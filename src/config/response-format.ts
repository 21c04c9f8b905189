/**
 * Whether a deployment can serve a request's `response_format`, for the pre-call check
 * (`enable_pre_call_checks` without `drop_params`). LiteLLM asks its provider configs for the
 * supported OpenAI params: every OpenAI-wire model takes `response_format` except `gpt-4` and
 * `gpt-3.5-turbo-16k` (OpenAIGPTConfig.get_supported_openai_params), judged on `base_model`
 * when given, else the model. The model data (model-data.ts) has prices and context windows
 * but no parameter support, so the config can say it instead: `model_info.supported_openai_params`,
 * LiteLLM's own field, when it is a list, decides.
 */
import { baseModel } from './prices.js';
import type { JsonObject } from './types.js';

/** Models LiteLLM's OpenAI config lists without `response_format`. */
const withoutResponseFormat = new Set(['gpt-4', 'gpt-3.5-turbo-16k']);

export function deploymentServesResponseFormat(d: { readonly litellmParams: JsonObject; readonly modelInfo: JsonObject; readonly model: string }): boolean {
  const listed = d.modelInfo.supported_openai_params;
  if (Array.isArray(listed)) return listed.includes('response_format');
  const name = baseModel(d) ?? d.model;
  const slash = name.indexOf('/');
  return !withoutResponseFormat.has(slash === -1 ? name : name.slice(slash + 1));
}
