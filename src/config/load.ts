/**
 * LiteLLM proxy `config.yaml` → validated, frozen `ProxyConfig`.
 *
 * Load (YAML with positions) → export `environment_variables` → resolve `os.environ/` refs →
 * validate, collecting every problem with its path and line → freeze. Keys LiteLLM knows but
 * we do not implement produce one warning each; they never stop a load.
 */
import { readFileSync } from 'node:fs';
import { MAX_TIMER_MS } from '../timer-delay.js';
import {
  AZURE_DEFAULT_API_VERSION, compatibleFamilies, normaliseApiBase, resolveProvider, splitApiBase, type ProviderFamily,
} from '../providers/index.js';
import { isHeaderMap, isSecretName, isSecretValue, Secrets, urlSecrets } from '../secrets.js';
import { deploymentId, PyFloat, pyStr } from './deployment-id.js';
import { resolveEnvRefs, type EnvRef } from './env-refs.js';
import type {
  ConfigProblem, DeploymentConfig, JsonObject, JsonValue, MockResponse, ModelGroupAlias, ProxyConfig, RedisSettings,
  ReliabilitySettings, RouterSettings, ServerSettings,
} from './types.js';
import { joinIndex, joinKey, lineOf, parseYamlSource, type YamlSource } from './yaml-source.js';
import { deploymentMaxInputTokens } from './model-limits.js';
import { ModelNames } from './model-names.js';
import { deploymentCostPerToken } from './prices.js';
import { DEFAULT_MAX_FALLBACKS, parseFallbacks, type FallbackEntry, type FallbackMap } from './fallbacks.js';
import { allowedFailsPolicyKeys, DEFAULT_COOLDOWN_MS, retryPolicyKeys, type AllowedFailsPolicy, type RetryPolicy } from './policies.js';
import { strategyNames, type StrategyArgs } from './strategy-names.js';

export type LoadResult = { ok: true; config: ProxyConfig } | { ok: false; problems: ConfigProblem[] };

type SettingsSection = 'router_settings' | 'litellm_settings' | 'general_settings';

