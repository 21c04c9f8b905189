/**
 * Retries, retry and allowed-fails policies, cooldowns and fallback lists (router_settings, with
 * litellm_settings where LiteLLM falls back to it). Fallback names are checked with the config's
 * one name resolver; the decisions that use these settings are in router/policy.ts.
 */
import { DEFAULT_MAX_FALLBACKS, parseFallbacks, type FallbackEntry, type FallbackMap } from '../fallbacks.js';
import { get, isObject, isUnset } from '../json.js';
import type { ModelNames } from '../model-names.js';
import { allowedFailsPolicyKeys, DEFAULT_COOLDOWN_MS, retryPolicyKeys, type AllowedFailsPolicy, type RetryPolicy } from '../policies.js';
import { rules, type ConfigReader, type NumberRule } from '../reader.js';
import { closeKey, closeName } from '../suggest.js';
import type { JsonObject, JsonValue, ModelGroupAlias, ReliabilitySettings } from '../types.js';
import { joinIndex, joinKey } from '../yaml-source.js';

/** How a fallback name resolves at load. */
interface NameCheck {
  /** Model groups and aliases, for did-you-mean. */
  readonly groups: readonly string[];
  readonly hasWildcards: boolean;
  readonly resolve: (name: string) => 'ok' | 'skipped' | 'unknown';
}

/**
 * LiteLLM's Router.__init__ takes these from router_settings and, for the ones the module
 * also has, falls back to litellm_settings: `num_retries`, `allowed_fails`, `max_fallbacks`
 * when unset (`is not None`), the fallback lists when unset or empty (`or`).
 */
export function readReliability(
  r: ConfigReader, router: JsonObject, litellm: JsonObject, groups: ReadonlyMap<string, unknown>, names: ModelNames, aliases: ReadonlyMap<string, ModelGroupAlias>,
): ReliabilitySettings {
  const route = nameChecker(r, groups, names, aliases);
  const numRetries = preferRouter(r, 'num_retries', router, litellm, rules.count);
  const allowedFails = preferRouter(r, 'allowed_fails', router, litellm, rules.count);
  const maxFallbacks = preferRouter(r, 'max_fallbacks', router, litellm, rules.count) ?? DEFAULT_MAX_FALLBACKS;
  const numRetriesPerRequest = r.number('litellm_settings.num_retries_per_request', get(litellm, 'num_retries_per_request'), rules.count);

  const retryPolicy: RetryPolicy | null = readPolicy(r, 'router_settings.retry_policy', get(router, 'retry_policy'), retryPolicyKeys);
  const modelGroupRetryPolicy = new Map<string, RetryPolicy>();
  const mgPath = 'router_settings.model_group_retry_policy';
  const mg = get(router, 'model_group_retry_policy');
  if (!isUnset(mg)) {
    if (!isObject(mg)) r.problem(mgPath, `must be a mapping of model group: retry policy, got ${r.got(mgPath, mg)}`);
    else {
      for (const [group, v] of Object.entries(mg)) {
        const p = joinKey(mgPath, group);
        const policy = readPolicy(r, p, v, retryPolicyKeys);
        if (policy === null) continue;
        checkKey(r, p, group, route);
        modelGroupRetryPolicy.set(group, policy);
      }
    }
  }
  const allowedFailsPolicy: AllowedFailsPolicy | null = readPolicy(r, 'router_settings.allowed_fails_policy', get(router, 'allowed_fails_policy'), allowedFailsPolicyKeys);

  const ctPath = 'router_settings.cooldown_time';
  const cooldownS = r.number(ctPath, get(router, 'cooldown_time'), rules.nonNegativeSeconds);
  if (cooldownS === 0) {
    r.warn(`${r.at(ctPath)}: 0 disables cooldowns in Switchyard (LiteLLM reads 0 as its 5 s default; disable_cooldowns: true says the same thing plainly)`);
  }
  const retryAfterS = r.number('router_settings.retry_after', get(router, 'retry_after'), rules.nonNegativeSeconds);

  return {
    numRetries,
    retryPolicy,
    modelGroupRetryPolicy,
    allowedFails,
    allowedFailsPolicy,
    cooldownTimeMs: cooldownS === null ? DEFAULT_COOLDOWN_MS : Math.round(cooldownS * 1000),
    disableCooldowns: r.boolean('router_settings.disable_cooldowns', get(router, 'disable_cooldowns')),
    fallbacks: fallbackList(r, 'fallbacks', router, litellm, route) ?? new Map<string, readonly FallbackEntry[]>(),
    contextWindowFallbacks: fallbackList(r, 'context_window_fallbacks', router, litellm, route),
    contentPolicyFallbacks: fallbackList(r, 'content_policy_fallbacks', router, litellm, route),
    defaultFallbacks: defaultFallbacks(r, router, litellm, route),
    maxFallbacks,
    retryAfterMs: retryAfterS === null ? 0 : Math.round(retryAfterS * 1000),
    numRetriesPerRequest,
  };
}

