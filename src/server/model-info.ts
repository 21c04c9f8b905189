/**
 * Bodies of LiteLLM's model-information endpoints, as JSON strings: `GET /model/info`
 * (`/v1/model/info`) and `GET /model_group/info` (`/v1/model_group/info`). Pure functions of
 * the frozen config; the unfiltered bodies are built once per config.
 *
 * Nothing secret ever leaves: `litellm_params` and `model_info` lose every key-like field and
 * `extra_headers`, URLs lose their user-info and key-like query parameters, and any string that
 * still holds a secret the loader collected is cut. LiteLLM removes a fixed list of keys and
 * masks the rest (`remove_sensitive_info_from_deployment`); we remove, never mask.
 */
import type { DeploymentConfig, JsonObject, JsonValue, ProxyConfig } from '../config/types.js';
import { clean } from '../config/public-params.js';
import { resolveProvider } from '../providers/index.js';
import { ModelNames } from '../config/model-names.js';
import { modelData, providerModels } from '../config/model-data.js';

export interface InfoBody {
  readonly status: number;
  readonly body: string;
}

interface Cached {
  modelInfo?: string;
  groupInfo?: string;
  groupEntries?: readonly JsonObject[];
}

const perConfig = new WeakMap<ProxyConfig, Cached>();

function cached(config: ProxyConfig): Cached {
  let c = perConfig.get(config);
  if (c === undefined) {
    c = {};
    perConfig.set(config, c);
  }
  return c;
}

// --- /model/info -----------------------------------------------------------------------

/**
 * `{"data":[{model_name, litellm_params, model_info}...]}`, one entry per deployment, grouped
 * by listed name: non-hidden aliases first (their deployments repeated under the alias, as
 * LiteLLM's `get_model_list` does), then each group. `modelId` (`?litellm_model_id=`) selects
 * one deployment; an unknown id is LiteLLM's 400.
 */
export function modelInfoBody(config: ProxyConfig, opts: { modelId?: string }): InfoBody {
  if (opts.modelId !== undefined) {
    const d = config.deployments.find((x) => x.id === opts.modelId);
    if (d === undefined) {
      return { status: 400, body: JSON.stringify({ detail: { error: `Model id = ${opts.modelId} not found on litellm proxy` } }) };
    }
    return { status: 200, body: JSON.stringify({ data: [deploymentInfo(config, d, d.group)] }) };
  }
  const c = cached(config);
  c.modelInfo ??= JSON.stringify({
    data: config.names.listed().flatMap((name) => servedBy(config, config.names, name).map((d) => deploymentInfo(config, d, name))),
  });
  return { status: 200, body: c.modelInfo };
}

function deploymentInfo(config: ProxyConfig, d: DeploymentConfig, modelName: string): JsonObject {
  const params = clean(d.litellmParams, config.secrets);
  const configured = clean(d.modelInfo, config.secrets);
  const info: JsonObject = { id: d.id, db_model: false };
  for (const [k, v] of Object.entries(configured)) if (k !== 'id' && k !== 'db_model') setOwn(info, k, v);
  // Custom pricing may be written in litellm_params (LiteLLM reads it there for cost routing).
  for (const k of ['input_cost_per_token', 'output_cost_per_token']) {
    const v = numberOf(d.litellmParams[k]);
    if (!Object.hasOwn(info, k) && v !== null) info[k] = v;
  }
  return { model_name: modelName, litellm_params: params, model_info: info };
}

/** The deployments a listed name stands for: a group's, or the ones its alias resolves to. */
function servedBy(config: ProxyConfig, names: ModelNames, name: string): readonly DeploymentConfig[] {
  const r = names.resolve(name);
  if (r === null) return [];
  const group = config.groups.get(r.group) ?? [];
  return r.deploymentId === null ? group : group.filter((d) => d.id === r.deploymentId).slice(0, 1);
}

// --- /model_group/info -----------------------------------------------------------------

/**
 * `{"data":[ModelGroupInfo...]}`: one entry per group and per non-hidden alias (named by the
 * alias, describing its target), in /v1/models order, each provider wildcard group followed by
 * the models it serves. `modelGroup` (`?model_group=`) keeps only that name; an unknown or
 * hidden name gives `{"data":[]}`, as in LiteLLM. Built once per config.
 */
export function modelGroupInfoBody(config: ProxyConfig, opts: { modelGroup?: string }): InfoBody {
  const c = cached(config);
  c.groupEntries ??= config.names.listed().flatMap((name) => [
    groupInfo(name, servedBy(config, config.names, name)),
    ...wildcardExpansion(config, name),
  ]);
  if (opts.modelGroup !== undefined) {
    const name = opts.modelGroup;
    return { status: 200, body: JSON.stringify({ data: c.groupEntries.filter((g) => g.model_group === name) }) };
  }
  c.groupInfo ??= JSON.stringify({ data: c.groupEntries });
  return { status: 200, body: c.groupInfo };
}

