/**
 * Provider families: pure functions from a deployment's params to the upstream URL, headers
 * and body. Everything we speak is the OpenAI wire format; families differ only in base URL,
 * auth header and (for Azure) URL shape. Providers LiteLLM translates to other wire formats
 * (anthropic, bedrock, vertex, ...) are not supported: their deployments are skipped at load.
 */
import { basicToken } from '../secrets.js';

/** `responses` is the OpenAI Responses API (`POST /v1/responses`); see responses-target.ts for who speaks it. */
export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'responses';

export type ProviderFamily = 'openai' | 'azure' | 'openai-compatible' | 'mock';

interface CompatibleFamily {
  /** Base URL when `api_base` is not given; null = `api_base` is required. */
  readonly defaultBase: string | null;
  /** Environment variables LiteLLM reads when `api_key` / `api_base` are not set. */
  readonly keyEnv: readonly string[];
  readonly baseEnv: readonly string[];
  /** Appended to a user's `api_base` when it does not already end with it (Ollama serves OpenAI under /v1). */
  readonly basePathSuffix?: string;
}

/**
 * OpenAI-compatible families, keyed by LiteLLM's provider prefix. Default bases follow
 * LiteLLM's provider configs; each of these servers speaks `/chat/completions`,
 * `/completions` and `/embeddings` in the OpenAI shape.
 */
export const compatibleFamilies: Readonly<Record<string, CompatibleFamily>> = {
  openai: { defaultBase: 'https://api.openai.com/v1', keyEnv: ['OPENAI_API_KEY'], baseEnv: ['OPENAI_API_BASE', 'OPENAI_BASE_URL'] },
  'text-completion-openai': { defaultBase: 'https://api.openai.com/v1', keyEnv: ['OPENAI_API_KEY'], baseEnv: ['OPENAI_API_BASE', 'OPENAI_BASE_URL'] },
  custom_openai: { defaultBase: null, keyEnv: ['OPENAI_API_KEY'], baseEnv: [] },
  openai_like: { defaultBase: null, keyEnv: [], baseEnv: [] },
  hosted_vllm: { defaultBase: null, keyEnv: ['HOSTED_VLLM_API_KEY'], baseEnv: ['HOSTED_VLLM_API_BASE'] },
  vllm: { defaultBase: null, keyEnv: ['HOSTED_VLLM_API_KEY'], baseEnv: ['HOSTED_VLLM_API_BASE'] },
  ollama: { defaultBase: 'http://localhost:11434/v1', keyEnv: ['OLLAMA_API_KEY'], baseEnv: ['OLLAMA_API_BASE'], basePathSuffix: '/v1' },
  ollama_chat: { defaultBase: 'http://localhost:11434/v1', keyEnv: ['OLLAMA_API_KEY'], baseEnv: ['OLLAMA_API_BASE'], basePathSuffix: '/v1' },
  lm_studio: { defaultBase: 'http://localhost:1234/v1', keyEnv: ['LM_STUDIO_API_KEY'], baseEnv: ['LM_STUDIO_API_BASE'] },
  openrouter: { defaultBase: 'https://openrouter.ai/api/v1', keyEnv: ['OPENROUTER_API_KEY', 'OR_API_KEY'], baseEnv: ['OPENROUTER_API_BASE'] },
  groq: { defaultBase: 'https://api.groq.com/openai/v1', keyEnv: ['GROQ_API_KEY'], baseEnv: ['GROQ_API_BASE'] },
  together_ai: { defaultBase: 'https://api.together.xyz/v1', keyEnv: ['TOGETHERAI_API_KEY', 'TOGETHER_AI_API_KEY', 'TOGETHER_API_KEY'], baseEnv: ['TOGETHERAI_API_BASE'] },
  deepseek: { defaultBase: 'https://api.deepseek.com/v1', keyEnv: ['DEEPSEEK_API_KEY'], baseEnv: ['DEEPSEEK_API_BASE'] },
  mistral: { defaultBase: 'https://api.mistral.ai/v1', keyEnv: ['MISTRAL_API_KEY'], baseEnv: ['MISTRAL_API_BASE'] },
  fireworks_ai: { defaultBase: 'https://api.fireworks.ai/inference/v1', keyEnv: ['FIREWORKS_AI_API_KEY', 'FIREWORKS_API_KEY'], baseEnv: ['FIREWORKS_API_BASE'] },
  perplexity: { defaultBase: 'https://api.perplexity.ai', keyEnv: ['PERPLEXITYAI_API_KEY', 'PERPLEXITY_API_KEY'], baseEnv: [] },
  deepinfra: { defaultBase: 'https://api.deepinfra.com/v1/openai', keyEnv: ['DEEPINFRA_API_KEY'], baseEnv: [] },
  xai: { defaultBase: 'https://api.x.ai/v1', keyEnv: ['XAI_API_KEY'], baseEnv: ['XAI_API_BASE'] },
  cerebras: { defaultBase: 'https://api.cerebras.ai/v1', keyEnv: ['CEREBRAS_API_KEY'], baseEnv: [] },
  nvidia_nim: { defaultBase: 'https://integrate.api.nvidia.com/v1', keyEnv: ['NVIDIA_NIM_API_KEY'], baseEnv: ['NVIDIA_NIM_API_BASE'] },
  anyscale: { defaultBase: 'https://api.endpoints.anyscale.com/v1', keyEnv: ['ANYSCALE_API_KEY'], baseEnv: [] },
};

