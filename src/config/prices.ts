/**
 * Token prices for `cost-based-routing` and /model_group/info: a deployment's own
 * `input_cost_per_token` / `output_cost_per_token` win, as in LiteLLM; else the maintained
 * model data (model-data.ts, for `base_model` or the deployment's model); else, for routing,
 * LiteLLM's default for an unpriced model.
 */
import { modelData } from './model-data.js';
import { numberField } from './numbers.js';
import type { JsonObject } from './types.js';

export interface TokenPrice {
  /** USD per prompt token. */
  readonly input: number;
  /** USD per completion token. */
  readonly output: number;
}

/**
 * LiteLLM's cost for a model it has no price for: 5.0 + 5.0 USD per token
 * (router_strategy/lowest_cost.py), so any priced deployment is cheaper.
 */
export const DEFAULT_COST_PER_TOKEN = 10;

/** The list price of a LiteLLM model string (`gpt-4o`, `groq/llama-3.1-8b-instant`) from the model data; null if unknown. */
export function builtinPrice(model: string): TokenPrice | null {
  const m = modelData(model);
  return m === null ? null : { input: m.inputCostPerToken, output: m.outputCostPerToken };
}

/**
 * Input + output USD per token, as LiteLLM sums `input_cost_per_token + output_cost_per_token`;
 * null when the model data does not know the model (the caller then uses DEFAULT_COST_PER_TOKEN).
 */
export function builtinCostPerToken(model: string): number | null {
  const p = builtinPrice(model);
  return p === null ? null : p.input + p.output;
}

interface PricedDeployment {
  readonly litellmParams: JsonObject;
  readonly modelInfo: JsonObject;
  /** `litellm_params.model`, with its provider prefix. */
  readonly model: string;
}

/** `base_model` (model_info, then litellm_params), which LiteLLM looks model data up by; null when unset. */
export function baseModel(d: { readonly litellmParams: JsonObject; readonly modelInfo: JsonObject }): string | null {
  const b = d.modelInfo.base_model ?? d.litellmParams.base_model;
  return typeof b === 'string' && b !== '' ? b : null;
}

/** The prices the config gives a deployment: `litellm_params`, then `model_info`; null = not given. */
function ownPrices(d: PricedDeployment): { input: number | null; output: number | null } {
  return {
    input: numberField(d.litellmParams, 'input_cost_per_token') ?? numberField(d.modelInfo, 'input_cost_per_token'),
    output: numberField(d.litellmParams, 'output_cost_per_token') ?? numberField(d.modelInfo, 'output_cost_per_token'),
  };
}

/** A deployment's prices: each its own when configured, else the model data's; null = unknown. */
export function deploymentPrices(d: PricedDeployment): { input: number | null; output: number | null } {
  const { input: ownIn, output: ownOut } = ownPrices(d);
  if (ownIn !== null && ownOut !== null) return { input: ownIn, output: ownOut };
  const data = builtinPrice(baseModel(d) ?? d.model);
  return { input: ownIn ?? data?.input ?? null, output: ownOut ?? data?.output ?? null };
}

/**
 * A deployment's input + output price per token for `cost-based-routing`: its own
 * (`litellm_params`, then `model_info`; one given alone counts the other as 0, as LiteLLM's
 * `.get(..., 0)`), else the model data for `base_model` or the model, else LiteLLM's default.
 */
export function deploymentCostPerToken(d: PricedDeployment): number {
  const { input, output } = ownPrices(d);
  if (input !== null || output !== null) return (input ?? 0) + (output ?? 0);
  return builtinCostPerToken(baseModel(d) ?? d.model) ?? DEFAULT_COST_PER_TOKEN;
}
