/**
 * Model prices and context windows from `@pydantic/genai-prices` (Pydantic's maintained price
 * data, bundled in the package: no network at run time), in LiteLLM's terms: a LiteLLM model
 * string (`groq/llama-3.1-8b-instant`, `azure/gpt-35-turbo`, `gpt-4o`) in, USD per token and
 * the context window out. Used at config load only (deployments.ts), and to infer the
 * provider of a bare model name for wildcard groups (model-names.ts), as LiteLLM's
 * `get_llm_provider` does from its own model map. Configured values always win (the callers).
 */
import { calcPrice, findProvider, type ModelPrice } from '@pydantic/genai-prices';
import { resolveProvider } from '../providers/index.js';

export interface ModelData {
  /** USD per prompt token (the base tier). */
  readonly inputCostPerToken: number;
  /** USD per completion token (the base tier). */
  readonly outputCostPerToken: number;
  /** Context window in tokens; null when the data has none. */
  readonly maxInputTokens: number | null;
}

/** LiteLLM provider prefix → genai-prices provider id. Self-hosted families have no list price. */
const providerIds: Readonly<Record<string, string>> = {
  openai: 'openai',
  'text-completion-openai': 'openai',
  azure: 'azure',
  azure_ai: 'azure',
  anthropic: 'anthropic',
  gemini: 'google',
  vertex_ai: 'google',
  groq: 'groq',
  mistral: 'mistral',
  deepseek: 'deepseek',
  xai: 'x-ai',
  together_ai: 'together',
  fireworks_ai: 'fireworks',
  openrouter: 'openrouter',
  perplexity: 'perplexity',
  cerebras: 'cerebras',
  cohere: 'cohere',
  bedrock: 'aws',
};

/**
 * genai-prices provider id → the LiteLLM prefix a bare name of that provider is retried with
 * (LiteLLM lists bare Gemini names under `vertex_ai`).
 */
const litellmPrefixes: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  google: 'vertex_ai',
  mistral: 'mistral',
  deepseek: 'deepseek',
  'x-ai': 'xai',
  cohere: 'cohere',
};

const cache = new Map<string, ModelData | null>();
/** Lookups are per deployment at load; the bound only keeps a config with many odd names from holding memory. */
const CACHE_LIMIT = 2000;

/**
 * Prices and context window of a LiteLLM model string; null when the data does not know it,
 * its provider prefix has no list prices (self-hosted), or it names no model (`openai/*`).
 */
export function modelData(litellmModel: string): ModelData | null {
  const hit = cache.get(litellmModel);
  if (hit !== undefined || cache.has(litellmModel)) return hit ?? null;
  const found = lookup(litellmModel);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(litellmModel, found);
  return found;
}

function lookup(litellmModel: string): ModelData | null {
  const slash = litellmModel.indexOf('/');
  const prefix = slash === -1 ? null : litellmModel.slice(0, slash);
  const name = slash === -1 ? litellmModel : litellmModel.slice(slash + 1);
  if (name === '' || name.includes('*')) return null;
  let providerId: string | undefined;
  if (prefix !== null) {
    providerId = Object.hasOwn(providerIds, prefix) ? providerIds[prefix] : undefined;
    if (providerId === undefined) return null;
  } else if (resolveProvider(name).ok) {
    // A bare name Switchyard sends to OpenAI (gpt-…, o1…, text-embedding-…) is priced as OpenAI's.
    providerId = 'openai';
  }
  let r: ReturnType<typeof calcPrice>;
  try {
    r = calcPrice({ input_tokens: 1, output_tokens: 1 }, name, providerId === undefined ? {} : { providerId });
  } catch {
    return null;
  }
  if (r === null) return null;
  const input = perToken(r.model_price, 'input_mtok');
  const output = perToken(r.model_price, 'output_mtok');
  if (input === null && output === null) return null;
  const window = r.model.context_window;
  return {
    inputCostPerToken: input ?? 0,
    outputCostPerToken: output ?? 0,
    maxInputTokens: typeof window === 'number' && window > 0 ? window : null,
  };
}

/** A per-million price (plain or tiered: its base) as USD per token. */
function perToken(p: ModelPrice, key: string): number | null {
  const v = p[key];
  if (typeof v === 'number') return Number.isFinite(v) ? v / 1e6 : null;
  if (v !== undefined && typeof v.base === 'number') return v.base / 1e6;
  return null;
}

/**
 * The LiteLLM provider prefix of a bare model name (`claude-3-5-sonnet` → `anthropic`,
 * `gpt-4o` → `openai`, `gemini-1.5-pro` → `vertex_ai`), from the providers' name patterns in
 * the model data; null when no provider claims it, the name already has a prefix, or it has
 * capitals (LiteLLM matches its lowercase lists exactly).
 */
export function inferProvider(bareModel: string): string | null {
  if (bareModel === '' || bareModel.includes('/')) return null;
  // The data's patterns ignore case; LiteLLM's provider lists are lowercase names, looked up exactly.
  if (bareModel !== bareModel.toLowerCase()) return null;
  let id: string | undefined;
  try {
    id = findProvider({ modelId: bareModel })?.id;
  } catch {
    return null;
  }
  return id !== undefined && Object.hasOwn(litellmPrefixes, id) ? litellmPrefixes[id]! : null;
}

/**
 * The model ids the data lists for a LiteLLM provider prefix, for expanding a wildcard group
 * such as `openai/*` in /model_group/info; empty when the provider is unknown.
 */
export function providerModels(prefix: string): readonly string[] {
  const id = Object.hasOwn(providerIds, prefix) ? providerIds[prefix] : undefined;
  if (id === undefined) return [];
  try {
    return findProvider({ providerId: id })?.models.filter((m) => m.deprecated !== true).map((m) => m.id) ?? [];
  } catch {
    return [];
  }
}
