/**
 * The frozen, validated configuration the rest of the proxy runs on.
 * Built once by `loadConfig` (config/load.ts); never mutated afterwards.
 */
import type { Endpoint, ProviderFamily } from '../providers/index.js';
import type { MockResponse } from '../providers/mock.js';
import type { ClientsideAuth } from './clientside-auth.js';
import type { ModelNames } from './model-names.js';
import type { FallbackMap } from './fallbacks.js';
import type { AllowedFailsPolicy, RetryPolicy } from './policies.js';
import type { StrategyArgs, StrategyName } from './strategy-names.js';

export type { MockResponse } from '../providers/mock.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface DeploymentConfig {
  /** Stable across restarts and instances: `model_info.id`, else LiteLLM's hash of group + params. */
  readonly id: string;
  /** `model_name`: the public model-group name clients ask for. */
  readonly group: string;
  /** Position in `model_list`, for messages. */
  readonly index: number;
  /** `litellm_params.model` as written, e.g. `azure/gpt-4o-eu`. */
  readonly model: string;
  readonly provider: ProviderFamily;
  /** Model name sent upstream in the body (`gpt-4o` for `openai/gpt-4o`, the deployment for Azure). */
  readonly upstreamModel: string;
  /** Base URL without a trailing slash or user-info (that is in `basicAuth`). A mock deployment keeps the base it would call (for headers); null when none is known. */
  readonly apiBase: string | null;
  readonly apiKey: string | null;
  readonly apiVersion: string | null;
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly weight: number | null;
  /** Priority tier (`order`, lower first); set by the loader, optional so hand-built test deployments need not. */
  readonly order?: number | null;
  /**
   * Per-deployment concurrency cap as LiteLLM derives it: `max_parallel_requests`, else `rpm`,
   * else `max(1, int(tpm/1000*6))`, else `default_max_parallel_requests`; null = none.
   * Set by the loader (the final value), optional like `order`.
   */
  readonly maxParallelRequests?: number | null;
  /** `litellm_params.num_retries`: replaces the request/router retry count once this deployment fails; null = not set. */
  readonly numRetries?: number | null;
  /** `litellm_params.cooldown_time`, ms: beats the upstream's Retry-After and the router's; 0 = never cool this one. */
  readonly cooldownTimeMs?: number | null;
  /** Non-stream total timeout, ms (deployment `timeout`, else the router/litellm default). */
  readonly timeoutMs: number;
  /** Streams: bound on the wait for the first byte and on each gap between chunks, ms. */
  readonly streamTimeoutMs: number;
  readonly mockResponse: MockResponse | null;
  /** OpenAI body parameters given in `litellm_params` (temperature, max_tokens, ...): defaults the request may override. */
  readonly bodyDefaults: JsonObject | null;
  /** Extra upstream headers (`litellm_params.extra_headers`, `organization`). */
  readonly extraHeaders: Readonly<Record<string, string>>;
  /** `Authorization: Basic ...` made from the user-info of `api_base` (which `apiBase` no longer carries); null = none. */
  readonly basicAuth: string | null;
  /** `configurable_clientside_auth_params`: the endpoint params a request may set for this deployment's group; null/absent = none. */
  readonly clientsideAuth?: ClientsideAuth | null;
  /**
   * USD per token (input + output) for `cost-based-routing`: the deployment's own
   * `input_cost_per_token` / `output_cost_per_token`, else the model data (prices.ts), else LiteLLM's default.
   */
  readonly costPerToken: number;
  /** USD per prompt token: configured, else the model data (prices.ts); null = unknown. Set by the loader. */
  readonly inputCostPerToken?: number | null;
  /** USD per completion token, like `inputCostPerToken`. */
  readonly outputCostPerToken?: number | null;
  /** Context window for `enable_pre_call_checks`: `max_input_tokens`, else the model data (model-limits.ts; Azure by `base_model` only); null = unknown. */
  readonly maxInputTokens: number | null;
  /** `litellm_params.region_name` (e.g. `eu`), for a request's `allowed_model_region`; null = none. Set by the loader. */
  readonly regionName?: string | null;
  /** Whether it takes `response_format` (config/response-format.ts); set by the loader, absent = yes. */
  readonly servesResponseFormat?: boolean;
  /** `model_info` as written (free-form), without `id`. */
  readonly modelInfo: JsonObject;
  /** Every `litellm_params` key as resolved; holds secrets, never serialise it whole. */
  readonly litellmParams: JsonObject;
}

