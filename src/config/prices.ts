/**
 * Built-in list prices for common OpenAI models, so `cost-based-routing` ranks a deployment
 * sensibly when its config sets no `input_cost_per_token` / `output_cost_per_token`. LiteLLM
 * uses its full model price map for this; we keep a small table of the models people run
 * most, and a deployment's own prices always win over it.
 *
 * Prices are OpenAI's published standard-tier list prices in USD per 1M tokens, kept in that
 * unit so they read like the price page, and divided once when looked up.
 */
import type { JsonObject } from './types.js';
import { numberField } from './numbers.js';

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

/** [input, output] USD per 1M tokens. */
const perMillion: Readonly<Record<string, readonly [number, number]>> = {
  'gpt-4o': [2.5, 10],
  // The first gpt-4o snapshot kept the launch price; later snapshots and the alias are cheaper.
  'gpt-4o-2024-05-13': [5, 15],
  'gpt-4o-mini': [0.15, 0.6],
  'gpt-4.1': [2, 8],
  'gpt-4.1-mini': [0.4, 1.6],
  'gpt-4.1-nano': [0.1, 0.4],
  'gpt-4-turbo': [10, 30],
  // GPT-4 Turbo previews are named like dated gpt-4 snapshots but priced as Turbo.
  'gpt-4-turbo-preview': [10, 30],
  'gpt-4-1106-preview': [10, 30],
  'gpt-4-0125-preview': [10, 30],
  'gpt-4': [30, 60],
  'gpt-3.5-turbo': [0.5, 1.5],
  'gpt-3.5-turbo-1106': [1, 2],
  'gpt-3.5-turbo-0613': [1.5, 2],
  'o1': [15, 60],
  'o1-preview': [15, 60],
  'o1-mini': [1.1, 4.4],
  'o3': [2, 8],
  'o3-mini': [1.1, 4.4],
  'o4-mini': [1.1, 4.4],
  'text-embedding-3-small': [0.02, 0],
  'text-embedding-3-large': [0.13, 0],
  'text-embedding-ada-002': [0.1, 0],
};

/**
 * A dated snapshot: `-2024-08-06` or `-0613`. Only a date may follow a known name, so
 * `gpt-4o-mini-2024-07-18` resolves to gpt-4o-mini (not gpt-4o) and `gpt-4-32k` or
 * `gpt-4o-realtime-preview`, priced differently, resolve to nothing.
 */
const dated = /^(.+)-(?:\d{4}-\d{2}-\d{2}|\d{4})$/;

/**
 * Provider prefixes in LiteLLM model names that bill at OpenAI's list prices. An Azure
 * deployment name is the user's choice; when it is not a model name it resolves to nothing,
 * and the caller should try `model_info.base_model` as LiteLLM does.
 */
const prefixes = ['openai/', 'azure/'];

/** The list price of an upstream model name, exact or a dated snapshot of one; null if unknown. */
export function builtinPrice(upstreamModel: string): TokenPrice | null {
  let name = upstreamModel;
  for (const p of prefixes) if (name.startsWith(p)) name = name.slice(p.length);
  let entry = Object.hasOwn(perMillion, name) ? perMillion[name] : undefined;
  if (entry === undefined) {
    const base = dated.exec(name)?.[1];
    if (base !== undefined && Object.hasOwn(perMillion, base)) entry = perMillion[base];
  }
  return entry === undefined ? null : { input: entry[0] / 1e6, output: entry[1] / 1e6 };
}

/**
 * Input + output USD per token for `cost-based-routing`, as LiteLLM sums
 * `input_cost_per_token + output_cost_per_token`; null when the model is not in the table
 * (the caller then uses DEFAULT_COST_PER_TOKEN).
 */
export function builtinCostPerToken(upstreamModel: string): number | null {
  const p = builtinPrice(upstreamModel);
  return p === null ? null : p.input + p.output;
}

/**
 * A deployment's input + output price per token: its own (`litellm_params`, then `model_info`),
 * else the built-in table for `model_info.base_model` or the upstream model, else LiteLLM's default.
 */
export function deploymentCostPerToken(d: { readonly litellmParams: JsonObject; readonly modelInfo: JsonObject; readonly upstreamModel: string }): number {
  const input = numberField(d.litellmParams, 'input_cost_per_token') ?? numberField(d.modelInfo, 'input_cost_per_token');
  const output = numberField(d.litellmParams, 'output_cost_per_token') ?? numberField(d.modelInfo, 'output_cost_per_token');
  if (input !== null || output !== null) return (input ?? 0) + (output ?? 0);
  const base = typeof d.modelInfo.base_model === 'string' ? d.modelInfo.base_model : d.upstreamModel;
  return builtinCostPerToken(base) ?? DEFAULT_COST_PER_TOKEN;
}
