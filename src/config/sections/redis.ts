/**
 * Where instances share routing state: router_settings `redis_*` with `cache_kwargs` merged
 * over them, else the Redis of `litellm_settings.cache`, else REDIS_URL / REDIS_HOST, each
 * source filled from the REDIS_* variables as LiteLLM's client does.
 */
import { pyStr } from '../deployment-id.js';
import { get, isObject, isUnset, kindOf, parseNumeric } from '../json.js';
import { rules, type ConfigReader, type Found, type NumberRule } from '../reader.js';
import { DEFAULT_REDIS_PORT, parseRedisUrl, redactUrl } from '../redis-url.js';
import type { JsonObject, RedisSettings } from '../types.js';
import { joinIndex, joinKey } from '../yaml-source.js';

const DEFAULT_REDIS_NAMESPACE = 'switchyard';
const DEFAULT_REDIS_SYNC_INTERVAL_MS = 10;
const MAX_REDIS_SYNC_INTERVAL_MS = 1000;
const syncIntervalRule: NumberRule = {
  what: `a positive number of milliseconds, at most ${MAX_REDIS_SYNC_INTERVAL_MS}`, ok: (n) => n > 0 && n <= MAX_REDIS_SYNC_INTERVAL_MS,
};
/** No braces: the sync layer wraps the namespace in a `{...}` Cluster hash tag itself. */
const redisNamespacePattern = /^[A-Za-z0-9_.:-]{1,64}$/;
/** `cache_kwargs` keys we read; LiteLLM passes the rest to redis-py, we ignore them with a warning. */
const cacheKwargsKeys = ['url', 'host', 'port', 'password', 'username', 'ssl', 'namespace', 'startup_nodes'];

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

/**
 * LiteLLM's Router builds its Redis client from `redis_url`, or `redis_host` + `redis_port`
 * (+ `redis_password`), with `cache_kwargs` merged over them, and the client fills unset
 * fields from REDIS_* variables. Without that, the proxy hands the router the Redis of
 * `litellm_settings.cache`. We then also take REDIS_URL or REDIS_HOST alone (LiteLLM would
 * not), and a host without a port means 6379. The first source that names a host, URL or
 * startup nodes wins; one that sets only a port or password is reported and skipped.
 */
