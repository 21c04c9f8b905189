/**
 * The frozen, validated configuration the rest of the proxy runs on.
 * Built once by `loadConfig` (config/load.ts); never mutated afterwards.
 */
import type { Endpoint, ProviderFamily } from '../providers/index.js';
import type { StrategyArgs, StrategyName } from '../router/strategies/index.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A `mock_response` deployment answers in-process instead of calling an upstream. */
export type MockResponse = string | JsonObject;

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
  /** Base URL without a trailing slash. A mock deployment keeps the base it would call (for headers); null when none is known. */
  readonly apiBase: string | null;
  readonly apiKey: string | null;
  readonly apiVersion: string | null;
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly weight: number | null;
  /** Priority tier (`order`, lower first); set by the loader, optional so hand-built test deployments need not. */
  readonly order?: number | null;
  /** `max_parallel_requests`: per-deployment concurrency cap; set by the loader, optional like `order`. */
  readonly maxParallelRequests?: number | null;
  /** Non-stream total timeout, ms (deployment `timeout`, else the router/litellm default). */
  readonly timeoutMs: number;
  /** Streams: bound on the wait for the first byte and on each gap between chunks, ms. */
  readonly streamTimeoutMs: number;
  readonly mockResponse: MockResponse | null;
  /** OpenAI body parameters given in `litellm_params` (temperature, max_tokens, ...): defaults the request may override. */
  readonly bodyDefaults: JsonObject | null;
  /** Extra upstream headers (`litellm_params.extra_headers`, `organization`). */
  readonly extraHeaders: Readonly<Record<string, string>>;
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
  /** `default_max_parallel_requests`: concurrency cap for deployments without their own; null = none. */
  readonly defaultMaxParallelRequests: number | null;
  /** The whole `router_settings` mapping as resolved, for settings later code reads. */
  readonly raw: JsonObject;
}

export interface ServerSettings {
  readonly masterKey: string | null;
  /** `general_settings.max_request_size_mb` (LiteLLM's key), default 32 MiB. */
  readonly maxRequestBodyBytes: number;
  /** How long shutdown waits for in-flight requests and streams, ms. */
  readonly shutdownGraceMs: number;
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
  /** `router_settings.model_group_alias`, in config order; every target is known to route. */
  readonly aliases: ReadonlyMap<string, ModelGroupAlias>;
  readonly router: RouterSettings;
  readonly server: ServerSettings;
  /** `litellm_settings` as resolved. */
  readonly litellmSettings: JsonObject;
  /** `general_settings` as resolved. */
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