export interface RouterSettings {
  readonly routingStrategy: StrategyName;
  /** `routing_strategy_args` (latency-based: `lowest_latency_buffer`, `ttl` seconds). */
  readonly routingStrategyArgs: StrategyArgs;
  /** `enable_pre_call_checks`: skip deployments whose context window is too small for the prompt. */
  readonly enablePreCallChecks: boolean;
  /** `litellm_settings.drop_params`: the pre-call checks keep deployments that do not take `response_format`. */
  readonly dropParams?: boolean;
  /** `default_max_parallel_requests`: concurrency cap for deployments without their own; null = none. */
  readonly defaultMaxParallelRequests: number | null;
  /** The whole `router_settings` mapping as resolved. No code reads settings here: every one has a typed field. */
  readonly raw: JsonObject;
}

/**
 * Retries, fallbacks and cooldowns (router_settings, with litellm_settings as LiteLLM's
 * fallback where it has one). The decisions that use them are in router/policy.ts.
 */
export interface ReliabilitySettings {
  /** `num_retries`: router_settings → litellm_settings; null = LiteLLM's default (2). */
  readonly numRetries: number | null;
  /** `router_settings.retry_policy`: retries per error class. */
  readonly retryPolicy: RetryPolicy | null;
  /** `router_settings.model_group_retry_policy`: replaces `retryPolicy` for a group. */
  readonly modelGroupRetryPolicy: ReadonlyMap<string, RetryPolicy>;
  /** `allowed_fails`: router_settings → litellm_settings; set = the legacy allowed-fails cooldown rule. */
  readonly allowedFails: number | null;
  /** `router_settings.allowed_fails_policy`: failures tolerated per error class (legacy rule). */
  readonly allowedFailsPolicy: AllowedFailsPolicy | null;
  /**
   * `router_settings.cooldown_time`, ms, default 5 s; 0 disables cooldowns. (LiteLLM ignores
   * `litellm_settings.cooldown_time`, and so do we, with a warning.)
   */
  readonly cooldownTimeMs: number;
  /** `router_settings.disable_cooldowns`. */
  readonly disableCooldowns: boolean;
  /** `fallbacks`: router_settings → litellm_settings (a non-empty list wins, as LiteLLM's `or`). */
  readonly fallbacks: FallbackMap;
  /** `context_window_fallbacks`; null when neither section sets a non-empty list (then the general chain applies). */
  readonly contextWindowFallbacks: FallbackMap | null;
  /** `content_policy_fallbacks`; null when unset, like `contextWindowFallbacks`. */
  readonly contentPolicyFallbacks: FallbackMap | null;
  /** `default_fallbacks`: behave as a `{"*": [...]}` entry of the general fallbacks. */
  readonly defaultFallbacks: readonly string[];
  /** `max_fallbacks`: fallback groups tried per request, default 5. */
  readonly maxFallbacks: number;
  /** `router_settings.retry_after` (seconds in the config), ms: the least exponential backoff; default 0. */
  readonly retryAfterMs: number;
  /** `litellm_settings.num_retries_per_request`: cap on retries plus fallbacks per request; null = none. */
  readonly numRetriesPerRequest: number | null;
}

export interface ServerSettings {
  readonly masterKey: string | null;
  /** `general_settings.max_request_size_mb` (LiteLLM's key), default 32 MiB. */
  readonly maxRequestBodyBytes: number;
  /** How long shutdown waits for in-flight requests and streams, ms. */
  readonly shutdownGraceMs: number;
  /** `general_settings.background_health_checks`: probe every deployment on a timer and cool the failing ones. */
  readonly backgroundHealthChecks: boolean;
  /** `general_settings.health_check_interval` (seconds in the config), ms; default 300 s. */
  readonly healthCheckIntervalMs: number;
  /** `general_settings.allowed_origins` (ours): origins CORS allows; default `['*']`, every one (LiteLLM's behaviour). */
  readonly allowedOrigins: readonly string[];
  /** `litellm_settings.json_logs` (LiteLLM's): JSON log lines. */
  readonly jsonLogs: boolean;
  /** `litellm_settings.require_auth_for_metrics_endpoint` (LiteLLM's key): GET /metrics needs the master key; default public. */
  readonly requireAuthForMetrics: boolean;
  /** `general_settings.allow_client_side_credentials` (LiteLLM's key): a request may set `api_base`/`base_url` for any group. */
  readonly allowClientSideCredentials: boolean;
}