export function readRedis(r: ConfigReader, router: JsonObject, litellm: JsonObject): RedisSettings | null {
  const rs = 'router_settings';
  const kw = 'router_settings.cache_kwargs';
  const kwargs = cacheKwargs(r, router);
  const merged = 'as in LiteLLM (cache_kwargs is merged over the redis_* settings)';
  const ours = 'redis_* settings win over cache_kwargs for Switchyard\'s own keys';
  const routerSource: RedisSource = {
    what: 'router_settings',
    url: r.pick([[kw, kwargs, 'url'], [rs, router, 'redis_url']], merged),
    host: r.pick([[kw, kwargs, 'host'], [rs, router, 'redis_host']], merged),
    port: r.pick([[kw, kwargs, 'port'], [rs, router, 'redis_port']], merged),
    password: r.pick([[kw, kwargs, 'password'], [rs, router, 'redis_password']], merged),
    username: r.pick([[kw, kwargs, 'username']], merged),
    nodes: r.pick([[rs, router, 'redis_startup_nodes'], [kw, kwargs, 'startup_nodes']], ours),
    ssl: r.optionalBoolean(`${rs}.redis_ssl`, get(router, 'redis_ssl')) === true || r.optionalBoolean(`${kw}.ssl`, get(kwargs, 'ssl')) === true,
    namespace: r.pick([[rs, router, 'redis_namespace'], [kw, kwargs, 'namespace']], ours),
  };
  // Validated whether or not Redis ends up configured: a typo should not wait for the day it is.
  const routerNamespace = routerSource.namespace === null ? null : redisNamespace(r, routerSource.namespace);
  const syncIntervalMs = r.number(`${rs}.redis_sync_interval_ms`, get(router, 'redis_sync_interval_ms'), syncIntervalRule)
    ?? DEFAULT_REDIS_SYNC_INTERVAL_MS;

  const sources: readonly (() => RedisSource | null)[] = [
    () => (hasConnection(routerSource) ? routerSource : null),
    () => cacheRedisSource(r, litellm),
    () => (r.envValue('REDIS_URL') !== null || r.envValue('REDIS_HOST') !== null ? envRedisSource : null),
  ];
  for (const next of sources) {
    const source = next();
    if (source === null) continue;
    const conn = redisConnection(r, source);
    if (conn === 'failed') return null;
    if (conn === 'incomplete') {
      // Only the router and cache sources get here: the environment one needs a host or URL to be tried.
      const set = [source.port, source.password, source.username].find((f): f is Found => f !== null);
      const where = source === routerSource
        ? `${set !== undefined ? r.at(set.path) : rs}: no Redis host or URL is set (router_settings.redis_host / redis_url, cache_kwargs.host / url, or REDIS_HOST / REDIS_URL)`
        : `${r.at('litellm_settings.cache')}: the Redis cache has no host or URL (cache_params.host / url, or REDIS_HOST / REDIS_URL)`;
      r.warn(`${where}; Redis not used for routing state`);
      continue;
    }
    if (source === envRedisSource) {
      r.warn(`environment variable ${r.envValue('REDIS_URL') !== null ? 'REDIS_URL' : 'REDIS_HOST'}: Redis shares routing state across instances (LiteLLM would not use it without router_settings.redis_* or litellm_settings.cache)`);
    } else if (source.what === 'litellm_settings.cache_params') {
      r.warn(`${r.at('litellm_settings.cache')}: response caching is not implemented, but its Redis shares routing state across instances, as LiteLLM's router reuses it`);
    }
    let namespace = routerNamespace;
    if (namespace === null && source !== routerSource && source.namespace !== null) namespace = redisNamespace(r, source.namespace);
    return { ...conn, namespace: namespace ?? DEFAULT_REDIS_NAMESPACE, syncIntervalMs };
  }
  for (const key of ['redis_namespace', 'redis_sync_interval_ms', 'redis_ssl', 'cache_kwargs']) {
    if (!isUnset(get(router, key))) r.warn(`${r.at(`${rs}.${key}`)}: has no effect, no Redis is configured (set redis_host or redis_url)`);
  }
  return null;
}

/** `cache_kwargs`: LiteLLM merges it into the Redis client's arguments. */
function cacheKwargs(r: ConfigReader, router: JsonObject): JsonObject {
  const path = 'router_settings.cache_kwargs';
  const v = get(router, 'cache_kwargs');
  if (isUnset(v)) return {};
  if (!isObject(v)) {
    r.problem(path, `must be a mapping of Redis client options (host, port, password, ...), got ${r.got(path, v)}`);
    return {};
  }
  for (const k of Object.keys(v)) {
    if (!cacheKwargsKeys.includes(k)) r.warn(`${r.at(joinKey(path, k))}: not implemented yet; ignored`);
  }
  return v;
}

/**
 * `litellm_settings.cache: true` makes LiteLLM build a cache of `cache_params.type`, Redis by
 * default; the proxy then gives a Redis cache's client to the router when it has none.
 */
function cacheRedisSource(r: ConfigReader, litellm: JsonObject): RedisSource | null {
  if (get(litellm, 'cache') !== true) return null;
  const path = 'litellm_settings.cache_params';
  const raw = get(litellm, 'cache_params');
  if (!isUnset(raw) && !isObject(raw)) {
    r.problem(path, `must be a mapping, got ${r.got(path, raw)}`);
    return null;
  }
  const cp: JsonObject = isObject(raw) ? raw : {};
  const type = get(cp, 'type');
  if (!isUnset(type) && type !== 'redis') return null;
  const one = (key: string): Found | null => r.pick([[path, cp, key]], '');
  return {
    what: path,
    url: one('url'),
    host: one('host'),
    port: one('port'),
    password: one('password'),
    username: one('username'),
    nodes: one('redis_startup_nodes'),
    ssl: r.optionalBoolean(joinKey(path, 'ssl'), get(cp, 'ssl')) === true,
    namespace: one('namespace'),
  };
}