/** LiteLLM's `AZURE_DEFAULT_API_VERSION`. */
export const AZURE_DEFAULT_API_VERSION = '2025-02-01-preview';

/** Bare model names LiteLLM's model map attributes to OpenAI (`gpt-4o`, `text-embedding-3-small`, ...). */
const bareOpenAiModel = /^(gpt-|chatgpt-|o1|o3|o4|text-embedding-|text-davinci|davinci|babbage|dall-e|tts-|whisper|omni-moderation|text-moderation|codex-|computer-use)/;

export type ProviderResolution =
  | { readonly ok: true; readonly family: 'openai' | 'azure' | 'openai-compatible'; readonly prefix: string; readonly upstreamModel: string }
  | { readonly ok: false; readonly reason: string };

/** Splits `litellm_params.model` into its provider family and the name the upstream expects. */
export function resolveProvider(model: string): ProviderResolution {
  const slash = model.indexOf('/');
  if (slash === -1) {
    if (bareOpenAiModel.test(model)) return { ok: true, family: 'openai', prefix: 'openai', upstreamModel: model };
    return { ok: false, reason: `cannot tell the provider of model "${model}"; write it as "<provider>/${model}" (for example "openai/${model}")` };
  }
  const prefix = model.slice(0, slash);
  const rest = model.slice(slash + 1);
  if (rest === '') return { ok: false, reason: `model "${model}" names no model after the provider prefix` };
  if (prefix === 'azure') return { ok: true, family: 'azure', prefix, upstreamModel: rest };
  if (prefix === 'openai' || prefix === 'text-completion-openai') return { ok: true, family: 'openai', prefix, upstreamModel: rest };
  if (Object.hasOwn(compatibleFamilies, prefix)) return { ok: true, family: 'openai-compatible', prefix, upstreamModel: rest };
  return { ok: false, reason: `provider "${prefix}" is not supported (Switchyard speaks the OpenAI wire format: openai, azure, ${Object.keys(compatibleFamilies).filter((k) => k !== 'openai').join(', ')})` };
}

const endpointPath: Readonly<Record<Endpoint, string>> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
};

/** What a worker needs to call one deployment's endpoint; computed once per deployment at config load. */
export interface UpstreamTarget {
  readonly url: string;
  /** Flat `[name, value, name, value, ...]`: cheap to clone across threads and to hand to undici. */
  readonly headers: readonly string[];
  /** A Responses API request this deployment serves through `/chat/completions`: the worker translates both ways. */
  readonly viaChat?: boolean;
}

export interface TargetParams {
  readonly family: 'openai' | 'azure' | 'openai-compatible';
  readonly upstreamModel: string;
  readonly apiBase: string;
  readonly apiKey: string | null;
  readonly apiVersion: string | null;
  readonly extraHeaders: Readonly<Record<string, string>>;
  /** `Basic ...` from the user name and password of `api_base` (see `splitApiBase`); null or absent = none. */
  readonly basicAuth?: string | null;
}

function trimSlash(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 47 /* / */) end--;
  return s.slice(0, end);
}

