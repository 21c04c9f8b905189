/**
 * `model_list`: each entry → a DeploymentConfig (provider, upstream model, base URL and
 * credentials with LiteLLM's environment fallbacks, limits, timeouts, body defaults, headers,
 * the id LiteLLM would hash, price and context window). A bad provider or missing base skips
 * the entry with a warning, as LiteLLM's proxy does; a bad value is a problem.
 */
import {
  AZURE_DEFAULT_API_VERSION, compatibleFamilies, normaliseApiBase, resolveProvider, type ProviderFamily,
} from '../../providers/index.js';
import type { MockResponse } from '../../providers/mock.js';
import { readClientsideAuth } from '../clientside-auth.js';
import { deploymentId, pyStr } from '../deployment-id.js';
import { get, isObject, isUnset, kindOf, setOwn } from '../json.js';
import { effectiveMaxParallel } from '../max-parallel.js';
import { deploymentMaxInputTokens } from '../model-limits.js';
import { deploymentCostPerToken, deploymentPrices } from '../prices.js';
import { deploymentServesResponseFormat } from '../response-format.js';
import { rules, type ConfigReader } from '../reader.js';
import { suggest } from '../suggest.js';
import type { DeploymentConfig, JsonObject, JsonValue } from '../types.js';
import { joinIndex, joinKey } from '../yaml-source.js';
import { readApiVersion, readBase, readCredential, readExtraHeaders, readOrganizations, readUserinfo } from './connection.js';
import type { DeploymentDefaults } from './settings.js';

/** OpenAI body parameters LiteLLM forwards from `litellm_params` as call defaults. */
const bodyDefaultKeys = [
  'temperature', 'top_p', 'n', 'max_tokens', 'max_completion_tokens', 'stop', 'presence_penalty',
  'frequency_penalty', 'logit_bias', 'seed', 'user', 'response_format', 'tools', 'tool_choice',
  'parallel_tool_calls', 'logprobs', 'top_logprobs', 'reasoning_effort',
];

/** Every litellm_params key Switchyard reads; any other gets one warning, never silence. */
const usedParamKeys = new Set([
  'model', 'api_key', 'api_base', 'api_version', 'organization', 'rpm', 'tpm', 'weight', 'order',
  'max_parallel_requests', 'timeout', 'request_timeout', 'stream_timeout', 'num_retries', 'cooldown_time',
  'mock_response', 'mock_timeout', 'extra_headers', 'extra_body', 'input_cost_per_token',
  'output_cost_per_token', 'max_input_tokens', 'base_model', 'region_name', 'configurable_clientside_auth_params', ...bodyDefaultKeys,
]);
/** Credentials a mock deployment never sends: an unset variable there is not worth a warning. */
const credentialParams = new Set(['api_key', 'api_base', 'api_version', 'organization', 'extra_headers']);


export function readDeployments(r: ConfigReader, raw: JsonValue | undefined, defaults: DeploymentDefaults): DeploymentConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    r.problem('model_list', `must be a list of deployments, got ${kindOf(raw)}`);
    return [];
  }
  // A mock deployment answers in-process, so its credentials are never read.
  const mocked = new Set<string>();
  raw.forEach((entry, i) => {
    const lp = isObject(entry) ? get(entry, 'litellm_params') : undefined;
    if (isObject(lp) && !isUnset(get(lp, 'mock_response'))) mocked.add(joinKey(joinIndex('model_list', i), 'litellm_params'));
  });
  const resolved = r.resolve(raw, 'model_list', (refPath) => {
    const m = /^(model_list\[\d+\]\.litellm_params)\.([^.[]+)/.exec(refPath);
    return m !== null && mocked.has(m[1]!) && credentialParams.has(m[2]!);
  });
  if (!Array.isArray(resolved)) return [];
  const out: DeploymentConfig[] = [];
  const byId = new Map<string, number>();
  resolved.forEach((entry, i) => {
    const name = isObject(entry) ? get(entry, 'model_name') : undefined;
    if (typeof name === 'string' && name !== '') r.entryNames.add(name);
    const ds = readDeployment(r, entry, i, defaults);
    if (ds === null) return;
    // One entry with a list of organizations is several deployments with one id, on purpose.
    const d = ds[0]!;
    const first = byId.get(d.id);
    // LiteLLM keys cooldowns and usage by id, so equal ids share that state; allowed, but rarely meant.
    if (first !== undefined) {
      r.warn(`model_list[${i}] (${d.group}): id "${d.id}" is also used by model_list[${first}]; the two share routing state, as in LiteLLM`);
    } else byId.set(d.id, i);
    out.push(...ds);
  });
  return out;
}
/**
 * One entry's deployments: one, or with `organization: [org-1, org-2]` one per organization,
 * all with the entry's id, as LiteLLM's `set_model_list` creates them (the id is hashed over
 * the list as written). Each twin sends its own `OpenAI-Organization`.
 */