/**
 * A wildcard group named by a provider (`openai/*`, `anthropic/*`) is followed by one entry per
 * model the model data lists for that provider and the group would serve (LiteLLM's
 * `get_known_models_from_wildcard`), each with that model's context window and prices unless
 * the config gives them. Other wildcard groups (`*`, `llm-*`) are listed only under their name.
 */
function wildcardExpansion(config: ProxyConfig, name: string): JsonObject[] {
  if (!name.includes('*') || !config.groups.has(name)) return [];
  const slash = name.indexOf('/');
  if (slash <= 0) return [];
  const prefix = name.slice(0, slash);
  const out: JsonObject[] = [];
  const seen = new Set<string>();
  for (const id of providerModels(prefix)) {
    const served = `${prefix}/${id}`;
    if (seen.has(served)) continue;
    seen.add(served);
    const r = config.names.resolve(served);
    if (r === null || r.group !== name || r.wildcardCaptures === null) continue;
    const captures = r.wildcardCaptures;
    const deployments = (config.groups.get(name) ?? []).map((d): DeploymentConfig => {
      const data = modelData(ModelNames.substitute(d.model, captures, served)) ?? modelData(served);
      if (data === null) return d;
      return {
        ...d,
        maxInputTokens: d.maxInputTokens ?? data.maxInputTokens,
        inputCostPerToken: d.inputCostPerToken ?? data.inputCostPerToken,
        outputCostPerToken: d.outputCostPerToken ?? data.outputCostPerToken,
      };
    });
    out.push(groupInfo(served, deployments));
  }
  return out;
}

/** LiteLLM `Router._set_model_group_info`: sums for tpm/rpm, maxima for limits and prices, OR for capabilities. */
function groupInfo(name: string, deployments: readonly DeploymentConfig[]): JsonObject {
  const providers: string[] = [];
  let maxInput: number | null = null;
  let maxOutput: number | null = null;
  let inputCost: number | null = null;
  let outputCost: number | null = null;
  let mode: string | null = null;
  let tpm: number | null = null;
  let rpm: number | null = null;
  const supports: Record<(typeof capabilities)[number], boolean> = {
    supports_function_calling: false,
    supports_vision: false,
    supports_parallel_function_calling: false,
    supports_reasoning: false,
    supports_web_search: false,
    supports_url_context: false,
  };
  for (const d of deployments) {
    const p = providerOf(d);
    if (p !== null && !providers.includes(p)) providers.push(p);
    const mi = d.modelInfo;
    // Configured values, else the model data the loader looked up (LiteLLM merges its model map the same way).
    maxInput = max(maxInput, numberOf(mi.max_input_tokens) ?? d.maxInputTokens);
    maxOutput = max(maxOutput, numberOf(mi.max_output_tokens) ?? numberOf(mi.max_tokens));
    inputCost = max(inputCost, numberOf(mi.input_cost_per_token) ?? numberOf(d.litellmParams.input_cost_per_token) ?? d.inputCostPerToken ?? null);
    outputCost = max(outputCost, numberOf(mi.output_cost_per_token) ?? numberOf(d.litellmParams.output_cost_per_token) ?? d.outputCostPerToken ?? null);
    // LiteLLM overwrites the mode with each deployment that sets one: the last wins.
    if (typeof mi.mode === 'string' && mi.mode !== '') mode = mi.mode;
    if (d.tpm !== null) tpm = (tpm ?? 0) + d.tpm;
    if (d.rpm !== null) rpm = (rpm ?? 0) + d.rpm;
    for (const k of capabilities) if (mi[k] === true) supports[k] = true;
  }
  return {
    model_group: name,
    providers,
    max_input_tokens: maxInput,
    max_output_tokens: maxOutput,
    input_cost_per_token: inputCost,
    output_cost_per_token: outputCost,
    mode: mode ?? 'chat',
    tpm,
    rpm,
    ...supports,
    is_public_model_group: true,
  };
}

const capabilities = [
  'supports_function_calling', 'supports_vision', 'supports_parallel_function_calling', 'supports_reasoning',
  'supports_web_search', 'supports_url_context',
] as const;

/** LiteLLM's provider prefix (`openai`, `azure`, `hosted_vllm`, ...); a mock reports the prefix of its model string. */
function providerOf(d: DeploymentConfig): string | null {
  const r = resolveProvider(d.model);
  if (r.ok) return r.prefix;
  const slash = d.model.indexOf('/');
  return slash > 0 ? d.model.slice(0, slash) : null;
}

function max(a: number | null, b: number | null): number | null {
  if (b === null) return a;
  return a === null || b > a ? b : a;
}

/** A number, or a numeric string as LiteLLM would cast it; anything else is unset. */
function numberOf(v: JsonValue | undefined): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

function setOwn(obj: JsonObject, key: string, value: JsonValue): void {
  // A key named `__proto__` must stay an own data property.
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
