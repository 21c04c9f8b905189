/**
 * The settings sections (`router_settings`, `litellm_settings`, `general_settings`): which keys
 * Switchyard acts on (every other gets one warning), `environment_variables`, the routing
 * strategy and its args, the default timeouts, and the server's own settings.
 */
import { pyStr, PyFloat } from '../deployment-id.js';
import { strategyNames, type StrategyArgs } from '../strategy-names.js';
import { get, isObject, kindOf, parseNumeric } from '../json.js';
import { MAX_TIMER_S, rules, type ConfigReader } from '../reader.js';
import { suggest } from '../suggest.js';
import type { JsonObject, JsonValue, RouterSettings, ServerSettings } from '../types.js';
import { joinKey } from '../yaml-source.js';
import { isSecretName } from '../../secrets.js';

export type SettingsSection = 'router_settings' | 'litellm_settings' | 'general_settings';

/**
 * Settings keys Switchyard acts on. Every other key of these sections gets one
 * "not implemented yet" warning at load; implementing a setting means adding its name here,
 * reading it into a typed field, and giving it a sample in test/settings-used.test.ts (which
 * fails for a key listed here that leaves the typed config unchanged).
 */
export const implementedSettings: Readonly<Record<SettingsSection, readonly string[]>> = {
  router_settings: [
    'routing_strategy', 'routing_strategy_args', 'timeout', 'stream_timeout', 'model_group_alias',
    'enable_pre_call_checks', 'default_max_parallel_requests',
    'num_retries', 'retry_policy', 'model_group_retry_policy', 'allowed_fails', 'allowed_fails_policy',
    'cooldown_time', 'disable_cooldowns', 'fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks',
    'default_fallbacks', 'max_fallbacks', 'retry_after',
    // redis_startup_nodes, redis_namespace, redis_sync_interval_ms and redis_ssl are ours, not LiteLLM's.
    'redis_url', 'redis_host', 'redis_port', 'redis_password', 'redis_startup_nodes', 'redis_namespace',
    'redis_sync_interval_ms', 'redis_ssl', 'cache_kwargs',
  ],
  litellm_settings: [
    'request_timeout', 'num_retries', 'fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks',
    'default_fallbacks', 'max_fallbacks', 'allowed_fails', 'num_retries_per_request', 'json_logs', 'require_auth_for_metrics_endpoint',
    'drop_params',
  ],
  // graceful_shutdown_seconds and allowed_origins are ours, not LiteLLM's.
  general_settings: ['master_key', 'max_request_size_mb', 'graceful_shutdown_seconds', 'background_health_checks', 'health_check_interval', 'allowed_origins', 'allow_client_side_credentials'],
};

/**
 * Keys LiteLLM accepts in a section but never reads there: one warning each saying where they
 * belong, instead of "not implemented".
 */
const misplacedSettings: Readonly<Partial<Record<SettingsSection, Readonly<Record<string, string>>>>> = {
  litellm_settings: {
    cooldown_time: 'has no effect: LiteLLM reads cooldown_time only from router_settings (its docs show it here, but the router never sees it); move it to router_settings',
  },
};

export const knownSections = ['model_list', 'litellm_settings', 'router_settings', 'general_settings', 'environment_variables', 'include'];

/** `litellm.request_timeout` when neither config nor `REQUEST_TIMEOUT` sets one. */
const DEFAULT_TIMEOUT_S = 6000;
const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
/** LiteLLM's `health_check_interval` default. */
const DEFAULT_HEALTH_CHECK_INTERVAL_S = 300;

/** The timeouts a deployment inherits when it sets none. */
export interface TimeoutDefaults {
  readonly timeoutS: number;
  readonly streamTimeoutS: number | null;
}

/** Router-level values a deployment falls back to. */
export interface DeploymentDefaults extends TimeoutDefaults {
  /** `router_settings.default_max_parallel_requests`; null = none. */
  readonly defaultMaxParallelRequests: number | null;
}

/**
 * One warning per key of a settings section that Switchyard does not act on (or that LiteLLM
 * reads elsewhere), and the secrets each section holds.
 */
