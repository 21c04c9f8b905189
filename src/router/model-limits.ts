/**
 * Context windows (max input tokens) of common models, for `enable_pre_call_checks` when a
 * deployment's `model_info` does not give `max_input_tokens`. Values from the providers'
 * model pages, as in LiteLLM's model map. Azure deployments are looked up by `base_model`.
 */
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