/**
 * Connection settings from one source, the environment filling what it leaves unset.
 * `incomplete`: no host, URL or startup nodes anywhere; `failed`: a problem was recorded.
 */
function redisConnection(r: ConfigReader, source: RedisSource): Omit<RedisSettings, 'namespace' | 'syncIntervalMs'> | 'incomplete' | 'failed' {
  const before = r.problemCount;
  const tls = (): boolean => source.ssl || envSsl(r);
  if (source.url !== null && source.nodes !== null) {
    r.problem(source.url.path, `set either a URL or startup nodes (${source.nodes.path}), not both`);
    return 'failed';
  }
  const url = source.url ?? (source.nodes === null && source.host === null ? r.envFound('REDIS_URL') : null);
  if (url !== null) {
    for (const f of [source.host, source.port, source.password, source.username]) {
      if (f !== null) r.warn(`${r.at(f.path)}: ignored, ${url.env ? `environment variable ${url.path}` : url.path} is set and wins, as in LiteLLM`);
    }
    return redisUrl(r, url, tls) ?? 'failed';
  }
  if (source.nodes !== null) {
    for (const f of [source.host, source.port]) {
      if (f !== null) r.warn(`${r.at(f.path)}: ignored, ${source.nodes.path} is set (cluster mode)`);
    }
    const startupNodes = readStartupNodes(r, source.nodes);
    const password = redisPassword(r, source.password ?? r.envFound('REDIS_PASSWORD'));
    const username = redisText(r, source.username ?? r.envFound('REDIS_USERNAME'));
    if (startupNodes === null || r.problemCount > before) return 'failed';
    return { mode: 'cluster', url: null, host: null, port: null, password, username, tls: tls(), startupNodes };
  }
  const hostFound = source.host ?? r.envFound('REDIS_HOST');
  if (hostFound === null) return 'incomplete';
  const host = redisHost(r, hostFound);
  const portFound = source.port ?? r.envFound('REDIS_PORT');
  const port = portFound === null ? DEFAULT_REDIS_PORT : redisPort(r, portFound);
  const password = redisPassword(r, source.password ?? r.envFound('REDIS_PASSWORD'));
  const username = redisText(r, source.username ?? r.envFound('REDIS_USERNAME'));
  const useTls = tls();
  if (host === null || port === null || r.problemCount > before) return 'failed';
  return { mode: 'single', url: null, host, port, password, username, tls: useTls, startupNodes: [] };
}

function redisUrl(r: ConfigReader, f: Found, tls: () => boolean): Omit<RedisSettings, 'namespace' | 'syncIntervalMs'> | null {
  if (typeof f.value !== 'string') {
    r.problemAt(f, `must be a redis:// or rediss:// URL, got ${r.describe(f)}`);
    return null;
  }
  const raw = f.value;
  // The whole URL when it carries credentials, so a log line holding it is redacted.
  if (raw.includes('@')) r.addPassword(raw);
  const u = parseRedisUrl(raw);
  if (!u.ok) {
    const shown = f.env || r.hasEnvRef(f.path) ? r.describe(f) : JSON.stringify(shorten(redactUrl(raw)));
    r.problemAt(f, `${u.reason}, got ${shown}`);
    return null;
  }
  if (u.password !== null) r.addPassword(u.password);
  if (u.username !== null && u.password === null) {
    r.warn(`${f.env ? `environment variable ${f.path}` : r.at(f.path)}: the URL has a user name but no password; for a password alone write redis://:password@host`);
  }
  if (u.cluster && u.hasQuery) {
    r.warn(`${f.env ? `environment variable ${f.path}` : r.at(f.path)}: query options of a cluster URL are not implemented; ignored`);
  }
  const common = { password: u.password, username: u.username, tls: u.tls || tls() };
  if (u.cluster) return { mode: 'cluster', url: null, host: null, port: null, ...common, startupNodes: u.nodes };
  const node = u.nodes[0];
  if (node === undefined) return null;
  return { mode: 'single', url: raw, host: node.host, port: node.port, ...common, startupNodes: [] };
}