/**
 * Settings keys Switchyard acts on. Every other key of these sections gets one
 * "not implemented yet" warning at load; implementing a setting means adding its name here.
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
    'default_fallbacks', 'max_fallbacks', 'allowed_fails', 'num_retries_per_request',
  ],
  // graceful_shutdown_seconds is ours, not LiteLLM's.
  general_settings: ['master_key', 'max_request_size_mb', 'graceful_shutdown_seconds', 'background_health_checks', 'health_check_interval'],
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

const knownSections = ['model_list', 'litellm_settings', 'router_settings', 'general_settings', 'environment_variables', 'include'];

/** `litellm.request_timeout` when neither config nor `REQUEST_TIMEOUT` sets one. */
const DEFAULT_TIMEOUT_S = 6000;
const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
const DEFAULT_REDIS_PORT = 6379;
const DEFAULT_REDIS_NAMESPACE = 'switchyard';
const DEFAULT_REDIS_SYNC_INTERVAL_MS = 10;
/** The longest duration in seconds a timer holds (timer-delay.ts). */
const MAX_TIMER_S = MAX_TIMER_MS / 1000;
const MAX_REDIS_SYNC_INTERVAL_MS = 1000;
/** No braces: the sync layer wraps the namespace in a `{...}` Cluster hash tag itself. */
const redisNamespacePattern = /^[A-Za-z0-9_.:-]{1,64}$/;
/** `cache_kwargs` keys we read; LiteLLM passes the rest to redis-py, we ignore them with a warning. */
const cacheKwargsKeys = ['url', 'host', 'port', 'password', 'username', 'ssl', 'namespace', 'startup_nodes'];

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
  'output_cost_per_token', 'max_input_tokens', 'base_model', ...bodyDefaultKeys,
]);
/** Credentials a mock deployment never sends: an unset variable there is not worth a warning. */
const credentialParams = new Set(['api_key', 'api_base', 'api_version', 'organization', 'extra_headers']);

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return failed([{ path: '', line: null, message: `cannot read the config file: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return loadConfigText(text, path, env);
}

/**
 * `environment_variables` are exported into `env` (as LiteLLM exports them into `os.environ`),
 * but only when the load succeeds, so a refused hot reload leaves the environment alone.
 */
export function loadConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const parsed = parseYamlSource(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (!parsed.ok) return failed(parsed.problems);
  return new Loader(parsed.source, source, env).load();
}

export function formatProblems(source: string, problems: readonly ConfigProblem[]): string {
  const n = problems.length;
  const out = [`${source}: ${n} ${n === 1 ? 'problem' : 'problems'}`];
  for (const p of problems) {
    const where = p.path !== ''
      ? `${p.path}${p.line !== null ? ` (line ${p.line})` : ''}: `
      : p.line !== null ? `line ${p.line}: ` : '';
    out.push(`  ${where}${p.message}`);
  }
  return out.join('\n');
}

function failed(problems: ConfigProblem[]): LoadResult {
  return deepFreeze({ ok: false, problems });
}

interface NumberRule {
  readonly what: string;
  readonly ok: (n: number) => boolean;
}

const rules = {
  count: { what: 'a non-negative integer', ok: (n) => Number.isInteger(n) && n >= 0 },
  positiveCount: { what: 'a positive integer', ok: (n) => Number.isInteger(n) && n > 0 },
  integer: { what: 'an integer', ok: (n) => Number.isInteger(n) },
  weight: { what: 'a non-negative number', ok: (n) => n >= 0 },
  seconds: { what: 'a positive number of seconds', ok: (n) => n > 0 },
  nonNegativeSeconds: { what: 'a non-negative number of seconds', ok: (n) => n >= 0 },
  megabytes: { what: 'a positive number of megabytes', ok: (n) => n > 0 },
  port: { what: 'an integer from 1 to 65535', ok: (n) => Number.isInteger(n) && n >= 1 && n <= 65535 },
  syncInterval: { what: `a positive number of milliseconds, at most ${MAX_REDIS_SYNC_INTERVAL_MS}`, ok: (n) => n > 0 && n <= MAX_REDIS_SYNC_INTERVAL_MS },
} satisfies Record<string, NumberRule>;

/** Where a numeric field may be written, in lookup order: `[path of the mapping, mapping, key]`. */
type Source = readonly [string, JsonObject, string];

/** A value and where it came from: a YAML path, or (env) the name of an environment variable. */
interface Found {
  readonly value: JsonValue;
  readonly path: string;
  readonly env: boolean;
}

/** One place Redis connection settings may come from, with the fields it sets. */
interface RedisSource {
  /** `router_settings`, `litellm_settings.cache_params` or `environment`. */
  readonly what: string;
  readonly url: Found | null;
  readonly host: Found | null;
  readonly port: Found | null;
  readonly password: Found | null;
  readonly username: Found | null;
  readonly nodes: Found | null;
  readonly ssl: boolean;
  readonly namespace: Found | null;
}

/** REDIS_URL / REDIS_HOST alone: every field comes from the environment. */
const envRedisSource: RedisSource = {
  what: 'environment', url: null, host: null, port: null, password: null, username: null, nodes: null, ssl: false, namespace: null,
};

/** Whether a source names any connection setting (ssl and namespace alone do not connect anywhere). */
function hasConnection(s: RedisSource): boolean {
  return [s.url, s.host, s.port, s.password, s.username, s.nodes].some((f) => f !== null);
}

/** How a fallback name resolves at load. */
interface NameCheck {
  /** Model groups and aliases, for did-you-mean. */
  readonly groups: readonly string[];
  readonly hasWildcards: boolean;
  readonly resolve: (name: string) => 'ok' | 'skipped' | 'unknown';
}

interface Defaults {
  readonly timeoutS: number;
  readonly streamTimeoutS: number | null;
}

class Loader {
  readonly #problems: ConfigProblem[] = [];
  readonly #warnings: string[];
  /** Path → variable name of every resolved `os.environ/` value: messages name the variable, never the value. */
  readonly #envRefs = new Map<string, string>();
  readonly #env: Record<string, string | undefined>;
  readonly #exported = new Map<string, string>();
  readonly #secrets = new Set<string>();
  /** `model_name` of every model_list entry, served or skipped, to tell a typo from a skipped group. */
  readonly #entryNames = new Set<string>();

  constructor(
    private readonly src: YamlSource,
    private readonly source: string,
    private readonly targetEnv: NodeJS.ProcessEnv,
  ) {
    this.#warnings = [...src.warnings];
    this.#env = { ...targetEnv };
  }

  load(): LoadResult {
    const root = this.src.value;
    if (root === undefined || root === null) return failed([{ path: '', line: null, message: 'config is empty' }]);
    if (!isObject(root)) {
      return failed([{ path: '', line: 1, message: `the config must be a mapping of sections (model_list, router_settings, ...), got ${kindOf(root)}` }]);
    }

    for (const key of Object.keys(root)) {
      if (key === 'include') this.#warnings.push('include: not supported by Switchyard (copy the included files into this one); ignored');
      else if (!knownSections.includes(key)) this.#warnings.push(`${key}: not implemented by Switchyard; ignored`);
    }

    // Before any resolution, unlike LiteLLM (which exports them after its first pass), so an
    // `os.environ/X` whose X is defined under environment_variables resolves.
    this.#exportEnvironmentVariables(get(root, 'environment_variables'));

    const litellm = this.#section(root, 'litellm_settings');
    const router = this.#section(root, 'router_settings');
    const general = this.#section(root, 'general_settings');
    for (const [name, obj] of [['router_settings', router], ['litellm_settings', litellm], ['general_settings', general]] as const) {
      for (const key of Object.keys(obj)) {
        const misplaced = misplacedSettings[name]?.[key];
        if (misplaced !== undefined) this.#warnings.push(`${this.#at(`${name}.${key}`)}: ${misplaced}`);
        else if (!implementedSettings[name].includes(key)) this.#warnings.push(`${name}.${key}: not implemented yet; ignored`);
      }
      this.#collectSecrets(obj, null);
    }

    const routingStrategy = this.#routingStrategy(router);
    const routingStrategyArgs = this.#strategyArgs(router);
    const enablePreCallChecks = this.#boolean('router_settings.enable_pre_call_checks', get(router, 'enable_pre_call_checks'));
    const defaultMaxParallelRequests = this.#number('router_settings.default_max_parallel_requests', get(router, 'default_max_parallel_requests'), rules.positiveCount);
    const defaults = this.#defaultTimeouts(router, litellm);
    const server = this.#server(general);
    const deployments = this.#deployments(get(root, 'model_list'), defaults);
    const groups = new Map<string, DeploymentConfig[]>();
    for (const d of deployments) {
      const list = groups.get(d.group);
      if (list) list.push(d);
      else groups.set(d.group, [d]);
    }
    // The one name resolver: alias targets are checked with it, then it takes the aliases.
    const names = new ModelNames({ deployments, groups });
    const aliases = this.#aliases(router, groups, names);
    names.setAliases(aliases);
    const reliability = this.#reliability(router, litellm, groups, names, aliases);
    const redis = this.#redis(router, litellm);

    if (this.#problems.length > 0) {
      // Reading order: file-level problems first, then by line (sort is stable within a line).
      const scrub = new Secrets(this.#secrets);
      const byLine = this.#problems.map((p) => ({ ...p, message: scrub.redact(p.message) }))
        .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
      return failed(byLine);
    }

    for (const [k, v] of this.#exported) this.targetEnv[k] = v;
    // Longest first, so a redactor replacing in order never leaves part of a longer secret.
    const secrets = [...this.#secrets].sort((a, b) => b.length - a.length);
    const scrubber = new Secrets(secrets);
    const config: ProxyConfig = {
      source: this.source,
      deployments,
      groups,
      aliases,
      names,
      router: { routingStrategy, routingStrategyArgs, enablePreCallChecks, defaultMaxParallelRequests, raw: router },
      reliability,
      server,
      redis,
      litellmSettings: litellm,
      generalSettings: general,
      warnings: this.#warnings.map((w) => scrubber.redact(w)),
      secrets,
    };
    return deepFreeze({ ok: true, config });
  }

  // --- sections -------------------------------------------------------------------------

  #exportEnvironmentVariables(raw: JsonValue | undefined): void {
    const path = 'environment_variables';
    if (raw === undefined || raw === null) return;
    if (!isObject(raw)) {
      this.#problem(path, `must be a mapping of NAME: value, got ${kindOf(raw)}`);
      return;
    }
    for (const [name, value] of Object.entries(raw)) {
      const p = joinKey(path, name);
      const v = this.#resolve(value, p);
      if (v === null) continue;
      if (typeof v === 'object') {
        this.#warnings.push(`${this.#at(p)}: must be a string, number or boolean; not exported`);
        continue;
      }
      // Python's str(): LiteLLM writes `os.environ[k] = str(v)`, so `True` stays `True`.
      const text = typeof v === 'string' ? v : pyStr(typeof v === 'number' && this.src.floatPaths.has(p) ? new PyFloat(v) : v);
      this.#env[name] = text;
      this.#exported.set(name, text);
      if (isSecretName(name)) this.#addSecret(text);
    }
  }

  #section(root: JsonObject, name: SettingsSection): JsonObject {
    const raw = get(root, name);
    if (raw === undefined || raw === null) return {};
    if (!isObject(raw)) {
      this.#problem(name, `must be a mapping, got ${kindOf(raw)}`);
      return {};
    }
    const resolved = this.#resolve(raw, name);
    return isObject(resolved) ? resolved : {};
  }

  #routingStrategy(router: JsonObject): RouterSettings['routingStrategy'] {
    const path = 'router_settings.routing_strategy';
    const v = get(router, 'routing_strategy');
    if (v === undefined || v === null) return 'simple-shuffle';
    if (typeof v !== 'string') {
      this.#problem(path, `must be a string, got ${this.#got(path, v)}`);
      return 'simple-shuffle';
    }
    const known = strategyNames.find((s) => s === v);
    if (known !== undefined) return known;
    const hint = suggest(v, strategyNames);
    this.#problem(path, `unknown strategy ${JSON.stringify(v)}; ${hint !== null ? `did you mean "${hint}"?` : `expected one of ${strategyNames.join(', ')}`}`);
    return 'simple-shuffle';
  }

  /** `routing_strategy_args`: LiteLLM's latency-based keys `lowest_latency_buffer` and `ttl` (seconds). */
  #strategyArgs(router: JsonObject): StrategyArgs {
    const path = 'router_settings.routing_strategy_args';
    const v = get(router, 'routing_strategy_args');
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.#problem(path, `must be a mapping, got ${this.#got(path, v)}`);
      return {};
    }
    const args = v as JsonObject;
    const buffer = this.#number(`${path}.lowest_latency_buffer`, get(args, 'lowest_latency_buffer'), rules.weight);
    const ttl = this.#number(`${path}.ttl`, get(args, 'ttl'), rules.seconds);
    for (const k of Object.keys(args)) {
      if (k !== 'lowest_latency_buffer' && k !== 'ttl') this.#warnings.push(`${path}.${k}: not implemented yet; ignored`);
    }
    return { ...(buffer !== null ? { lowestLatencyBuffer: buffer } : {}), ...(ttl !== null ? { ttlSeconds: ttl } : {}) };
  }

  #boolean(path: string, v: JsonValue | undefined): boolean {
    if (v === undefined || v === null) return false;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
    this.#problem(path, `must be true or false, got ${this.#got(path, v)}`);
    return false;
  }

  /** LiteLLM's chain: deployment → router_settings.timeout → litellm_settings.request_timeout → REQUEST_TIMEOUT → 6000 s. */
  #defaultTimeouts(router: JsonObject, litellm: JsonObject): Defaults {
    const routerTimeout = this.#number('router_settings.timeout', get(router, 'timeout'), rules.seconds);
    const requestTimeout = this.#number('litellm_settings.request_timeout', get(litellm, 'request_timeout'), rules.seconds);
    const streamTimeoutS = this.#number('router_settings.stream_timeout', get(router, 'stream_timeout'), rules.seconds);
    let timeoutS = routerTimeout ?? requestTimeout;
    if (timeoutS === null) {
      const env = this.#env.REQUEST_TIMEOUT;
      if (env !== undefined && env.trim() !== '') {
        const n = parseNumeric(env);
        if (n !== undefined && n > 0 && n > MAX_TIMER_S) {
          this.#warnings.push(`environment variable REQUEST_TIMEOUT: ${n} s is longer than a timer can hold; clamped to ${MAX_TIMER_S} s (about 24.8 days)`);
          timeoutS = MAX_TIMER_S;
        } else if (n !== undefined && n > 0) timeoutS = n;
        else this.#problem('', 'environment variable REQUEST_TIMEOUT must be a positive number of seconds');
      }
    }
    return { timeoutS: timeoutS ?? DEFAULT_TIMEOUT_S, streamTimeoutS };
  }

  #server(general: JsonObject): ServerSettings {
    const mkPath = 'general_settings.master_key';
    const mk = get(general, 'master_key');
    let masterKey: string | null = null;
    if (mk !== undefined && mk !== null) {
      // Never echo the value: it is the proxy's password.
      if (typeof mk !== 'string') this.#problem(mkPath, `must be a string, got ${this.#envRefs.has(mkPath) ? this.#got(mkPath, mk) : kindOf(mk)}`);
      else if (mk === '') this.#problem(mkPath, 'must not be empty');
      else masterKey = mk;
    } else {
      masterKey = this.#envValue('LITELLM_MASTER_KEY');
    }
    if (masterKey !== null) this.#addSecret(masterKey);

    const mb = this.#number('general_settings.max_request_size_mb', get(general, 'max_request_size_mb'), rules.megabytes);
    const grace = this.#number('general_settings.graceful_shutdown_seconds', get(general, 'graceful_shutdown_seconds'), rules.nonNegativeSeconds);
    // Read where it is used (index.ts); checked here so a typo or an overlong interval is reported.
    this.#number('general_settings.health_check_interval', get(general, 'health_check_interval'), rules.seconds);
    return {
      masterKey,
      maxRequestBodyBytes: mb === null ? DEFAULT_MAX_BODY_BYTES : Math.floor(mb * 1024 * 1024),
      shutdownGraceMs: grace === null ? DEFAULT_SHUTDOWN_GRACE_MS : Math.round(grace * 1000),
    };
  }

  // --- Redis ----------------------------------------------------------------------------

  /**
   * LiteLLM's Router builds its Redis client from `redis_url`, or `redis_host` + `redis_port`
   * (+ `redis_password`), with `cache_kwargs` merged over them, and the client fills unset
   * fields from REDIS_* variables. Without that, the proxy hands the router the Redis of
   * `litellm_settings.cache`. We then also take REDIS_URL or REDIS_HOST alone (LiteLLM would
   * not), and a host without a port means 6379. The first source that names a host, URL or
   * startup nodes wins; one that sets only a port or password is reported and skipped.
   */
  #redis(router: JsonObject, litellm: JsonObject): RedisSettings | null {
    const rs = 'router_settings';
    const kw = 'router_settings.cache_kwargs';
    const kwargs = this.#cacheKwargs(router);
    const merged = 'as in LiteLLM (cache_kwargs is merged over the redis_* settings)';
    const ours = 'redis_* settings win over cache_kwargs for Switchyard\'s own keys';
    const routerSource: RedisSource = {
      what: 'router_settings',
      url: this.#pick([[kw, kwargs, 'url'], [rs, router, 'redis_url']], merged),
      host: this.#pick([[kw, kwargs, 'host'], [rs, router, 'redis_host']], merged),
      port: this.#pick([[kw, kwargs, 'port'], [rs, router, 'redis_port']], merged),
      password: this.#pick([[kw, kwargs, 'password'], [rs, router, 'redis_password']], merged),
      username: this.#pick([[kw, kwargs, 'username']], merged),
      nodes: this.#pick([[rs, router, 'redis_startup_nodes'], [kw, kwargs, 'startup_nodes']], ours),
      ssl: this.#optionalBoolean(`${rs}.redis_ssl`, get(router, 'redis_ssl')) === true || this.#optionalBoolean(`${kw}.ssl`, get(kwargs, 'ssl')) === true,
      namespace: this.#pick([[rs, router, 'redis_namespace'], [kw, kwargs, 'namespace']], ours),
    };
    // Validated whether or not Redis ends up configured: a typo should not wait for the day it is.
    const routerNamespace = routerSource.namespace === null ? null : this.#redisNamespace(routerSource.namespace);
    const syncIntervalMs = this.#number(`${rs}.redis_sync_interval_ms`, get(router, 'redis_sync_interval_ms'), rules.syncInterval)
      ?? DEFAULT_REDIS_SYNC_INTERVAL_MS;

    const sources: readonly (() => RedisSource | null)[] = [
      () => (hasConnection(routerSource) ? routerSource : null),
      () => this.#cacheRedisSource(litellm),
      () => (this.#envValue('REDIS_URL') !== null || this.#envValue('REDIS_HOST') !== null ? envRedisSource : null),
    ];
    for (const next of sources) {
      const source = next();
      if (source === null) continue;
      const conn = this.#redisConnection(source);
      if (conn === 'failed') return null;
      if (conn === 'incomplete') {
        // Only the router and cache sources get here: the environment one needs a host or URL to be tried.
        const set = [source.port, source.password, source.username].find((f): f is Found => f !== null);
        const where = source === routerSource
          ? `${set !== undefined ? this.#at(set.path) : rs}: no Redis host or URL is set (router_settings.redis_host / redis_url, cache_kwargs.host / url, or REDIS_HOST / REDIS_URL)`
          : `${this.#at('litellm_settings.cache')}: the Redis cache has no host or URL (cache_params.host / url, or REDIS_HOST / REDIS_URL)`;
        this.#warnings.push(`${where}; Redis not used for routing state`);
        continue;
      }
      if (source === envRedisSource) {
        this.#warnings.push(`environment variable ${this.#envValue('REDIS_URL') !== null ? 'REDIS_URL' : 'REDIS_HOST'}: Redis shares routing state across instances (LiteLLM would not use it without router_settings.redis_* or litellm_settings.cache)`);
      } else if (source.what === 'litellm_settings.cache_params') {
        this.#warnings.push(`${this.#at('litellm_settings.cache')}: response caching is not implemented, but its Redis shares routing state across instances, as LiteLLM's router reuses it`);
      }
      let namespace = routerNamespace;
      if (namespace === null && source !== routerSource && source.namespace !== null) namespace = this.#redisNamespace(source.namespace);
      return { ...conn, namespace: namespace ?? DEFAULT_REDIS_NAMESPACE, syncIntervalMs };
    }
    for (const key of ['redis_namespace', 'redis_sync_interval_ms', 'redis_ssl', 'cache_kwargs']) {
      if (!isUnset(get(router, key))) this.#warnings.push(`${this.#at(`${rs}.${key}`)}: has no effect, no Redis is configured (set redis_host or redis_url)`);
    }
    return null;
  }

  /** `cache_kwargs`: LiteLLM merges it into the Redis client's arguments. */
  #cacheKwargs(router: JsonObject): JsonObject {
    const path = 'router_settings.cache_kwargs';
    const v = get(router, 'cache_kwargs');
    if (isUnset(v)) return {};
    if (!isObject(v)) {
      this.#problem(path, `must be a mapping of Redis client options (host, port, password, ...), got ${this.#got(path, v)}`);
      return {};
    }
    for (const k of Object.keys(v)) {
      if (!cacheKwargsKeys.includes(k)) this.#warnings.push(`${this.#at(joinKey(path, k))}: not implemented yet; ignored`);
    }
    return v;
  }

  /**
   * `litellm_settings.cache: true` makes LiteLLM build a cache of `cache_params.type`, Redis by
   * default; the proxy then gives a Redis cache's client to the router when it has none.
   */
  #cacheRedisSource(litellm: JsonObject): RedisSource | null {
    if (get(litellm, 'cache') !== true) return null;
    const path = 'litellm_settings.cache_params';
    const raw = get(litellm, 'cache_params');
    if (!isUnset(raw) && !isObject(raw)) {
      this.#problem(path, `must be a mapping, got ${this.#got(path, raw)}`);
      return null;
    }
    const cp: JsonObject = isObject(raw) ? raw : {};
    const type = get(cp, 'type');
    if (!isUnset(type) && type !== 'redis') return null;
    const one = (key: string): Found | null => this.#pick([[path, cp, key]], '');
    return {
      what: path,
      url: one('url'),
      host: one('host'),
      port: one('port'),
      password: one('password'),
      username: one('username'),
      nodes: one('redis_startup_nodes'),
      ssl: this.#optionalBoolean(joinKey(path, 'ssl'), get(cp, 'ssl')) === true,
      namespace: one('namespace'),
    };
  }

  /**
   * Connection settings from one source, the environment filling what it leaves unset.
   * `incomplete`: no host, URL or startup nodes anywhere; `failed`: a problem was recorded.
   */
  #redisConnection(source: RedisSource): Omit<RedisSettings, 'namespace' | 'syncIntervalMs'> | 'incomplete' | 'failed' {
    const before = this.#problems.length;
    const tls = (): boolean => source.ssl || this.#envSsl();
    if (source.url !== null && source.nodes !== null) {
      this.#problem(source.url.path, `set either a URL or startup nodes (${source.nodes.path}), not both`);
      return 'failed';
    }
    const url = source.url ?? (source.nodes === null && source.host === null ? this.#envFound('REDIS_URL') : null);
    if (url !== null) {
      for (const f of [source.host, source.port, source.password, source.username]) {
        if (f !== null) this.#warnings.push(`${this.#at(f.path)}: ignored, ${url.env ? `environment variable ${url.path}` : url.path} is set and wins, as in LiteLLM`);
      }
      return this.#redisUrl(url, tls) ?? 'failed';
    }
    if (source.nodes !== null) {
      for (const f of [source.host, source.port]) {
        if (f !== null) this.#warnings.push(`${this.#at(f.path)}: ignored, ${source.nodes.path} is set (cluster mode)`);
      }
      const startupNodes = this.#startupNodes(source.nodes);
      const password = this.#redisPassword(source.password ?? this.#envFound('REDIS_PASSWORD'));
      const username = this.#redisText(source.username ?? this.#envFound('REDIS_USERNAME'));
      if (startupNodes === null || this.#problems.length > before) return 'failed';
      return { mode: 'cluster', url: null, host: null, port: null, password, username, tls: tls(), startupNodes };
    }
    const hostFound = source.host ?? this.#envFound('REDIS_HOST');
    if (hostFound === null) return 'incomplete';
    const host = this.#redisHost(hostFound);
    const portFound = source.port ?? this.#envFound('REDIS_PORT');
    const port = portFound === null ? DEFAULT_REDIS_PORT : this.#redisPort(portFound);
    const password = this.#redisPassword(source.password ?? this.#envFound('REDIS_PASSWORD'));
    const username = this.#redisText(source.username ?? this.#envFound('REDIS_USERNAME'));
    const useTls = tls();
    if (host === null || port === null || this.#problems.length > before) return 'failed';
    return { mode: 'single', url: null, host, port, password, username, tls: useTls, startupNodes: [] };
  }

  #redisUrl(f: Found, tls: () => boolean): Omit<RedisSettings, 'namespace' | 'syncIntervalMs'> | null {
    if (typeof f.value !== 'string') {
      this.#problemAt(f, `must be a redis:// or rediss:// URL, got ${this.#describe(f)}`);
      return null;
    }
    const raw = f.value;
    // The whole URL when it carries credentials, so a log line holding it is redacted.
    if (raw.includes('@')) this.#addPassword(raw);
    const u = parseRedisUrl(raw);
    if (!u.ok) {
      const shown = f.env || this.#envRefs.has(f.path) ? this.#describe(f) : JSON.stringify(shorten(redactUrl(raw)));
      this.#problemAt(f, `${u.reason}, got ${shown}`);
      return null;
    }
    if (u.password !== null) this.#addPassword(u.password);
    if (u.username !== null && u.password === null) {
      this.#warnings.push(`${f.env ? `environment variable ${f.path}` : this.#at(f.path)}: the URL has a user name but no password; for a password alone write redis://:password@host`);
    }
    if (u.cluster && u.hasQuery) {
      this.#warnings.push(`${f.env ? `environment variable ${f.path}` : this.#at(f.path)}: query options of a cluster URL are not implemented; ignored`);
    }
    const common = { password: u.password, username: u.username, tls: u.tls || tls() };
    if (u.cluster) return { mode: 'cluster', url: null, host: null, port: null, ...common, startupNodes: u.nodes };
    const node = u.nodes[0];
    if (node === undefined) return null;
    return { mode: 'single', url: raw, host: node.host, port: node.port, ...common, startupNodes: [] };
  }

  #startupNodes(f: Found): { host: string; port: number }[] | null {
    if (f.env || !Array.isArray(f.value) || f.value.length === 0) {
      this.#problemAt(f, `must be a non-empty list of {host, port} mappings, got ${this.#describe(f)}`);
      return null;
    }
    const out: { host: string; port: number }[] = [];
    let ok = true;
    f.value.forEach((item, i) => {
      const p = joinIndex(f.path, i);
      if (!isObject(item)) {
        this.#problem(p, `must be a mapping {host, port}, got ${this.#got(p, item)}`);
        ok = false;
        return;
      }
      for (const k of Object.keys(item)) {
        if (k !== 'host' && k !== 'port') this.#warnings.push(`${this.#at(joinKey(p, k))}: unknown key (a startup node takes host and port); ignored`);
      }
      const field = (key: string): Found | null => {
        const fp = joinKey(p, key);
        const v = get(item, key);
        if (!isUnset(v) && v !== '') return { value: v, path: fp, env: false };
        this.#problem(fp, this.#envRefs.has(fp) ? `must be set, got ${this.#got(fp, v ?? null)}` : 'is required');
        return null;
      };
      const h = field('host');
      const pt = field('port');
      const host = h === null ? null : this.#redisHost(h);
      const port = pt === null ? null : this.#redisPort(pt);
      if (host === null || port === null) ok = false;
      else out.push({ host, port });
    });
    return ok ? out : null;
  }

  #redisHost(f: Found): string | null {
    const v = f.value;
    if (typeof v !== 'string' || v.trim() === '') {
      this.#problemAt(f, `must be a host name or IP address, got ${this.#describe(f)}`);
      return null;
    }
    if (v.includes('://')) {
      this.#problemAt(f, 'must be a host name or IP address, got a URL; set redis_url (or cache_kwargs.url) to connect with a URL');
      return null;
    }
    if (/[\s/?#@]/.test(v)) {
      this.#problemAt(f, `must be a host name or IP address, got ${this.#describe(f)}`);
      return null;
    }
    return v.replace(/^\[(.*)\]$/, '$1');
  }

  #redisPort(f: Found): number | null {
    if (!f.env) return this.#number(f.path, f.value, rules.port);
    const n = typeof f.value === 'string' ? parseNumeric(f.value) : undefined;
    if (n !== undefined && rules.port.ok(n)) return n;
    this.#problemAt(f, `must be ${rules.port.what}, got ${this.#describe(f)}`);
    return null;
  }

  /** Never echoed: not even its type is worth printing next to where it is written. */
  #redisPassword(f: Found | null): string | null {
    const v = f === null ? null : this.#redisText(f);
    if (v !== null) this.#addPassword(v);
    return v;
  }

  /** A string, or a number as Python's str() writes it (`redis_password: 123456`). */
  #redisText(f: Found | null): string | null {
    if (f === null) return null;
    if (typeof f.value === 'string') return f.value === '' ? null : f.value;
    if (typeof f.value === 'number') return pyStr(this.#pyView(f.value, f.path));
    this.#problemAt(f, `must be a string, got ${f.env || this.#envRefs.has(f.path) ? this.#describe(f) : kindOf(f.value)}`);
    return null;
  }

  #redisNamespace(f: Found): string | null {
    if (typeof f.value === 'string' && redisNamespacePattern.test(f.value)) return f.value;
    this.#problemAt(f, `must be 1 to 64 letters, digits or _ . : - (no braces: keys get their {...} hash tag from it), got ${this.#describe(f)}`);
    return null;
  }

  /** `REDIS_SSL`, as LiteLLM's client reads it (`true` / `false`, any case). */
  #envSsl(): boolean {
    const f = this.#envFound('REDIS_SSL');
    if (f === null || typeof f.value !== 'string') return false;
    if (/^(true|false)$/i.test(f.value)) return f.value.toLowerCase() === 'true';
    this.#problemAt(f, `must be true or false, got ${this.#describe(f)}`);
    return false;
  }

  #optionalBoolean(path: string, v: JsonValue | undefined): boolean | null {
    return isUnset(v) ? null : this.#boolean(path, v);
  }

  /**
   * The first place that sets a value ('' counts as unset, as in LiteLLM's truthiness checks);
   * each later one that is also set gets a warning saying it lost.
   */
  #pick(sources: readonly Source[], why: string): Found | null {
    let found: Found | null = null;
    for (const [at, obj, key] of sources) {
      const v = get(obj, key);
      if (isUnset(v) || v === '') continue;
      const path = joinKey(at, key);
      if (found === null) found = { value: v, path, env: false };
      else this.#warnings.push(`${this.#at(path)}: ignored, ${found.path} is set and wins, ${why}`);
    }
    return found;
  }

  #envFound(name: string): Found | null {
    const v = this.#envValue(name);
    return v === null ? null : { value: v, path: name, env: true };
  }

  /** Describes a value for a message; environment values are never printed. */
  #describe(f: Found): string {
    return f.env ? `the value of environment variable ${f.path}` : this.#got(f.path, f.value);
  }

  /**
   * A problem with a value: at its YAML path, or for an environment variable at the variable's
   * name (no line), or at `environment_variables.NAME` when this config exported it.
   */
  #problemAt(f: Found, message: string): void {
    if (!f.env) this.#problem(f.path, message);
    else if (this.#exported.has(f.path)) this.#problem(joinKey('environment_variables', f.path), message);
    else this.#problems.push({ path: f.path, line: null, message });
  }

  /** Passwords are secrets whatever they look like (#addSecret skips numbers and booleans). */
  #addPassword(s: string): void {
    if (s !== '') this.#secrets.add(s);
  }

  // --- model_group_alias ----------------------------------------------------------------

  /**
   * LiteLLM rewrites an alias to its target, then resolves the target like any request: model
   * group, deployment id, wildcard pattern, `litellm_params.model` (router.py
   * `_common_checks_available_deployment`). A target none of those serves is a typo, refused
   * here rather than answered with "Invalid model name" on every request.
   */
  #aliases(router: JsonObject, groups: ReadonlyMap<string, unknown>, names: ModelNames): Map<string, ModelGroupAlias> {
    const out = new Map<string, ModelGroupAlias>();
    const path = 'router_settings.model_group_alias';
    const raw = get(router, 'model_group_alias');
    if (isUnset(raw)) return out;
    if (!isObject(raw)) {
      this.#problem(path, `must be a mapping of alias: model group (or alias: {model: <group>, hidden: true}), got ${this.#got(path, raw)}`);
      return out;
    }
    for (const [alias, value] of Object.entries(raw)) {
      const p = joinKey(path, alias);
      const parsed = this.#alias(p, value);
      if (parsed === null) continue;
      const target = parsed.group;
      if (alias.trim() === '') {
        this.#problem(p, 'an alias name must not be empty');
        continue;
      }
      if (groups.has(alias)) {
        this.#problem(p, `"${alias}" is already a model group; an alias cannot shadow it (rename the alias or the group)`);
        continue;
      }
      if (alias.includes('*')) {
        this.#warnings.push(`${this.#at(p)}: wildcard aliases are not implemented; the alias matches only the literal name "${alias}"`);
      }
      if (groups.has(target)) {
        out.set(alias, parsed);
        continue;
      }
      if (this.#entryNames.has(target)) {
        // The compat configs alias groups whose providers we skip; that must not stop the load.
        this.#warnings.push(`${this.#at(p)}: points to group "${target}", whose deployments were all skipped; alias ignored`);
        continue;
      }
      if (names.resolveUnaliased(target) !== null) {
        out.set(alias, parsed);
        continue;
      }
      const chained = get(raw, target);
      if (chained !== undefined) {
        const next = typeof chained === 'string' ? chained : isObject(chained) ? get(chained, 'model') : undefined;
        const hint = typeof next === 'string' ? `; point it at "${next}" instead` : '';
        this.#problem(p, `points to "${target}", which is itself an alias; aliases do not chain${hint}`);
        continue;
      }
      const close = closeName(target, [...groups.keys()]);
      this.#problem(p, `points to group "${target}", which no deployment defines${close === null ? '' : `; did you mean "${close}"?`}`);
    }
    return out;
  }

  /** `"group"` or `{model: "group", hidden: true}` (LiteLLM's `RouterModelGroupAliasItem`). */
  #alias(p: string, v: JsonValue): ModelGroupAlias | null {
    if (typeof v === 'string' && v !== '') return { group: v, hidden: false };
    if (!isObject(v)) {
      this.#problem(p, `must name a model group, or be a mapping {model: <group>, hidden: true|false}; got ${this.#got(p, v)}`);
      return null;
    }
    const mp = joinKey(p, 'model');
    const model = get(v, 'model');
    if (typeof model !== 'string' || model === '') {
      this.#problem(mp, isUnset(model) && !this.#envRefs.has(mp) ? 'is required (the model group the alias stands for)' : `must be a non-empty string, got ${this.#got(mp, model)}`);
      return null;
    }
    const hp = joinKey(p, 'hidden');
    const hiddenRaw = get(v, 'hidden');
    let hidden = false;
    if (!isUnset(hiddenRaw)) {
      if (typeof hiddenRaw !== 'boolean') {
        this.#problem(hp, `must be true or false, got ${this.#got(hp, hiddenRaw)}`);
        return null;
      }
      hidden = hiddenRaw;
    }
    for (const k of Object.keys(v)) {
      if (k !== 'model' && k !== 'hidden') this.#warnings.push(`${this.#at(joinKey(p, k))}: unknown key (an alias takes model and hidden); ignored`);
    }
    return { group: model, hidden };
  }

  // --- retries, fallbacks, cooldowns --------------------------------------------------

  /**
   * LiteLLM's Router.__init__ takes these from router_settings and, for the ones the module
   * also has, falls back to litellm_settings: `num_retries`, `allowed_fails`, `max_fallbacks`
   * when unset (`is not None`), the fallback lists when unset or empty (`or`).
   */
  #reliability(
    router: JsonObject, litellm: JsonObject, groups: ReadonlyMap<string, unknown>, names: ModelNames, aliases: ReadonlyMap<string, ModelGroupAlias>,
  ): ReliabilitySettings {
    const route = this.#nameChecker(groups, names, aliases);
    const numRetries = this.#preferRouter('num_retries', router, litellm, rules.count);
    const allowedFails = this.#preferRouter('allowed_fails', router, litellm, rules.count);
    const maxFallbacks = this.#preferRouter('max_fallbacks', router, litellm, rules.count) ?? DEFAULT_MAX_FALLBACKS;
    const numRetriesPerRequest = this.#number('litellm_settings.num_retries_per_request', get(litellm, 'num_retries_per_request'), rules.count);

    const retryPolicy: RetryPolicy | null = this.#policy('router_settings.retry_policy', get(router, 'retry_policy'), retryPolicyKeys);
    const modelGroupRetryPolicy = new Map<string, RetryPolicy>();
    const mgPath = 'router_settings.model_group_retry_policy';
    const mg = get(router, 'model_group_retry_policy');
    if (!isUnset(mg)) {
      if (!isObject(mg)) this.#problem(mgPath, `must be a mapping of model group: retry policy, got ${this.#got(mgPath, mg)}`);
      else {
        for (const [group, v] of Object.entries(mg)) {
          const p = joinKey(mgPath, group);
          const policy = this.#policy(p, v, retryPolicyKeys);
          if (policy === null) continue;
          this.#checkKey(p, group, route);
          modelGroupRetryPolicy.set(group, policy);
        }
      }
    }
    const allowedFailsPolicy: AllowedFailsPolicy | null = this.#policy('router_settings.allowed_fails_policy', get(router, 'allowed_fails_policy'), allowedFailsPolicyKeys);

    const ctPath = 'router_settings.cooldown_time';
    const cooldownS = this.#number(ctPath, get(router, 'cooldown_time'), rules.nonNegativeSeconds);
    if (cooldownS === 0) {
      this.#warnings.push(`${this.#at(ctPath)}: 0 disables cooldowns in Switchyard (LiteLLM reads 0 as its 5 s default; disable_cooldowns: true says the same thing plainly)`);
    }
    const retryAfterS = this.#number('router_settings.retry_after', get(router, 'retry_after'), rules.nonNegativeSeconds);

    return {
      numRetries,
      retryPolicy,
      modelGroupRetryPolicy,
      allowedFails,
      allowedFailsPolicy,
      cooldownTimeMs: cooldownS === null ? DEFAULT_COOLDOWN_MS : Math.round(cooldownS * 1000),
      disableCooldowns: this.#boolean('router_settings.disable_cooldowns', get(router, 'disable_cooldowns')),
      fallbacks: this.#fallbackList('fallbacks', router, litellm, route) ?? new Map<string, readonly FallbackEntry[]>(),
      contextWindowFallbacks: this.#fallbackList('context_window_fallbacks', router, litellm, route),
      contentPolicyFallbacks: this.#fallbackList('content_policy_fallbacks', router, litellm, route),
      defaultFallbacks: this.#defaultFallbacks(router, litellm, route),
      maxFallbacks,
      retryAfterMs: retryAfterS === null ? 0 : Math.round(retryAfterS * 1000),
      numRetriesPerRequest,
    };
  }

  /** A number router_settings and litellm_settings may both set: router first, as LiteLLM. */
  #preferRouter(key: string, router: JsonObject, litellm: JsonObject, rule: NumberRule): number | null {
    const r = this.#number(`router_settings.${key}`, get(router, key), rule);
    const l = this.#number(`litellm_settings.${key}`, get(litellm, key), rule);
    if (r !== null && l !== null && r !== l) {
      this.#warnings.push(`${this.#at(`litellm_settings.${key}`)}: ignored, router_settings.${key} (${r}) is set and wins, as in LiteLLM`);
    }
    return r ?? l;
  }

  /**
   * `retry_policy` / `allowed_fails_policy`: counts per error class. LiteLLM builds a pydantic
   * model from the mapping, which drops unknown keys silently; a typo there is worth a warning.
   */
  #policy<K extends string>(path: string, v: JsonValue | undefined, keys: readonly K[]): Partial<Record<K, number>> | null {
    if (isUnset(v)) return null;
    if (!isObject(v)) {
      this.#problem(path, `must be a mapping such as {${keys[0]}: 2}, got ${this.#got(path, v)}`);
      return null;
    }
    const out: Partial<Record<K, number>> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = joinKey(path, k);
      const known = keys.find((name) => name === k);
      if (known === undefined) {
        const hint = closeKey(k, keys);
        this.#warnings.push(`${this.#at(p)}: unknown key${hint !== null ? `; did you mean "${hint}"?` : ` (expected one of ${keys.join(', ')})`}; ignored`);
        continue;
      }
      const n = this.#number(p, x, rules.count);
      if (n !== null) out[known] = n;
    }
    return out;
  }

  /**
   * `fallbacks`, `context_window_fallbacks`, `content_policy_fallbacks`: router_settings unless
   * empty, else litellm_settings (LiteLLM: `router_value or litellm.value`); null when neither
   * has entries. Both are validated whichever wins.
   */
  #fallbackList(key: string, router: JsonObject, litellm: JsonObject, route: NameCheck): FallbackMap | null {
    const sections = [['router_settings', router], ['litellm_settings', litellm]] as const;
    let chosen: { path: string; map: FallbackMap; raw: JsonValue[] } | null = null;
    for (const [name, obj] of sections) {
      const path = `${name}.${key}`;
      const raw = get(obj, key);
      const parsed = parseFallbacks(raw, path);
      for (const p of parsed.problems) this.#problem(p.path, p.message);
      for (const w of parsed.warnings) this.#warnings.push(`${this.#at(w.path)}: ${w.message}`);
      if (!Array.isArray(raw) || raw.length === 0 || parsed.problems.length > 0) continue;
      if (chosen === null) chosen = { path, map: parsed.map, raw };
      else this.#warnings.push(`${this.#at(path)}: ignored, ${chosen.path} is set and wins, as in LiteLLM`);
    }
    if (chosen === null) return null;
    chosen.raw.forEach((item, i) => {
      if (!isObject(item)) return;
      for (const [group, targets] of Object.entries(item)) {
        const p = joinKey(joinIndex(chosen.path, i), group);
        if (group !== '*') this.#checkKey(p, group, route);
        if (Array.isArray(targets)) targets.forEach((t, j) => typeof t === 'string' && this.#checkTarget(joinIndex(p, j), t, route));
      }
    });
    return chosen.map;
  }

  /** `default_fallbacks: ["g"]`: a `{"*": ["g"]}` entry of the general fallbacks (router_settings or litellm_settings). */
  #defaultFallbacks(router: JsonObject, litellm: JsonObject, route: NameCheck): readonly string[] {
    let chosen: { path: string; names: string[] } | null = null;
    for (const [name, obj] of [['router_settings', router], ['litellm_settings', litellm]] as const) {
      const path = `${name}.default_fallbacks`;
      const raw = get(obj, 'default_fallbacks');
      if (isUnset(raw)) continue;
      if (!Array.isArray(raw)) {
        this.#problem(path, `must be a list of model group names, e.g. [${JSON.stringify(typeof raw === 'string' ? raw : 'gpt-4o-mini')}], got ${this.#got(path, raw)}`);
        continue;
      }
      const names: string[] = [];
      raw.forEach((v, i) => {
        const p = joinIndex(path, i);
        if (typeof v === 'string' && v.trim() !== '') names.push(v);
        else this.#problem(p, `must be a model group name, got ${this.#got(p, v)}`);
      });
      if (names.length === 0 || names.length !== raw.length) continue;
      if (chosen === null) chosen = { path, names };
      else this.#warnings.push(`${this.#at(path)}: ignored, ${chosen.path} is set and wins, as in LiteLLM`);
    }
    if (chosen === null) return [];
    chosen.names.forEach((n, i) => this.#checkTarget(joinIndex(chosen.path, i), n, route));
    return chosen.names;
  }

  /**
   * What a fallback target may name: anything a request's `model` resolves to (model group,
   * alias, deployment id, a name a wildcard group serves, a deployment's litellm_params.model).
   */
  #nameChecker(groups: ReadonlyMap<string, unknown>, names: ModelNames, aliases: ReadonlyMap<string, ModelGroupAlias>): NameCheck {
    return {
      groups: [...groups.keys(), ...aliases.keys()],
      hasWildcards: names.hasWildcards,
      resolve: (name) => (names.resolve(name) !== null ? 'ok' : this.#entryNames.has(name) ? 'skipped' : 'unknown'),
    };
  }

  /** LiteLLM only finds out when the fallback runs; a warning at load says it sooner without refusing the config. */
  #checkTarget(path: string, name: string, route: NameCheck): void {
    const r = route.resolve(name);
    if (r === 'ok') return;
    if (r === 'skipped') {
      this.#warnings.push(`${this.#at(path)}: fallback "${name}" is a group whose deployments were all skipped; falling back to it will fail`);
      return;
    }
    const close = closeName(name, route.groups);
    this.#warnings.push(`${this.#at(path)}: fallback "${name}" is not a model group, alias or deployment id; falling back to it will fail${close !== null ? `; did you mean "${close}"?` : ''}`);
  }

  /** A key that names no group never matches (unless a wildcard group may serve names like it). */
  #checkKey(path: string, name: string, route: NameCheck): void {
    if (route.hasWildcards || route.resolve(name) !== 'unknown') return;
    const close = closeName(name, route.groups);
    this.#warnings.push(`${this.#at(path)}: "${name}" is not a model group or alias, so this entry never applies${close !== null ? `; did you mean "${close}"?` : ''}`);
  }

  // --- deployments ----------------------------------------------------------------------

  #deployments(raw: JsonValue | undefined, defaults: Defaults): DeploymentConfig[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) {
      this.#problem('model_list', `must be a list of deployments, got ${kindOf(raw)}`);
      return [];
    }
    // A mock deployment answers in-process, so its credentials are never read.
    const mocked = new Set<string>();
    raw.forEach((entry, i) => {
      const lp = isObject(entry) ? get(entry, 'litellm_params') : undefined;
      if (isObject(lp) && !isUnset(get(lp, 'mock_response'))) mocked.add(joinKey(joinIndex('model_list', i), 'litellm_params'));
    });
    const resolved = this.#resolve(raw, 'model_list', (refPath) => {
      const m = /^(model_list\[\d+\]\.litellm_params)\.([^.[]+)/.exec(refPath);
      return m !== null && mocked.has(m[1]!) && credentialParams.has(m[2]!);
    });
    if (!Array.isArray(resolved)) return [];
    const out: DeploymentConfig[] = [];
    const byId = new Map<string, number>();
    resolved.forEach((entry, i) => {
      const name = isObject(entry) ? get(entry, 'model_name') : undefined;
      if (typeof name === 'string' && name !== '') this.#entryNames.add(name);
      const d = this.#deployment(entry, i, defaults);
      if (d === null) return;
      const first = byId.get(d.id);
      // LiteLLM keys cooldowns and usage by id, so equal ids share that state; allowed, but rarely meant.
      if (first !== undefined) {
        this.#warnings.push(`model_list[${i}] (${d.group}): id "${d.id}" is also used by model_list[${first}]; the two share routing state, as in LiteLLM`);
      } else byId.set(d.id, i);
      out.push(d);
    });
    return out;
  }

  #deployment(entry: JsonValue, i: number, defaults: Defaults): DeploymentConfig | null {
    const path = joinIndex('model_list', i);
    if (!isObject(entry)) {
      this.#problem(path, `must be a mapping with model_name and litellm_params, got ${kindOf(entry)}`);
      return null;
    }
    const namePath = joinKey(path, 'model_name');
    const lpPath = joinKey(path, 'litellm_params');
    const miPath = joinKey(path, 'model_info');
    const group = this.#requiredString(namePath, get(entry, 'model_name'));
    const lpRaw = get(entry, 'litellm_params');
    if (!isObject(lpRaw)) {
      this.#problem(lpPath, lpRaw === undefined || lpRaw === null ? 'is required (a mapping with at least `model`)' : `must be a mapping, got ${kindOf(lpRaw)}`);
      return null;
    }
    this.#collectSecrets(lpRaw, null);
    const model = this.#requiredString(joinKey(lpPath, 'model'), get(lpRaw, 'model'));
    const miRaw = get(entry, 'model_info');
    let mi: JsonObject = {};
    if (miRaw !== undefined && miRaw !== null) {
      if (isObject(miRaw)) mi = miRaw;
      else {
        this.#problem(miPath, `must be a mapping, got ${kindOf(miRaw)}`);
        return null;
      }
    }
    if (group === null || model === null) return null;

    // LiteLLM copies an entry's top-level rpm/tpm into litellm_params when unset there, before
    // hashing the id; the hash view marks Python floats so `30.0` hashes as LiteLLM does.
    const lp: JsonObject = { ...lpRaw };
    const hashView: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(lpRaw)) setOwn(hashView, k, this.#pyView(v, joinKey(lpPath, k)));
    for (const k of Object.keys(entry)) {
      const v = get(entry, k);
      if ((k === 'rpm' || k === 'tpm') && v !== undefined && v !== null && isUnset(get(lp, k))) {
        setOwn(lp, k, v);
        setOwn(hashView, k, this.#pyView(v, joinKey(path, k)));
      }
    }

    const label = `${path} (${group})`;
    const mockRaw = get(lp, 'mock_response');
    // A mock deployment answers in-process: its model string need not name a provider we speak.
    const upstream = isUnset(mockRaw) ? resolveProvider(model) : null;
    if (upstream !== null && !upstream.ok) {
      // The proxy builds its Router with ignore_invalid_deployments=True: bad entries are skipped, not fatal.
      this.#warnings.push(`${label}: ${upstream.reason}; skipped`);
      return null;
    }

    for (const k of Object.keys(lpRaw)) {
      if (usedParamKeys.has(k)) continue;
      const hint = suggest(k, [...usedParamKeys]);
      this.#warnings.push(`${this.#at(joinKey(lpPath, k))}: not used by Switchyard${hint !== null ? ` (did you mean "${hint}"?)` : ''}; ignored`);
    }

    const apiKeyParam = this.#credential(joinKey(lpPath, 'api_key'), get(lp, 'api_key'));
    const apiBaseParam = this.#credential(joinKey(lpPath, 'api_base'), get(lp, 'api_base'));
    const apiVersionParam = this.#apiVersion(joinKey(lpPath, 'api_version'), get(lp, 'api_version'));

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
      else this.#problem(mp, `must be a string or a mapping, got ${this.#got(mp, mockRaw)}`);
    } else if (upstream.family === 'azure') {
      provider = 'azure';
      upstreamModel = upstream.upstreamModel;
      // LiteLLM's Azure fallbacks (litellm/main.py, azure branch).
      const base = this.#base(lpPath, apiBaseParam, ['AZURE_API_BASE']);
      if (base === undefined) badBase = true;
      else if (base === null) {
        this.#warnings.push(`${label}: api_base is required for Azure (set litellm_params.api_base or AZURE_API_BASE); skipped`);
        return null;
      }
      apiBase = base === undefined ? null : normaliseApiBase(upstream.prefix, base);
      apiKey = apiKeyParam ?? this.#envValue('AZURE_OPENAI_API_KEY') ?? this.#envValue('AZURE_API_KEY');
      apiVersion = apiVersionParam ?? this.#envValue('AZURE_API_VERSION') ?? AZURE_DEFAULT_API_VERSION;
    } else {
      provider = upstream.family;
      upstreamModel = upstream.upstreamModel;
      const fam = compatibleFamilies[upstream.prefix];
      const base = this.#base(lpPath, apiBaseParam, fam?.baseEnv ?? []);
      if (base === undefined) badBase = true;
      const chosen = base === undefined ? null : (base ?? fam?.defaultBase ?? null);
      if (chosen === null && !badBase) {
        const envHint = fam && fam.baseEnv.length > 0 ? ` or ${fam.baseEnv.join(' / ')}` : '';
        this.#warnings.push(`${label}: api_base is required for provider "${upstream.prefix}" (set litellm_params.api_base${envHint}); skipped`);
        return null;
      }
      apiBase = chosen === null ? null : normaliseApiBase(upstream.prefix, chosen);
      apiKey = apiKeyParam ?? firstSet((fam?.keyEnv ?? []).map((n) => this.#envValue(n)));
    }
    const extraHeaders = this.#extraHeaders(lpPath, lp);
    const basicAuth = this.#userinfo(lpPath, provider, apiBase, apiKeyParam, extraHeaders);
    if (basicAuth !== null) {
      apiBase = basicAuth.base;
      // The Bearer of a key LiteLLM would read from the environment gives way to the explicit user-info.
      if (provider !== 'azure') apiKey = null;
    }
    if (apiKey !== null) this.#addSecret(apiKey);

    const rpm = this.#firstNumber([[path, entry, 'rpm'], [lpPath, lpRaw, 'rpm'], [miPath, mi, 'rpm']], rules.count);
    const tpm = this.#firstNumber([[path, entry, 'tpm'], [lpPath, lpRaw, 'tpm'], [miPath, mi, 'tpm']], rules.count);
    const weight = this.#firstNumber([[lpPath, lp, 'weight'], [miPath, mi, 'weight']], rules.weight);
    const order = this.#firstNumber([[lpPath, lp, 'order'], [miPath, mi, 'order']], rules.integer);
    const maxParallelRequests = this.#firstNumber([[lpPath, lp, 'max_parallel_requests'], [miPath, mi, 'max_parallel_requests']], rules.positiveCount);
    // LiteLLM's _get_non_stream_timeout reads the deployment's `timeout`, then its `request_timeout`.
    const timeoutS = this.#firstNumber([[lpPath, lp, 'timeout'], [lpPath, lp, 'request_timeout'], [miPath, mi, 'timeout']], rules.seconds)
      ?? defaults.timeoutS;
    // _get_stream_timeout: deployment → router → else the non-stream chain.
    const streamTimeoutS = this.#firstNumber([[lpPath, lp, 'stream_timeout'], [miPath, mi, 'stream_timeout']], rules.seconds)
      ?? defaults.streamTimeoutS ?? timeoutS;

    // LiteLLM reads both from litellm_params only (a request's own value beats cooldown_time).
    const numRetries = this.#number(joinKey(lpPath, 'num_retries'), get(lp, 'num_retries'), rules.count);
    const cooldownTimeS = this.#number(joinKey(lpPath, 'cooldown_time'), get(lp, 'cooldown_time'), rules.nonNegativeSeconds);

    const id = this.#id(joinKey(miPath, 'id'), get(mi, 'id'), group, hashView);
    if (id === null || badBase) return null;
    const modelInfo: JsonObject = { ...mi };
    delete modelInfo.id;

    return {
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
      bodyDefaults: this.#bodyDefaults(lpPath, lp),
      extraHeaders,
      basicAuth: basicAuth?.authorization ?? null,
      costPerToken: deploymentCostPerToken({ litellmParams: lp, modelInfo, upstreamModel }),
      maxInputTokens: deploymentMaxInputTokens({ litellmParams: lp, modelInfo, upstreamModel, provider }),
      modelInfo,
      litellmParams: lp,
    };
  }

  /**
   * `api_base: http://user:pw@host/v1`: the user-info is cut from the URL (it is shown in
   * headers, /model/info, /health) and sent as `Authorization: Basic` instead, as httpx (and so
   * LiteLLM) would. A deployment whose `api_key` or `extra_headers` also sets Authorization
   * is refused: an upstream reads one of them. null: the base carries no user-info, or it is refused.
   */
  #userinfo(
    lpPath: string, provider: ProviderFamily, apiBase: string | null, apiKeyParam: string | null, extraHeaders: Readonly<Record<string, string>>,
  ): ReturnType<typeof splitApiBase> {
    const split = apiBase === null ? null : splitApiBase(apiBase);
    if (split === null) return null;
    for (const s of urlSecrets(apiBase!)) this.#addPassword(s);
    this.#addPassword(split.authorization);
    if (provider === 'mock') return split;
    const path = joinKey(lpPath, 'api_base');
    const why = 'has a user name and password, which Switchyard sends as Authorization: Basic';
    if (provider !== 'azure' && apiKeyParam !== null) {
      this.#problem(path, `${why}, and api_key is sent as Authorization: Bearer; an upstream reads one of them, so keep one (put the key in api_key, or the credentials in the URL)`);
      return null;
    }
    if (Object.keys(extraHeaders).some((h) => h.toLowerCase() === 'authorization')) {
      this.#problem(path, `${why}, and extra_headers sets Authorization too; keep one of them`);
      return null;
    }
    return split;
  }

  #id(path: string, raw: JsonValue | undefined, group: string, hashView: Record<string, unknown>): string | null {
    if (raw === undefined || raw === null) return deploymentId(group, hashView);
    if (typeof raw === 'string' && raw !== '') return raw;
    // LiteLLM's ModelInfo stringifies int ids (`id: 1` → "1").
    if (typeof raw === 'number' && Number.isFinite(raw)) return pyStr(this.#pyView(raw, path));
    this.#problem(path, `must be a non-empty string or a number, got ${this.#got(path, raw)}`);
    return null;
  }

  /**
   * The base URL from `api_base`, else from the first set variable of `envNames`.
   * null: none given; undefined: the one given is not a URL (a problem is recorded).
   */
  #base(lpPath: string, param: string | null, envNames: readonly string[]): string | null | undefined {
    const path = joinKey(lpPath, 'api_base');
    if (param !== null) {
      if (isHttpUrl(param)) return param;
      // Shown without user-info: a value cut short for the message could keep part of a password.
      this.#problem(path, `must be an http:// or https:// URL, got ${this.#got(path, splitApiBase(param)?.base ?? param)}`);
      return undefined;
    }
    for (const name of envNames) {
      const v = this.#envValue(name);
      if (v === null) continue;
      if (isHttpUrl(v)) return v;
      this.#problem(path, `is not set, and environment variable ${name} is not an http:// or https:// URL`);
      return undefined;
    }
    return null;
  }

  /** `api_key` / `api_base`: a string; empty means not given (LiteLLM treats "" as falsy). */
  #credential(path: string, v: JsonValue | undefined): string | null {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v === 'string') return v;
    this.#problem(path, `must be a string, got ${this.#envRefs.has(path) ? this.#got(path, v) : kindOf(v)}`);
    return null;
  }

  #apiVersion(path: string, v: JsonValue | undefined): string | null {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return pyStr(this.#pyView(v, path));
    this.#problem(path, `must be a string such as "2024-10-21", got ${this.#got(path, v)}`);
    return null;
  }

  #bodyDefaults(lpPath: string, lp: JsonObject): JsonObject | null {
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
      if (!isObject(extra)) this.#problem(path, `must be a mapping, got ${kindOf(extra)}`);
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

  #extraHeaders(lpPath: string, lp: JsonObject): Record<string, string> {
    const headers: Record<string, string> = {};
    const ehPath = joinKey(lpPath, 'extra_headers');
    const eh = get(lp, 'extra_headers');
    if (!isUnset(eh)) {
      if (!isObject(eh)) this.#problem(ehPath, `must be a mapping of header names to values, got ${kindOf(eh)}`);
      else {
        for (const [name, v] of Object.entries(eh)) {
          const hp = joinKey(ehPath, name);
          if (v === null) continue;
          if (!headerName.test(name)) {
            this.#problem(hp, 'is not a valid HTTP header name');
            continue;
          }
          if (typeof v === 'object') {
            this.#problem(hp, `must be a string, got ${kindOf(v)}`);
            continue;
          }
          const text = typeof v === 'string' ? v : String(v);
          if (/[\r\n\0]/.test(text)) {
            this.#problem(hp, 'must not contain line breaks or NUL');
            continue;
          }
          // Every extra header value is a secret (credentials travel under any header name).
          this.#addSecret(text);
          setOwn(headers, name, text);
        }
      }
    }
    const orgPath = joinKey(lpPath, 'organization');
    let org = get(lp, 'organization');
    if (Array.isArray(org)) {
      // LiteLLM creates one deployment per organization; we do not (yet).
      const first = org.find((o): o is string => typeof o === 'string' && o !== '');
      this.#warnings.push(`${this.#at(orgPath)}: a list of organizations is not implemented yet; using only the first`);
      org = first ?? null;
    }
    if (!isUnset(org) && org !== '') {
      if (typeof org !== 'string') this.#problem(orgPath, `must be a string, got ${this.#got(orgPath, org)}`);
      else if (/[\r\n\0]/.test(org)) this.#problem(orgPath, 'must not contain line breaks or NUL');
      else if (!Object.keys(headers).some((h) => h.toLowerCase() === 'openai-organization')) headers['OpenAI-Organization'] = org;
    }
    return headers;
  }

  // --- helpers --------------------------------------------------------------------------

  #requiredString(path: string, v: JsonValue | undefined): string | null {
    if (typeof v === 'string' && v !== '') return v;
    this.#problem(path, v === undefined || (v === null && !this.#envRefs.has(path)) ? 'is required' : `must be a non-empty string, got ${this.#got(path, v)}`);
    return null;
  }

  /** Validates every place the field is written; the first valid one wins. */
  #firstNumber(sources: readonly Source[], rule: NumberRule): number | null {
    let found: number | null = null;
    for (const [at, obj, key] of sources) {
      const n = this.#number(joinKey(at, key), get(obj, key), rule);
      if (found === null) found = n;
    }
    return found;
  }

  /**
   * Numbers may be written as numeric strings ("300"), as LiteLLM casts them. A duration
   * longer than a timer can hold is clamped to MAX_TIMER_MS with a warning (setTimeout would
   * fire at once: every call a 408, an instant shutdown).
   */
  #number(path: string, v: JsonValue | undefined, rule: NumberRule): number | null {
    if (v === undefined || v === null) return null;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? parseNumeric(v) : undefined;
    if (n !== undefined && Number.isFinite(n) && rule.ok(n)) {
      if ((rule === rules.seconds || rule === rules.nonNegativeSeconds) && n > MAX_TIMER_S) {
        this.#warnings.push(`${this.#at(path)}: ${n} s is longer than a timer can hold; clamped to ${MAX_TIMER_S} s (about 24.8 days)`);
        return MAX_TIMER_S;
      }
      return n;
    }
    this.#problem(path, `must be ${rule.what}, got ${this.#got(path, v)}`);
    return null;
  }

  /** `quiet(path)`: an unset variable at that path needs no warning (it is never used). */
  #resolve(value: JsonValue, path: string, quiet: (refPath: string) => boolean = () => false): JsonValue {
    const refs: EnvRef[] = [];
    const out = resolveEnvRefs(value, path, (name) => this.#env[name], refs);
    for (const ref of refs) {
      this.#envRefs.set(ref.path, ref.name);
      if (!ref.isSet && !quiet(ref.path)) this.#warnings.push(`${this.#at(ref.path)}: environment variable ${ref.name} is not set; using null`);
    }
    return out;
  }

  #envValue(name: string): string | null {
    const v = this.#env[name];
    return v === undefined || v === '' ? null : v;
  }

  /** A value as LiteLLM's Python sees it, for the id hash: integral YAML floats marked as such. */
  #pyView(v: JsonValue, path: string): unknown {
    if (typeof v === 'number') return this.src.floatPaths.has(path) ? new PyFloat(v) : v;
    if (Array.isArray(v)) return v.map((x, i) => this.#pyView(x, joinIndex(path, i)));
    if (isObject(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) setOwn(out, k, this.#pyView(x, joinKey(path, k)));
      return out;
    }
    return v;
  }

  /** Describes a value for a message. Values that came from the environment are never printed. */
  #got(path: string, v: JsonValue | undefined): string {
    const name = this.#envRefs.get(path);
    if (name !== undefined) return v === null ? `environment variable ${name}, which is not set` : `the value of environment variable ${name}`;
    if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return kindOf(v);
  }

  /** What a secret is is decided in src/secrets.ts; in a header map every value is one. */
  #collectSecrets(v: JsonValue, key: string | null, inHeaderMap = false): void {
    if (typeof v === 'string') {
      if (inHeaderMap || (key !== null && isSecretName(key))) this.#addSecret(v);
      else if (key === 'api_base' || /^https?:\/\/[^/?#]*@/i.test(v)) for (const s of urlSecrets(v)) this.#addPassword(s);
    } else if (Array.isArray(v)) {
      for (const x of v) this.#collectSecrets(x, key, inHeaderMap);
    } else if (isObject(v)) {
      const headers = inHeaderMap || (key !== null && isHeaderMap(key));
      for (const [k, x] of Object.entries(v)) this.#collectSecrets(x, k, headers);
    }
  }

  /** Numbers and booleans under key-like names (`max_tokens: "20"`) are not secrets. */
  #addSecret(s: string): void {
    if (isSecretValue(s)) this.#secrets.add(s);
  }


  #at(path: string): string {
    const line = lineOf(this.src.lines, path);
    return line === null ? path : `${path} (line ${line})`;
  }

  #problem(path: string, message: string): void {
    this.#problems.push({ path, line: path === '' ? null : lineOf(this.src.lines, path), message });
  }
}