export function checkSettingsKeys(r: ConfigReader, sections: readonly (readonly [SettingsSection, JsonObject])[]): void {
  for (const [name, obj] of sections) {
    for (const key of Object.keys(obj)) {
      const misplaced = misplacedSettings[name]?.[key];
      if (misplaced !== undefined) r.warn(`${r.at(`${name}.${key}`)}: ${misplaced}`);
      else if (!implementedSettings[name].includes(key)) r.warn(`${name}.${key}: not implemented yet; ignored`);
    }
    r.collectSecrets(obj, null);
  }
}

export function exportEnvironmentVariables(r: ConfigReader, raw: JsonValue | undefined): void {
  const path = 'environment_variables';
  if (raw === undefined || raw === null) return;
  if (!isObject(raw)) {
    r.problem(path, `must be a mapping of NAME: value, got ${kindOf(raw)}`);
    return;
  }
  for (const [name, value] of Object.entries(raw)) {
    const p = joinKey(path, name);
    const v = r.resolve(value, p);
    if (v === null) continue;
    if (typeof v === 'object') {
      r.warn(`${r.at(p)}: must be a string, number or boolean; not exported`);
      continue;
    }
    // Python's str(): LiteLLM writes `os.environ[k] = str(v)`, so `True` stays `True`.
    const text = typeof v === 'string' ? v : pyStr(typeof v === 'number' && r.floatPaths.has(p) ? new PyFloat(v) : v);
    r.exportVariable(name, text);
    if (isSecretName(name)) r.addSecret(text);
  }
}

export function readSection(r: ConfigReader, root: JsonObject, name: SettingsSection): JsonObject {
  const raw = get(root, name);
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) {
    r.problem(name, `must be a mapping, got ${kindOf(raw)}`);
    return {};
  }
  const resolved = r.resolve(raw, name);
  return isObject(resolved) ? resolved : {};
}

export function readRoutingStrategy(r: ConfigReader, router: JsonObject): RouterSettings['routingStrategy'] {
  const path = 'router_settings.routing_strategy';
  const v = get(router, 'routing_strategy');
  if (v === undefined || v === null) return 'simple-shuffle';
  if (typeof v !== 'string') {
    r.problem(path, `must be a string, got ${r.got(path, v)}`);
    return 'simple-shuffle';
  }
  const known = strategyNames.find((s) => s === v);
  if (known !== undefined) return known;
  const hint = suggest(v, strategyNames);
  r.problem(path, `unknown strategy ${JSON.stringify(v)}; ${hint !== null ? `did you mean "${hint}"?` : `expected one of ${strategyNames.join(', ')}`}`);
  return 'simple-shuffle';
}

/** `routing_strategy_args`: LiteLLM's latency-based keys `lowest_latency_buffer` and `ttl` (seconds). */
export function readStrategyArgs(r: ConfigReader, router: JsonObject): StrategyArgs {
  const path = 'router_settings.routing_strategy_args';
  const v = get(router, 'routing_strategy_args');
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    r.problem(path, `must be a mapping, got ${r.got(path, v)}`);
    return {};
  }
  const args = v as JsonObject;
  const buffer = r.number(`${path}.lowest_latency_buffer`, get(args, 'lowest_latency_buffer'), rules.weight);
  const ttl = r.number(`${path}.ttl`, get(args, 'ttl'), rules.seconds);
  for (const k of Object.keys(args)) {
    if (k !== 'lowest_latency_buffer' && k !== 'ttl') r.warn(`${path}.${k}: not implemented yet; ignored`);
  }
  return { ...(buffer !== null ? { lowestLatencyBuffer: buffer } : {}), ...(ttl !== null ? { ttlSeconds: ttl } : {}) };
}