/** A number router_settings and litellm_settings may both set: router first, as LiteLLM. */
function preferRouter(r: ConfigReader, key: string, router: JsonObject, litellm: JsonObject, rule: NumberRule): number | null {
  const inRouter = r.number(`router_settings.${key}`, get(router, key), rule);
  const l = r.number(`litellm_settings.${key}`, get(litellm, key), rule);
  if (inRouter !== null && l !== null && inRouter !== l) {
    r.warn(`${r.at(`litellm_settings.${key}`)}: ignored, router_settings.${key} (${inRouter}) is set and wins, as in LiteLLM`);
  }
  return inRouter ?? l;
}

/**
 * `retry_policy` / `allowed_fails_policy`: counts per error class. LiteLLM builds a pydantic
 * model from the mapping, which drops unknown keys silently; a typo there is worth a warning.
 */
function readPolicy<K extends string>(r: ConfigReader, path: string, v: JsonValue | undefined, keys: readonly K[]): Partial<Record<K, number>> | null {
  if (isUnset(v)) return null;
  if (!isObject(v)) {
    r.problem(path, `must be a mapping such as {${keys[0]}: 2}, got ${r.got(path, v)}`);
    return null;
  }
  const out: Partial<Record<K, number>> = {};
  for (const [k, x] of Object.entries(v)) {
    const p = joinKey(path, k);
    const known = keys.find((name) => name === k);
    if (known === undefined) {
      const hint = closeKey(k, keys);
      r.warn(`${r.at(p)}: unknown key${hint !== null ? `; did you mean "${hint}"?` : ` (expected one of ${keys.join(', ')})`}; ignored`);
      continue;
    }
    const n = r.number(p, x, rules.count);
    if (n !== null) out[known] = n;
  }
  return out;
}

/**
 * `fallbacks`, `context_window_fallbacks`, `content_policy_fallbacks`: router_settings unless
 * empty, else litellm_settings (LiteLLM: `router_value or litellm.value`); null when neither
 * has entries. Both are validated whichever wins.
 */
function fallbackList(r: ConfigReader, key: string, router: JsonObject, litellm: JsonObject, route: NameCheck): FallbackMap | null {
  const sections = [['router_settings', router], ['litellm_settings', litellm]] as const;
  let chosen: { path: string; map: FallbackMap; raw: JsonValue[] } | null = null;
  for (const [name, obj] of sections) {
    const path = `${name}.${key}`;
    const raw = get(obj, key);
    const parsed = parseFallbacks(raw, path);
    for (const p of parsed.problems) r.problem(p.path, p.message);
    for (const w of parsed.warnings) r.warn(`${r.at(w.path)}: ${w.message}`);
    if (!Array.isArray(raw) || raw.length === 0 || parsed.problems.length > 0) continue;
    if (chosen === null) chosen = { path, map: parsed.map, raw };
    else r.warn(`${r.at(path)}: ignored, ${chosen.path} is set and wins, as in LiteLLM`);
  }
  if (chosen === null) return null;
  chosen.raw.forEach((item, i) => {
    if (!isObject(item)) return;
    for (const [group, targets] of Object.entries(item)) {
      const p = joinKey(joinIndex(chosen.path, i), group);
      if (group !== '*') checkKey(r, p, group, route);
      if (Array.isArray(targets)) targets.forEach((t, j) => typeof t === 'string' && checkTarget(r, joinIndex(p, j), t, route));
    }
  });
  return chosen.map;
}