function get(obj: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // A key named `__proto__` must stay an own data property.
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isUnset(v: JsonValue | undefined): v is null | undefined {
  return v === undefined || v === null;
}

function kindOf(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  return 'a boolean';
}

function firstSet(values: readonly (string | null)[]): string | null {
  for (const v of values) if (v !== null) return v;
  return null;
}

function parseNumeric(s: string): number | undefined {
  // Python's int()/float() accept `_` between digits, and so does LiteLLM's casting.
  const t = s.trim().replace(/(?<=\d)_(?=\d)/g, '');
  if (!/^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

type RedisUrl =
  | { ok: true; cluster: boolean; tls: boolean; nodes: { host: string; port: number }[]; username: string | null; password: string | null; hasQuery: boolean }
  | { ok: false; reason: string };

/**
 * `redis://`, `rediss://` (TLS), and `redis+cluster://` / `rediss+cluster://` with a
 * comma-separated list of nodes (`redis+cluster://a:7000,b:7001`). Userinfo as WHATWG URL and
 * ioredis read it: `user:password`, `:password`, or a user name alone. Reasons never hold the URL.
 */
function parseRedisUrl(s: string): RedisUrl {
  const m = /^(rediss?)(\+cluster)?:\/\/(.*)$/is.exec(s);
  if (m === null) return { ok: false, reason: 'must be a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL' };
  const tls = (m[1] ?? '').toLowerCase() === 'rediss';
  const cluster = m[2] !== undefined;
  const rest = m[3] ?? '';
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  const tail = end === -1 ? '' : rest.slice(end);
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? null : authority.slice(0, at);
  const hostList = authority.slice(at + 1);

  let username: string | null = null;
  let password: string | null = null;
  if (userinfo !== null) {
    const colon = userinfo.indexOf(':');
    try {
      username = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
      password = colon === -1 ? null : decodeURIComponent(userinfo.slice(colon + 1));
    } catch {
      return { ok: false, reason: 'has invalid %-encoding in its user name or password' };
    }
    if (username === '') username = null;
    if (password === '') password = null;
  }

  const items = hostList.split(',');
  if (!cluster && items.length > 1) return { ok: false, reason: 'lists several hosts; a cluster URL starts with redis+cluster:// or rediss+cluster://' };
  const nodes: { host: string; port: number }[] = [];
  for (const item of items) {
    const node = parseHostPort(item);
    if (typeof node === 'string') return { ok: false, reason: node };
    nodes.push(node);
  }

  const q = tail.search(/[?#]/);
  const path = q === -1 ? tail : tail.slice(0, q);
  const db = /^\/(\d*)$/.exec(path);
  if (path !== '' && db === null) return { ok: false, reason: 'has a path that is not a database number (such as /0)' };
  if (cluster && db !== null && db[1] !== '' && Number(db[1]) !== 0) return { ok: false, reason: 'selects a database, but Redis Cluster has only database 0' };
  if (!cluster) {
    // ioredis parses single-node URLs with WHATWG URL: what it refuses, refuse here.
    try {
      new URL(s);
    } catch {
      return { ok: false, reason: 'is not a valid URL' };
    }
  }
  return { ok: true, cluster, tls, nodes, username, password, hasQuery: q !== -1 && tail[q] === '?' };
}

/** `host`, `host:port`, `[v6]:port` → a node (port 6379 when absent), or the reason it is not one. */
function parseHostPort(item: string): { host: string; port: number } | string {
  if (item === '') return 'has no host';
  const port = /:(\d*)$/.exec(item);
  if (port !== null && !item.endsWith(']') && port[1] !== '' && !rules.port.ok(Number(port[1]))) return `has port ${port[1]}; a port must be ${rules.port.what}`;
  let u: URL;
  try {
    u = new URL(`redis://${item}`);
  } catch {
    return 'has an invalid host or port';
  }
  if (u.hostname === '' || u.username !== '' || u.password !== '' || u.pathname !== '' || u.search !== '' || u.hash !== '') return 'has an invalid host or port';
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port === '' ? DEFAULT_REDIS_PORT : Number(u.port) };
}

/** `redis://user:secret@host` → `redis://user:***@host`, for messages. Over-masks rather than under. */
function redactUrl(s: string): string {
  const scheme = s.indexOf('://');
  if (scheme === -1) return s.includes('@') ? '***' : s;
  const rest = s.slice(scheme + 3);
  const at = rest.lastIndexOf('@');
  if (at === -1) return s;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  return `${s.slice(0, scheme + 3)}${colon === -1 ? '***' : `${userinfo.slice(0, colon)}:***`}${rest.slice(at)}`;
}

function shorten(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function toMs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1000));
}

/** A did-you-mean for a name: only one a few edits away relative to its length, so short names get no wild guesses. */
function closeName(input: string, names: readonly string[]): string | null {
  const s = suggest(input, names);
  if (s === null) return null;
  const d = editDistance(input.toLowerCase(), s.toLowerCase());
  return d <= Math.max(1, Math.floor(Math.min(input.length, s.length) / 3)) ? s : null;
}

/** A did-you-mean for a CamelCase key (`RateLimitErrorRetry` → `RateLimitErrorRetries`): case-insensitive, at most 3 edits. */
function closeKey(input: string, keys: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 4;
  for (const k of keys) {
    const d = editDistance(input.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Closest known name: equal once `_`→`-` and case are normalised, else within edit distance 3. */
function suggest(input: string, names: readonly string[]): string | null {
  const norm = (s: string): string => s.trim().toLowerCase().replace(/[_\s]+/g, '-');
  const n = norm(input);
  const exact = names.find((name) => norm(name) === n);
  if (exact !== undefined) return exact;
  let best: string | null = null;
  let bestDistance = 4;
  for (const name of names) {
    const d = editDistance(n, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** Recursively freezes; Maps are also made to throw on mutation, which Object.freeze alone does not prevent. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      deepFreeze(k);
      deepFreeze(v);
    }
    const readonly = (): never => {
      throw new TypeError('the loaded config is frozen');
    };
    Object.defineProperties(value, { set: { value: readonly }, delete: { value: readonly }, clear: { value: readonly } });
  } else {
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return Object.freeze(value);
}
