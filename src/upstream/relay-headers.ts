/**
 * The few upstream response headers a client gets back, as LiteLLM relays them: the
 * upstream's `x-request-id`, `openai-processing-ms` and OpenAI's `x-ratelimit-*` as
 * `llm_provider-<name>`, and the `x-ratelimit-*` ones also under their own name (LiteLLM passes
 * a provider's rate-limit headers through). Fixed names, read by property: no scan of the
 * header map, nothing allocated when the upstream sent none of them.
 */

const RATE_LIMIT = [
  'x-ratelimit-limit-requests', 'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests', 'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens',
] as const;
const PREFIXED = RATE_LIMIT.map((n) => `llm_provider-${n}`);

/** Longest value relayed: these are ids and numbers; anything longer is not what the name promises. */
const MAX_VALUE = 256;

function one(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || s.length === 0 || s.length > MAX_VALUE) return null;
  // A header value that could end the header early is dropped, never relayed.
  return /[\r\n\0]/.test(s) ? null : s;
}

/** Flat `[name, value, …]` pairs for the client; null when the upstream sent none of these. */
export function relayedHeaders(h: Readonly<Record<string, string | string[] | undefined>>): string[] | null {
  let out: string[] | null = null;
  const id = one(h['x-request-id']);
  if (id !== null) (out ??= []).push('llm_provider-x-request-id', id);
  const ms = one(h['openai-processing-ms']);
  if (ms !== null) (out ??= []).push('llm_provider-openai-processing-ms', ms);
  for (let i = 0; i < RATE_LIMIT.length; i++) {
    const v = one(h[RATE_LIMIT[i]!]);
    if (v !== null) (out ??= []).push(PREFIXED[i]!, v, RATE_LIMIT[i]!, v);
  }
  return out;
}

/** Whether relayed pairs carry a header named `name` (our computed x-ratelimit-* then step aside). */
export function carries(pairs: readonly string[], name: string): boolean {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === name) return true;
  return false;
}