/** `default_fallbacks: ["g"]`: a `{"*": ["g"]}` entry of the general fallbacks (router_settings or litellm_settings). */
function defaultFallbacks(r: ConfigReader, router: JsonObject, litellm: JsonObject, route: NameCheck): readonly string[] {
  let chosen: { path: string; names: string[] } | null = null;
  for (const [name, obj] of [['router_settings', router], ['litellm_settings', litellm]] as const) {
    const path = `${name}.default_fallbacks`;
    const raw = get(obj, 'default_fallbacks');
    if (isUnset(raw)) continue;
    if (!Array.isArray(raw)) {
      r.problem(path, `must be a list of model group names, e.g. [${JSON.stringify(typeof raw === 'string' ? raw : 'gpt-4o-mini')}], got ${r.got(path, raw)}`);
      continue;
    }
    const names: string[] = [];
    raw.forEach((v, i) => {
      const p = joinIndex(path, i);
      if (typeof v === 'string' && v.trim() !== '') names.push(v);
      else r.problem(p, `must be a model group name, got ${r.got(p, v)}`);
    });
    if (names.length === 0 || names.length !== raw.length) continue;
    if (chosen === null) chosen = { path, names };
    else r.warn(`${r.at(path)}: ignored, ${chosen.path} is set and wins, as in LiteLLM`);
  }
  if (chosen === null) return [];
  chosen.names.forEach((n, i) => checkTarget(r, joinIndex(chosen.path, i), n, route));
  return chosen.names;
}

/**
 * What a fallback target may name: anything a request's `model` resolves to (model group,
 * alias, deployment id, a name a wildcard group serves, a deployment's litellm_params.model).
 */
function nameChecker(r: ConfigReader, groups: ReadonlyMap<string, unknown>, names: ModelNames, aliases: ReadonlyMap<string, ModelGroupAlias>): NameCheck {
  return {
    groups: [...groups.keys(), ...aliases.keys()],
    hasWildcards: names.hasWildcards,
    resolve: (name) => (names.resolve(name) !== null ? 'ok' : r.entryNames.has(name) ? 'skipped' : 'unknown'),
  };
}

/** LiteLLM only finds out when the fallback runs; a warning at load says it sooner without refusing the config. */
function checkTarget(r: ConfigReader, path: string, name: string, route: NameCheck): void {
  const found = route.resolve(name);
  if (found === 'ok') return;
  if (found === 'skipped') {
    r.warn(`${r.at(path)}: fallback "${name}" is a group whose deployments were all skipped; falling back to it will fail`);
    return;
  }
  const close = closeName(name, route.groups);
  r.warn(`${r.at(path)}: fallback "${name}" is not a model group, alias or deployment id; falling back to it will fail${close !== null ? `; did you mean "${close}"?` : ''}`);
}

/** A key that names no group never matches (unless a wildcard group may serve names like it). */
function checkKey(r: ConfigReader, path: string, name: string, route: NameCheck): void {
  if (route.hasWildcards || route.resolve(name) !== 'unknown') return;
  const close = closeName(name, route.groups);
  r.warn(`${r.at(path)}: "${name}" is not a model group or alias, so this entry never applies${close !== null ? `; did you mean "${close}"?` : ''}`);
}