/** Upstream URL and headers for one endpoint of one deployment. Pure; no I/O. */
export function buildTarget(p: TargetParams, endpoint: Endpoint): UpstreamTarget {
  const base = trimSlash(p.apiBase);
  const headers: string[] = ['content-type', 'application/json'];
  let url: string;
  if (p.family === 'azure') {
    const version = p.apiVersion ?? AZURE_DEFAULT_API_VERSION;
    if (version === 'v1' || version === 'latest' || version === 'preview') {
      // Azure's v1 API is OpenAI-shaped: model in the body, no deployment in the path.
      url = `${base.includes('/openai/v1') ? base : `${base}/openai/v1`}${endpointPath[endpoint]}`;
      if (version === 'preview') url += '?api-version=preview';
    } else {
      const deploymentBase = base.includes('/openai/deployments')
        ? base
        : `${base}/openai/deployments/${encodeURIComponent(p.upstreamModel)}`;
      url = `${deploymentBase}${endpointPath[endpoint]}?api-version=${encodeURIComponent(version)}`;
    }
    if (p.apiKey) headers.push('api-key', p.apiKey);
    if (p.basicAuth) headers.push('authorization', p.basicAuth);
  } else {
    url = `${base}${endpointPath[endpoint]}`;
    // The loader refuses a deployment that would send both; the key wins if one slips through.
    if (p.apiKey) headers.push('authorization', `Bearer ${p.apiKey}`);
    else if (p.basicAuth) headers.push('authorization', p.basicAuth);
  }
  for (const [k, v] of Object.entries(p.extraHeaders)) headers.push(k.toLowerCase(), v);
  return { url, headers };
}

/** The user name and password (percent-decoded) that an `api_base` carries, and the URL without them. */
export interface ApiBaseUserinfo {
  readonly base: string;
  readonly user: string;
  readonly password: string;
  /** The `Authorization` value they make: `Basic base64(user:password)`. */
  readonly authorization: string;
}

const userinfoUrl = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;

/**
 * `http://alice:pw@host/v1` → base `http://host/v1`, user `alice`, password `pw`; null when
 * the URL has no user-info. Text surgery rather than `new URL().toString()`, so the rest of
 * the URL stays exactly as written.
 */
export function splitApiBase(apiBase: string): ApiBaseUserinfo | null {
  const m = userinfoUrl.exec(apiBase);
  if (m === null) return null;
  const userinfo = m[2]!;
  const colon = userinfo.indexOf(':');
  const user = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? '' : decode(userinfo.slice(colon + 1));
  return {
    base: m[1]! + apiBase.slice(m[0].length),
    user,
    password,
    authorization: `Basic ${basicToken(user, password)}`,
  };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Applies a family's base-path rule to a user-given `api_base`. */
export function normaliseApiBase(prefix: string, apiBase: string): string {
  const fam = compatibleFamilies[prefix];
  const base = trimSlash(apiBase);
  if (fam?.basePathSuffix && !base.endsWith(fam.basePathSuffix)) return base + fam.basePathSuffix;
  return base;
}

/**
 * Request-body keys that are instructions to the proxy (LiteLLM's own params), never
 * forwarded upstream.
 */
export const proxyOnlyBodyKeys: readonly string[] = [
  'mock_response', 'mock_timeout', 'mock_testing_fallbacks', 'mock_testing_context_fallbacks',
  'mock_testing_context_window_fallbacks',
  'mock_testing_content_policy_fallbacks', 'mock_testing_rate_limit_error', 'num_retries',
  'fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks', 'disable_fallbacks',
  'timeout', 'request_timeout', 'stream_timeout', 'metadata', 'caching', 'cooldown_time',
  'max_fallbacks', 'api_key', 'api_base', 'base_url', 'api_version', 'allowed_model_region', 'fastest_response',
];

/**
 * The same as upstream-body.ts's splice, on a parsed body (the Responses reshaping works on
 * objects): `model` rewritten to the upstream name, deployment defaults filled in where the
 * client gave none, and proxy-only keys removed.
 */
export function buildUpstreamBody(
  clientBody: Record<string, unknown>,
  upstreamModel: string,
  defaults: Readonly<Record<string, unknown>> | null,
): Record<string, unknown> {
  clientBody.model = upstreamModel;
  for (const k of proxyOnlyBodyKeys) if (k in clientBody) delete clientBody[k];
  if (defaults) for (const k in defaults) if (!(k in clientBody)) clientBody[k] = defaults[k];
  return clientBody;
}