function readStartupNodes(r: ConfigReader, f: Found): { host: string; port: number }[] | null {
  if (f.env || !Array.isArray(f.value) || f.value.length === 0) {
    r.problemAt(f, `must be a non-empty list of {host, port} mappings, got ${r.describe(f)}`);
    return null;
  }
  const out: { host: string; port: number }[] = [];
  let ok = true;
  f.value.forEach((item, i) => {
    const p = joinIndex(f.path, i);
    if (!isObject(item)) {
      r.problem(p, `must be a mapping {host, port}, got ${r.got(p, item)}`);
      ok = false;
      return;
    }
    for (const k of Object.keys(item)) {
      if (k !== 'host' && k !== 'port') r.warn(`${r.at(joinKey(p, k))}: unknown key (a startup node takes host and port); ignored`);
    }
    const field = (key: string): Found | null => {
      const fp = joinKey(p, key);
      const v = get(item, key);
      if (!isUnset(v) && v !== '') return { value: v, path: fp, env: false };
      r.problem(fp, r.hasEnvRef(fp) ? `must be set, got ${r.got(fp, v ?? null)}` : 'is required');
      return null;
    };
    const h = field('host');
    const pt = field('port');
    const host = h === null ? null : redisHost(r, h);
    const port = pt === null ? null : redisPort(r, pt);
    if (host === null || port === null) ok = false;
    else out.push({ host, port });
  });
  return ok ? out : null;
}

function redisHost(r: ConfigReader, f: Found): string | null {
  const v = f.value;
  if (typeof v !== 'string' || v.trim() === '') {
    r.problemAt(f, `must be a host name or IP address, got ${r.describe(f)}`);
    return null;
  }
  if (v.includes('://')) {
    r.problemAt(f, 'must be a host name or IP address, got a URL; set redis_url (or cache_kwargs.url) to connect with a URL');
    return null;
  }
  if (/[\s/?#@]/.test(v)) {
    r.problemAt(f, `must be a host name or IP address, got ${r.describe(f)}`);
    return null;
  }
  return v.replace(/^\[(.*)\]$/, '$1');
}

function redisPort(r: ConfigReader, f: Found): number | null {
  if (!f.env) return r.number(f.path, f.value, rules.port);
  const n = typeof f.value === 'string' ? parseNumeric(f.value) : undefined;
  if (n !== undefined && rules.port.ok(n)) return n;
  r.problemAt(f, `must be ${rules.port.what}, got ${r.describe(f)}`);
  return null;
}

/** Never echoed: not even its type is worth printing next to where it is written. */
function redisPassword(r: ConfigReader, f: Found | null): string | null {
  const v = f === null ? null : redisText(r, f);
  if (v !== null) r.addPassword(v);
  return v;
}

/** A string, or a number as Python's str() writes it (`redis_password: 123456`). */
function redisText(r: ConfigReader, f: Found | null): string | null {
  if (f === null) return null;
  if (typeof f.value === 'string') return f.value === '' ? null : f.value;
  if (typeof f.value === 'number') return pyStr(r.pyView(f.value, f.path));
  r.problemAt(f, `must be a string, got ${f.env || r.hasEnvRef(f.path) ? r.describe(f) : kindOf(f.value)}`);
  return null;
}

function redisNamespace(r: ConfigReader, f: Found): string | null {
  if (typeof f.value === 'string' && redisNamespacePattern.test(f.value)) return f.value;
  r.problemAt(f, `must be 1 to 64 letters, digits or _ . : - (no braces: keys get their {...} hash tag from it), got ${r.describe(f)}`);
  return null;
}

/** `REDIS_SSL`, as LiteLLM's client reads it (`true` / `false`, any case). */
function envSsl(r: ConfigReader): boolean {
  const f = r.envFound('REDIS_SSL');
  if (f === null || typeof f.value !== 'string') return false;
  if (/^(true|false)$/i.test(f.value)) return f.value.toLowerCase() === 'true';
  r.problemAt(f, `must be true or false, got ${r.describe(f)}`);
  return false;
}

function shorten(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
