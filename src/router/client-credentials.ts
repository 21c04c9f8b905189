/**
 * A request's own credentials (LiteLLM's client-side credentials, `clientside_credential_keys`):
 * a body `api_key`, and `api_base` / `base_url` where the config allows them. Read once per
 * request; a request with none pays one property check per key.
 *
 * `api_key` alone is always accepted, as in LiteLLM: it only replaces our key for this call.
 * An endpoint is accepted only when the config opts in (LiteLLM's `is_request_body_safe`):
 * `general_settings.allow_client_side_credentials: true`, or the group's
 * `configurable_clientside_auth_params` (the union over its deployments) naming the param or
 * giving an `{api_base: <regex>}` the value matches whole. Otherwise the request is refused with
 * a 400 before any attempt, so nobody can point us, and our keys, at a host of their choosing.
 * The check runs for every group the request reaches (fallbacks too).
 */
import { createHash } from 'node:crypto';
import type { DeploymentConfig, ProxyConfig } from '../config/types.js';
import { deploymentId } from '../config/deployment-id.js';
import { ProxyError } from '../errors.js';
import { normaliseApiBase, resolveProvider } from '../providers/index.js';
import type { Secrets } from '../secrets.js';

export interface RequestCredentials {
  /** The client's key for this call; null = the deployment's own. */
  readonly apiKey: string | null;
  /** The client's base URL; null = the deployment's own. */
  readonly apiBase: string | null;
  /** The body key that carried `apiBase`. */
  readonly baseParam: 'api_base' | 'base_url' | null;
  /** The config's secrets and this request's key: the redactor for this request's error paths. */
  readonly secrets: Secrets;
  /** Names the credential set (a hash: never the key itself). */
  readonly fingerprint: string;
}

function invalid(message: string, param: string): ProxyError {
  return new ProxyError('INVALID_REQUEST', message, { param });
}

/** A base URL we may call: http(s), and no user-info (credentials travel in api_key). */
function checkBase(value: unknown, param: string): string | ProxyError {
  // The value is the client's and may carry a credential: messages never quote it.
  if (typeof value !== 'string' || value.trim() === '') return invalid(`${param} must be a non-empty string (an http or https URL).`, param);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return invalid(`${param} must be an absolute http or https URL.`, param);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return invalid(`${param} must be an http or https URL.`, param);
  if (u.username !== '' || u.password !== '') return invalid(`${param} must not carry a user name or password; send the key as api_key.`, param);
  return value;
}

/**
 * The request's credentials: null when it carries none; a 400 when one is malformed. `secrets`:
 * the config's redactor, which this request's key joins.
 */
export function readRequestCredentials(json: Readonly<Record<string, unknown>>, secrets: Secrets): RequestCredentials | null | ProxyError {
  const key = json.api_key;
  const base = json.api_base;
  const baseUrl = json.base_url;
  if ((key === undefined || key === null) && (base === undefined || base === null) && (baseUrl === undefined || baseUrl === null)) return null;
  let apiKey: string | null = null;
  if (key !== undefined && key !== null) {
    if (typeof key !== 'string' || key.trim() === '') return invalid('api_key must be a non-empty string.', 'api_key');
    apiKey = key;
  }
  let apiBase: string | null = null;
  let baseParam: RequestCredentials['baseParam'] = null;
  for (const [param, v] of [['api_base', base], ['base_url', baseUrl]] as const) {
    if (v === undefined || v === null) continue;
    const checked = checkBase(v, param);
    if (checked instanceof ProxyError) return checked;
    if (apiBase !== null && apiBase !== checked) return invalid('api_base and base_url name different URLs; send one of them.', 'api_base');
    if (apiBase === null) {
      apiBase = checked;
      baseParam = param;
    }
  }
  const fingerprint = createHash('sha256').update(`${apiKey ?? ''}\n${apiBase ?? ''}`).digest('hex');
  return { apiKey, apiBase, baseParam, secrets: apiKey === null ? secrets : secrets.with([apiKey]), fingerprint };
}

/** One group's opt-in: param names allowed with any value, and whole-value patterns for api_base. */
interface GroupRule {
  readonly names: ReadonlySet<string>;
  readonly exact: ReadonlySet<string>;
  readonly patterns: readonly RegExp[];
}

/** Which groups accept a request's own `api_base` / `base_url`, built once per config. */
export class ClientBaseRules {
  readonly #all: boolean;
  readonly #groups = new Map<string, GroupRule>();

  constructor(config: ProxyConfig) {
    this.#all = config.server.allowClientSideCredentials;
    for (const [group, deps] of config.groups) {
      const names = new Set<string>();
      const exact = new Set<string>();
      const patterns: RegExp[] = [];
      for (const d of deps) {
        const a = d.clientsideAuth;
        if (!a) continue;
        for (const n of a.params) names.add(n);
        for (const p of a.apiBasePatterns) {
          exact.add(p);
          patterns.push(new RegExp(`^(?:${p})$`));
        }
      }
      if (names.size > 0 || patterns.length > 0) this.#groups.set(group, { names, exact, patterns });
    }
  }

  /** Null when `group` may use the request's endpoint (or it gives none); else the 400 to answer. */
  check(group: string, creds: RequestCredentials): ProxyError | null {
    const param = creds.baseParam;
    const value = creds.apiBase;
    if (param === null || value === null || this.#all) return null;
    const rule = this.#groups.get(group);
    if (rule !== undefined) {
      if (rule.names.has(param)) return null;
      // LiteLLM compares only api_base with the {api_base: ...} items; base_url needs its name.
      if (param === 'api_base' && (rule.exact.has(value) || rule.patterns.some((re) => re.test(value)))) return null;
    }
    return invalid(
      `Rejected Request: ${param} is not allowed in request body for model group ${JSON.stringify(group)}. `
      + 'Allow it with general_settings.allow_client_side_credentials: true (every group), or with '
      + `litellm_params.configurable_clientside_auth_params on the group's deployments (["${param}"], or [{api_base: "<regex>"}] matching the whole URL).`,
      param,
    );
  }
}

/** Authorization headers of the config that must not travel with the client's key. */
const authHeaders = new Set(['authorization', 'api-key', 'x-api-key']);

/**
 * The deployment a configured one becomes for these credentials: the client's key and/or base,
 * everything else as configured, and its own id, LiteLLM's `_handle_clientside_credential`
 * hash of the group and the params with the credentials merged in. The configured key (and a
 * configured Authorization header) is never sent with the client's key; user-info of the
 * configured base never goes to the client's.
 */
export function credentialConfig(cfg: DeploymentConfig, creds: RequestCredentials): DeploymentConfig {
  const lp = { ...cfg.litellmParams };
  if (creds.apiKey !== null) lp.api_key = creds.apiKey;
  if (creds.apiBase !== null && creds.baseParam !== null) lp[creds.baseParam] = creds.apiBase;
  const named = resolveProvider(cfg.model);
  const apiBase = creds.apiBase === null ? cfg.apiBase : normaliseApiBase(named.ok ? named.prefix : '', creds.apiBase);
  let extraHeaders = cfg.extraHeaders;
  if (creds.apiKey !== null) {
    const kept: Record<string, string> = {};
    for (const [k, v] of Object.entries(cfg.extraHeaders)) if (!authHeaders.has(k.toLowerCase())) kept[k] = v;
    extraHeaders = kept;
  }
  return {
    ...cfg,
    id: deploymentId(cfg.group, lp),
    apiBase,
    apiKey: creds.apiKey ?? cfg.apiKey,
    extraHeaders,
    basicAuth: null,
    litellmParams: lp,
  };
}