function readDeployment(r: ConfigReader, entry: JsonValue, i: number, defaults: DeploymentDefaults): DeploymentConfig[] | null {
  const path = joinIndex('model_list', i);
  if (!isObject(entry)) {
    r.problem(path, `must be a mapping with model_name and litellm_params, got ${kindOf(entry)}`);
    return null;
  }
  const namePath = joinKey(path, 'model_name');
  const lpPath = joinKey(path, 'litellm_params');
  const miPath = joinKey(path, 'model_info');
  const group = r.requiredString(namePath, get(entry, 'model_name'));
  const lpRaw = get(entry, 'litellm_params');
  if (!isObject(lpRaw)) {
    r.problem(lpPath, lpRaw === undefined || lpRaw === null ? 'is required (a mapping with at least `model`)' : `must be a mapping, got ${kindOf(lpRaw)}`);
    return null;
  }
  r.collectSecrets(lpRaw, null);
  const model = r.requiredString(joinKey(lpPath, 'model'), get(lpRaw, 'model'));
  const miRaw = get(entry, 'model_info');
  let mi: JsonObject = {};
  if (miRaw !== undefined && miRaw !== null) {
    if (isObject(miRaw)) mi = miRaw;
    else {
      r.problem(miPath, `must be a mapping, got ${kindOf(miRaw)}`);
      return null;
    }
  }
  if (group === null || model === null) return null;

  // LiteLLM copies an entry's top-level rpm/tpm into litellm_params when unset there, before
  // hashing the id; the hash view marks Python floats so `30.0` hashes as LiteLLM does.
  const lp: JsonObject = { ...lpRaw };
  const hashView: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(lpRaw)) setOwn(hashView, k, r.pyView(v, joinKey(lpPath, k)));
  for (const k of Object.keys(entry)) {
    const v = get(entry, k);
    if ((k === 'rpm' || k === 'tpm') && v !== undefined && v !== null && isUnset(get(lp, k))) {
      setOwn(lp, k, v);
      setOwn(hashView, k, r.pyView(v, joinKey(path, k)));
    }
  }

  const label = `${path} (${group})`;
  const mockRaw = get(lp, 'mock_response');
  // A mock deployment answers in-process: its model string need not name a provider we speak.
  const upstream = isUnset(mockRaw) ? resolveProvider(model) : null;
  if (upstream !== null && !upstream.ok) {
    // The proxy builds its Router with ignore_invalid_deployments=True: bad entries are skipped, not fatal.
    r.warn(`${label}: ${upstream.reason}; skipped`);
    return null;
  }

  for (const k of Object.keys(lpRaw)) {
    if (usedParamKeys.has(k)) continue;
    const hint = suggest(k, [...usedParamKeys]);
    r.warn(`${r.at(joinKey(lpPath, k))}: not used by Switchyard${hint !== null ? ` (did you mean "${hint}"?)` : ''}; ignored`);
  }

  const apiKeyParam = readCredential(r, joinKey(lpPath, 'api_key'), get(lp, 'api_key'));
  const apiBaseParam = readCredential(r, joinKey(lpPath, 'api_base'), get(lp, 'api_base'));
  const apiVersionParam = readApiVersion(r, joinKey(lpPath, 'api_version'), get(lp, 'api_version'));

  let provider: ProviderFamily;
  let upstreamModel: string;
  let apiBase: string | null = null;
  let apiKey: string | null;
  let apiVersion: string | null = apiVersionParam;
  let mockResponse: MockResponse | null = null;
  // A bad api_base is a problem, but the rest of the entry is still checked so every problem shows at once.
  let badBase = false;
  if (upstream === null) {
    provider = 'mock';
    const named = resolveProvider(model);
    upstreamModel = named.ok ? named.upstreamModel : model;
    apiKey = apiKeyParam;
    // The base it would call, for x-litellm-model-api-base: given, else the family's default.
    const base = typeof apiBaseParam === 'string' ? apiBaseParam : named.ok ? (compatibleFamilies[named.prefix]?.defaultBase ?? null) : null;
    apiBase = base === null ? null : normaliseApiBase(named.ok ? named.prefix : '', base);
    const mp = joinKey(lpPath, 'mock_response');
    if (typeof mockRaw === 'string' || isObject(mockRaw)) mockResponse = mockRaw;
    else r.problem(mp, `must be a string or a mapping, got ${r.got(mp, mockRaw)}`);
  } else if (upstream.family === 'azure') {
    provider = 'azure';
    upstreamModel = upstream.upstreamModel;
    // LiteLLM's Azure fallbacks (litellm/main.py, azure branch).
    const base = readBase(r, lpPath, apiBaseParam, ['AZURE_API_BASE']);
    if (base === undefined) badBase = true;
    else if (base === null) {
      r.warn(`${label}: api_base is required for Azure (set litellm_params.api_base or AZURE_API_BASE); skipped`);
      return null;
    }
    apiBase = base === undefined ? null : normaliseApiBase(upstream.prefix, base);
    apiKey = apiKeyParam ?? r.envValue('AZURE_OPENAI_API_KEY') ?? r.envValue('AZURE_API_KEY');
    apiVersion = apiVersionParam ?? r.envValue('AZURE_API_VERSION') ?? AZURE_DEFAULT_API_VERSION;
  } else {
    provider = upstream.family;
    upstreamModel = upstream.upstreamModel;
    const fam = compatibleFamilies[upstream.prefix];
    const base = readBase(r, lpPath, apiBaseParam, fam?.baseEnv ?? []);
    if (base === undefined) badBase = true;
    const chosen = base === undefined ? null : (base ?? fam?.defaultBase ?? null);
    if (chosen === null && !badBase) {
      const envHint = fam && fam.baseEnv.length > 0 ? ` or ${fam.baseEnv.join(' / ')}` : '';
      r.warn(`${label}: api_base is required for provider "${upstream.prefix}" (set litellm_params.api_base${envHint}); skipped`);
      return null;
    }
    apiBase = chosen === null ? null : normaliseApiBase(upstream.prefix, chosen);
    apiKey = apiKeyParam ?? firstSet((fam?.keyEnv ?? []).map((n) => r.envValue(n)));
  }
  const orgs = readOrganizations(r, lpPath, lp);
  const extraHeaders = readExtraHeaders(r, lpPath, lp);
  const basicAuth = readUserinfo(r, lpPath, provider, apiBase, apiKeyParam, extraHeaders);
  if (basicAuth !== null) {
    apiBase = basicAuth.base;
    // The Bearer of a key LiteLLM would read from the environment gives way to the explicit user-info.
    if (provider !== 'azure') apiKey = null;
  }
  if (apiKey !== null) r.addSecret(apiKey);

  const rpm = r.firstNumber([[path, entry, 'rpm'], [lpPath, lpRaw, 'rpm'], [miPath, mi, 'rpm']], rules.count);
  const tpm = r.firstNumber([[path, entry, 'tpm'], [lpPath, lpRaw, 'tpm'], [miPath, mi, 'tpm']], rules.count);
  const weight = r.firstNumber([[lpPath, lp, 'weight'], [miPath, mi, 'weight']], rules.weight);
  const order = r.firstNumber([[lpPath, lp, 'order'], [miPath, mi, 'order']], rules.integer);
  const maxParallelRequests = effectiveMaxParallel(
    r.firstNumber([[lpPath, lp, 'max_parallel_requests'], [miPath, mi, 'max_parallel_requests']], rules.positiveCount),
    rpm, tpm, defaults.defaultMaxParallelRequests,
  );
  // LiteLLM's _get_non_stream_timeout reads the deployment's `timeout`, then its `request_timeout`.
  const timeoutS = r.firstNumber([[lpPath, lp, 'timeout'], [lpPath, lp, 'request_timeout'], [miPath, mi, 'timeout']], rules.seconds)
    ?? defaults.timeoutS;
  // _get_stream_timeout: deployment → router → else the non-stream chain.
  const streamTimeoutS = r.firstNumber([[lpPath, lp, 'stream_timeout'], [miPath, mi, 'stream_timeout']], rules.seconds)
    ?? defaults.streamTimeoutS ?? timeoutS;

  // LiteLLM reads both from litellm_params only (a request's own value beats cooldown_time).
  const numRetries = r.number(joinKey(lpPath, 'num_retries'), get(lp, 'num_retries'), rules.count);
  const cooldownTimeS = r.number(joinKey(lpPath, 'cooldown_time'), get(lp, 'cooldown_time'), rules.nonNegativeSeconds);

  // `allowed_model_region` (a request's, with enable_pre_call_checks) keeps only deployments of that region.
  const regionRaw = get(lp, 'region_name');
  let regionName: string | null = null;
  if (typeof regionRaw === 'string' && regionRaw !== '') regionName = regionRaw;
  else if (!isUnset(regionRaw)) r.problem(joinKey(lpPath, 'region_name'), `must be a non-empty string such as "eu", got ${r.got(joinKey(lpPath, 'region_name'), regionRaw)}`);

  const clientsideAuth = readClientsideAuth(r, joinKey(lpPath, 'configurable_clientside_auth_params'), get(lp, 'configurable_clientside_auth_params'));
  const id = readId(r, joinKey(miPath, 'id'), get(mi, 'id'), group, hashView);
  if (id === null || badBase || orgs === undefined) return null;
  const modelInfo: JsonObject = { ...mi };
  delete modelInfo.id;

  const prices = deploymentPrices({ litellmParams: lp, modelInfo, model });
  const base: DeploymentConfig = {
    id,
    group,
    index: i,
    model,
    provider,
    upstreamModel,
    apiBase,
    apiKey,
    apiVersion,
    rpm,
    tpm,
    weight,
    order,
    maxParallelRequests,
    numRetries,
    cooldownTimeMs: cooldownTimeS === null ? null : Math.round(cooldownTimeS * 1000),
    timeoutMs: toMs(timeoutS),
    streamTimeoutMs: toMs(streamTimeoutS),
    mockResponse,
    bodyDefaults: readBodyDefaults(r, lpPath, lp),
    extraHeaders,
    basicAuth: basicAuth?.authorization ?? null,
    clientsideAuth,
    costPerToken: deploymentCostPerToken({ litellmParams: lp, modelInfo, model }),
    inputCostPerToken: prices.input,
    outputCostPerToken: prices.output,
    maxInputTokens: deploymentMaxInputTokens({ litellmParams: lp, modelInfo, model, provider }),
    regionName,
    servesResponseFormat: deploymentServesResponseFormat({ litellmParams: lp, modelInfo, model }),
    modelInfo,
    litellmParams: lp,
  };
  if (orgs === null) return [base];
  // An OpenAI-Organization in extra_headers wins over `organization`, as for a single one.
  const explicit = Object.keys(extraHeaders).some((h) => h.toLowerCase() === 'openai-organization');
  return orgs.map((org) => ({
    ...base,
    extraHeaders: explicit ? extraHeaders : { ...extraHeaders, 'OpenAI-Organization': org },
    litellmParams: { ...lp, organization: org },
  }));
}
function readId(r: ConfigReader, path: string, raw: JsonValue | undefined, group: string, hashView: Record<string, unknown>): string | null {
  if (raw === undefined || raw === null) return deploymentId(group, hashView);
  if (typeof raw === 'string' && raw !== '') return raw;
  // LiteLLM's ModelInfo stringifies int ids (`id: 1` → "1").
  if (typeof raw === 'number' && Number.isFinite(raw)) return pyStr(r.pyView(raw, path));
  r.problem(path, `must be a non-empty string or a number, got ${r.got(path, raw)}`);
  return null;
}
function readBodyDefaults(r: ConfigReader, lpPath: string, lp: JsonObject): JsonObject | null {
  let body: JsonObject | null = null;
  for (const k of bodyDefaultKeys) {
    const v = get(lp, k);
    if (isUnset(v)) continue;
    body ??= {};
    setOwn(body, k, v);
  }
  const path = joinKey(lpPath, 'extra_body');
  const extra = get(lp, 'extra_body');
  if (!isUnset(extra)) {
    if (!isObject(extra)) r.problem(path, `must be a mapping, got ${kindOf(extra)}`);
    else {
      // The OpenAI SDK merges extra_body over the body, so its keys win.
      for (const [k, v] of Object.entries(extra)) {
        body ??= {};
        setOwn(body, k, v);
      }
    }
  }
  return body;
}

function firstSet(values: readonly (string | null)[]): string | null {
  for (const v of values) if (v !== null) return v;
  return null;
}

function toMs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1000));
}