/** LiteLLM's chain: deployment → router_settings.timeout → litellm_settings.request_timeout → REQUEST_TIMEOUT → 6000 s. */
export function readTimeouts(r: ConfigReader, router: JsonObject, litellm: JsonObject): TimeoutDefaults {
  const routerTimeout = r.number('router_settings.timeout', get(router, 'timeout'), rules.seconds);
  const requestTimeout = r.number('litellm_settings.request_timeout', get(litellm, 'request_timeout'), rules.seconds);
  const streamTimeoutS = r.number('router_settings.stream_timeout', get(router, 'stream_timeout'), rules.seconds);
  let timeoutS = routerTimeout ?? requestTimeout;
  if (timeoutS === null) {
    const env = r.env.REQUEST_TIMEOUT;
    if (env !== undefined && env.trim() !== '') {
      const n = parseNumeric(env);
      if (n !== undefined && n > 0 && n > MAX_TIMER_S) {
        r.warn(`environment variable REQUEST_TIMEOUT: ${n} s is longer than a timer can hold; clamped to ${MAX_TIMER_S} s (about 24.8 days)`);
        timeoutS = MAX_TIMER_S;
      } else if (n !== undefined && n > 0) timeoutS = n;
      else r.problem('', 'environment variable REQUEST_TIMEOUT must be a positive number of seconds');
    }
  }
  return { timeoutS: timeoutS ?? DEFAULT_TIMEOUT_S, streamTimeoutS };
}

export function readServer(r: ConfigReader, general: JsonObject, litellm: JsonObject = {}): ServerSettings {
  const mkPath = 'general_settings.master_key';
  const mk = get(general, 'master_key');
  let masterKey: string | null = null;
  if (mk !== undefined && mk !== null) {
    // Never echo the value: it is the proxy's password.
    if (typeof mk !== 'string') r.problem(mkPath, `must be a string, got ${r.hasEnvRef(mkPath) ? r.got(mkPath, mk) : kindOf(mk)}`);
    else if (mk === '') r.problem(mkPath, 'must not be empty');
    else masterKey = mk;
  } else {
    masterKey = r.envValue('LITELLM_MASTER_KEY');
  }
  if (masterKey !== null) r.addSecret(masterKey);

  const mb = r.number('general_settings.max_request_size_mb', get(general, 'max_request_size_mb'), rules.megabytes);
  const grace = r.number('general_settings.graceful_shutdown_seconds', get(general, 'graceful_shutdown_seconds'), rules.nonNegativeSeconds);
  // Read here, once: index.ts gets a boolean and a number of ms, never general_settings as written.
  const backgroundHealthChecks = r.boolean('general_settings.background_health_checks', get(general, 'background_health_checks'));
  const interval = r.number('general_settings.health_check_interval', get(general, 'health_check_interval'), rules.seconds);
  if (interval !== null && !backgroundHealthChecks) {
    r.warn(`${r.at('general_settings.health_check_interval')}: has no effect without background_health_checks: true`);
  }
  return {
    masterKey,
    allowedOrigins: readAllowedOrigins(r, get(general, 'allowed_origins')),
    jsonLogs: r.boolean('litellm_settings.json_logs', get(litellm, 'json_logs')),
    maxRequestBodyBytes: mb === null ? DEFAULT_MAX_BODY_BYTES : Math.floor(mb * 1024 * 1024),
    shutdownGraceMs: grace === null ? DEFAULT_SHUTDOWN_GRACE_MS : Math.round(grace * 1000),
    backgroundHealthChecks,
    healthCheckIntervalMs: Math.round((interval ?? DEFAULT_HEALTH_CHECK_INTERVAL_S) * 1000),
    // LiteLLM's key, in litellm_settings: /metrics is public unless it is true.
    requireAuthForMetrics: r.boolean('litellm_settings.require_auth_for_metrics_endpoint', get(litellm, 'require_auth_for_metrics_endpoint')),
    allowClientSideCredentials: r.boolean('general_settings.allow_client_side_credentials', get(general, 'allow_client_side_credentials')),
  };
}

/** `general_settings.allowed_origins`: a list of origins (`https://app.example.com`) or `*`; default every origin. */
function readAllowedOrigins(r: ConfigReader, v: JsonValue | undefined): readonly string[] {
  const path = 'general_settings.allowed_origins';
  if (v === undefined || v === null) return ['*'];
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((o) => typeof o === 'string' && o !== '')) {
    r.problem(path, `must be a list of origins (like "https://app.example.com") or "*", got ${kindOf(v)}`);
    return ['*'];
  }
  return list as string[];
}