/**
 * Where instances share routing state (router_settings `redis_*` / `cache_kwargs`, else the
 * Redis of `litellm_settings.cache`, else `REDIS_URL` / `REDIS_HOST`). Holds a password: never
 * serialise it whole.
 */
export interface RedisSettings {
  /** ioredis single-node options, or cluster startup nodes. */
  readonly mode: 'single' | 'cluster';
  /**
   * The URL as written (`redis://` or `rediss://`, TLS), single mode only: a client may connect
   * with it (it can carry a database number and options) or with the fields below, which are
   * read from it. null when not given as a URL, and always in cluster mode.
   */
  readonly url: string | null;
  /** Single mode: the node (IPv6 without brackets). null in cluster mode. */
  readonly host: string | null;
  /** Single mode: the port, 6379 when not given. null in cluster mode. */
  readonly port: number | null;
  readonly password: string | null;
  readonly username: string | null;
  /** `rediss://`, or `router_settings.redis_ssl` / `cache_kwargs.ssl` / `REDIS_SSL` true. */
  readonly tls: boolean;
  /** Cluster mode: the nodes to discover the cluster from; empty in single mode. */
  readonly startupNodes: readonly { readonly host: string; readonly port: number }[];
  /** Key prefix; every key also carries a `{...}` hash tag so multi-key scripts work on Redis Cluster. */
  readonly namespace: string;
  /** How often an instance flushes its counters and reads cluster totals (ms). */
  readonly syncIntervalMs: number;
}

/** One `router_settings.model_group_alias` entry. */
export interface ModelGroupAlias {
  /**
   * The name the alias stands for, as written: a model group (wildcard groups included), or a
   * name LiteLLM would still route after rewriting the alias — one a wildcard group serves, a
   * deployment id, or a deployment's `litellm_params.model`. Aliases do not chain.
   */
  readonly group: string;
  /** Hidden aliases route but are not listed by /v1/models, /model/info or /model_group/info. */
  readonly hidden: boolean;
}

export interface ProxyConfig {
  /** File path the config came from, for messages. */
  readonly source: string;
  /** Deployments we can serve, in `model_list` order. */
  readonly deployments: readonly DeploymentConfig[];
  /** Model groups in order of first appearance. */
  readonly groups: ReadonlyMap<string, readonly DeploymentConfig[]>;
  /** `router_settings.model_group_alias`, in config order; every target is known to route (the others are dropped with a warning). */
  readonly aliases: ReadonlyMap<string, ModelGroupAlias>;
  /** Request `model` → model group, built once by the loader; the router and the server resolve through it. */
  readonly names: ModelNames;
  readonly router: RouterSettings;
  readonly reliability: ReliabilitySettings;
  readonly server: ServerSettings;
  /** Shared state across instances; null = everything stays in process. */
  readonly redis: RedisSettings | null;
  /** `litellm_settings` as resolved (like `router.raw`: read through the typed fields, never here). */
  readonly litellmSettings: JsonObject;
  /** `general_settings` as resolved (like `router.raw`: read through the typed fields, never here). */
  readonly generalSettings: JsonObject;
  /** One line per setting we parse but do not implement, per skipped deployment, per unset env var. */
  readonly warnings: readonly string[];
  /** Every secret value found in the config (api keys, master key), so logs can redact them. */
  readonly secrets: readonly string[];
}

export interface ConfigProblem {
  /** YAML path, e.g. `model_list[2].litellm_params.rpm`. */
  readonly path: string;
  readonly line: number | null;
  readonly message: string;
}

export type EndpointKind = Endpoint;
