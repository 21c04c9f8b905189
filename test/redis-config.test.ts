import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatProblems, implementedSettings, loadConfigFile, loadConfigText, type LoadResult } from '../src/config/load.js';
import type { RedisSettings } from '../src/config/types.js';
import { load, problems, yaml } from './support/config.js';


function messages(r: LoadResult): string {
  return r.ok ? r.config.warnings.join('\n') : r.problems.map((p) => `${p.path} ${p.message}`).join('\n');
}

const base: RedisSettings = {
  mode: 'single', url: null, host: null, port: null, password: null, username: null, tls: false, startupNodes: [],
  namespace: 'switchyard', syncIntervalMs: 10,
};

function single(fields: Partial<RedisSettings>): RedisSettings {
  return { ...base, port: 6379, ...fields };
}

function cluster(nodes: readonly { host: string; port: number }[], fields: Partial<RedisSettings> = {}): RedisSettings {
  return { ...base, mode: 'cluster', startupNodes: nodes, ...fields };
}

// --- where the connection comes from --------------------------------------------------------

interface SourceCase {
  readonly name: string;
  readonly yaml: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly expect: RedisSettings | null;
  /** Each must match one warning. */
  readonly warnings?: readonly RegExp[];
  /** None may match any warning. */
  readonly noWarnings?: readonly RegExp[];
}

const sourceCases: readonly SourceCase[] = [
  { name: 'nothing configured → null', yaml: 'model_list: []', expect: null, noWarnings: [/redis/i] },
  {
    name: 'an unrelated env (no REDIS_URL / REDIS_HOST) → null',
    yaml: 'model_list: []', env: { REDIS_PORT: '6380', REDIS_PASSWORD: 'pw-only-0001' }, expect: null,
  },
  {
    name: 'router_settings redis_host / redis_port / redis_password',
    yaml: `
      router_settings:
        redis_host: redis.internal
        redis_port: 6380
        redis_password: router-pw-0002
    `,
    expect: single({ host: 'redis.internal', port: 6380, password: 'router-pw-0002' }),
    noWarnings: [/redis/i],
  },
  {
    name: 'a host without a port → 6379 (LiteLLM would want redis_port too)',
    yaml: 'router_settings:\n  redis_host: redis.internal',
    expect: single({ host: 'redis.internal' }),
  },
  {
    name: 'numeric-string port and numeric password (Python str)',
    yaml: 'router_settings:\n  redis_host: 10.0.0.5\n  redis_port: "6390"\n  redis_password: 12345678',
    expect: single({ host: '10.0.0.5', port: 6390, password: '12345678' }),
  },
  {
    name: 'os.environ/ references are resolved first',
    yaml: `
      router_settings:
        redis_host: os.environ/MY_REDIS_HOST
        redis_port: os.environ/MY_REDIS_PORT
        redis_password: os.environ/MY_REDIS_PASSWORD
    `,
    env: { MY_REDIS_HOST: 'r.example', MY_REDIS_PORT: '7001', MY_REDIS_PASSWORD: 'env-ref-pw-0003' },
    expect: single({ host: 'r.example', port: 7001, password: 'env-ref-pw-0003' }),
  },
  {
    name: 'redis_url: host, port, password and database taken from it',
    yaml: 'router_settings:\n  redis_url: "redis://:url-pw-0004@r.example:6390/2"',
    expect: single({ url: 'redis://:url-pw-0004@r.example:6390/2', host: 'r.example', port: 6390, password: 'url-pw-0004' }),
  },
  {
    name: 'redis_url with a user name and a %-encoded password',
    yaml: 'router_settings:\n  redis_url: "redis://app:p%40ss-0005@r.example"',
    expect: single({ url: 'redis://app:p%40ss-0005@r.example', host: 'r.example', password: 'p@ss-0005', username: 'app' }),
  },
  {
    name: 'redis_url wins over redis_host / redis_port / redis_password, with a warning each',
    yaml: `
      router_settings:
        redis_url: redis://r.example:6390
        redis_host: other.example
        redis_port: 1
        redis_password: ignored-pw-0006
    `,
    expect: single({ url: 'redis://r.example:6390', host: 'r.example', port: 6390 }),
    warnings: [
      /^router_settings\.redis_host \(line 3\): ignored, router_settings\.redis_url is set and wins, as in LiteLLM$/,
      /^router_settings\.redis_port \(line 4\): ignored/,
      /^router_settings\.redis_password \(line 5\): ignored/,
    ],
  },
  {
    name: 'cache_kwargs is merged over redis_* (LiteLLM: cache_config.update(cache_kwargs))',
    yaml: `
      router_settings:
        redis_host: loses.example
        redis_port: 6380
        cache_kwargs:
          host: wins.example
          username: app
    `,
    expect: single({ host: 'wins.example', port: 6380, username: 'app' }),
    warnings: [/^router_settings\.redis_host \(line 2\): ignored, router_settings\.cache_kwargs\.host is set and wins, as in LiteLLM/],
  },
  {
    name: 'cache_kwargs alone: host, port, password, username, ssl',
    yaml: `
      router_settings:
        cache_kwargs: {host: kw.example, port: 6400, password: kw-pw-0007, username: app, ssl: true}
    `,
    expect: single({ host: 'kw.example', port: 6400, password: 'kw-pw-0007', username: 'app', tls: true }),
  },
  {
    name: 'cache_kwargs.url',
    yaml: 'router_settings:\n  cache_kwargs: {url: "rediss://kw.example:6380"}',
    expect: single({ url: 'rediss://kw.example:6380', host: 'kw.example', port: 6380, tls: true }),
  },
  {
    name: 'unknown cache_kwargs keys are warned about, the rest still used',
    yaml: 'router_settings:\n  redis_host: r.example\n  cache_kwargs: {db: 2, socket_timeout: 5}',
    expect: single({ host: 'r.example' }),
    warnings: [/^router_settings\.cache_kwargs\.db \(line 3\): not implemented yet; ignored$/, /cache_kwargs\.socket_timeout/],
  },
  {
    name: 'env fills fields the config leaves unset',
    yaml: 'router_settings:\n  redis_host: r.example',
    env: { REDIS_PORT: '6381', REDIS_PASSWORD: 'env-pw-0008', REDIS_USERNAME: 'envuser', REDIS_HOST: 'env.example' },
    expect: single({ host: 'r.example', port: 6381, password: 'env-pw-0008', username: 'envuser' }),
  },
  {
    name: 'env REDIS_URL is not used when router_settings names a host',
    yaml: 'router_settings:\n  redis_host: r.example',
    env: { REDIS_URL: 'redis://env.example:7000' },
    expect: single({ host: 'r.example' }),
  },
  {
    name: 'env REDIS_URL is used when router_settings names no host (its redis_password is then ignored)',
    yaml: 'router_settings:\n  redis_password: loses-pw-0009',
    env: { REDIS_URL: 'redis://env.example:7000' },
    expect: single({ url: 'redis://env.example:7000', host: 'env.example', port: 7000 }),
    warnings: [/^router_settings\.redis_password \(line 2\): ignored, environment variable REDIS_URL is set and wins/],
  },
  {
    name: 'env REDIS_HOST alone enables Redis, with a warning (LiteLLM would not)',
    yaml: 'model_list: []',
    env: { REDIS_HOST: 'env.example', REDIS_PORT: '6390', REDIS_PASSWORD: 'env-pw-0010' },
    expect: single({ host: 'env.example', port: 6390, password: 'env-pw-0010' }),
    warnings: [/^environment variable REDIS_HOST: Redis shares routing state across instances/],
  },
  {
    name: 'env REDIS_URL alone, rediss:// → TLS',
    yaml: 'model_list: []',
    env: { REDIS_URL: 'rediss://:env-pw-0011@env.example:6380' },
    expect: single({ url: 'rediss://:env-pw-0011@env.example:6380', host: 'env.example', port: 6380, password: 'env-pw-0011', tls: true }),
    warnings: [/^environment variable REDIS_URL: /],
  },
  {
    name: 'env REDIS_SSL=true → TLS',
    yaml: 'router_settings:\n  redis_host: r.example',
    env: { REDIS_SSL: 'True' },
    expect: single({ host: 'r.example', tls: true }),
  },
  {
    name: 'router_settings.redis_ssl → TLS with a plain host',
    yaml: 'router_settings:\n  redis_host: r.example\n  redis_ssl: true',
    expect: single({ host: 'r.example', tls: true }),
  },
  {
    name: 'redis_ssl with a redis:// URL → TLS',
    yaml: 'router_settings:\n  redis_url: redis://r.example\n  redis_ssl: "true"',
    expect: single({ url: 'redis://r.example', host: 'r.example', tls: true }),
  },
  {
    name: 'cache_params fallback: litellm_settings.cache + cache_params type redis',
    yaml: `
      litellm_settings:
        cache: true
        cache_params: {type: redis, host: cache.example, port: 6382, password: cache-pw-0012}
    `,
    expect: single({ host: 'cache.example', port: 6382, password: 'cache-pw-0012' }),
    warnings: [
      /^litellm_settings\.cache \(line 2\): response caching is not implemented, but its Redis shares routing state/,
      /^litellm_settings\.cache: not implemented yet; ignored$/,
    ],
  },
  {
    name: 'cache: true without cache_params is a Redis cache from REDIS_HOST / REDIS_PORT (LiteLLM default type)',
    yaml: 'litellm_settings:\n  cache: true',
    env: { REDIS_HOST: 'env.example', REDIS_PORT: '6383' },
    expect: single({ host: 'env.example', port: 6383 }),
    warnings: [/^litellm_settings\.cache \(line 2\): response caching is not implemented/],
  },
  {
    name: 'cache_params fallback with a url, ssl and namespace',
    yaml: `
      litellm_settings:
        cache: true
        cache_params: {type: redis, url: "redis://cache.example:6384", ssl: true, namespace: "litellm.prod"}
    `,
    expect: single({ url: 'redis://cache.example:6384', host: 'cache.example', port: 6384, tls: true, namespace: 'litellm.prod' }),
  },
  {
    name: 'cache_params with another type is not Redis',
    yaml: 'litellm_settings:\n  cache: true\n  cache_params: {type: local, host: cache.example}',
    expect: null,
  },
  {
    name: 'cache: false ignores cache_params',
    yaml: 'litellm_settings:\n  cache: false\n  cache_params: {type: redis, host: cache.example}',
    expect: null,
  },
  {
    name: 'a Redis cache without any host → null with a warning',
    yaml: 'litellm_settings:\n  cache: true\n  cache_params: {type: redis}',
    expect: null,
    warnings: [/^litellm_settings\.cache \(line 2\): the Redis cache has no host or URL .*; Redis not used for routing state$/],
  },
  {
    name: 'router_settings beat cache_params',
    yaml: `
      router_settings:
        redis_host: router.example
      litellm_settings:
        cache: true
        cache_params: {type: redis, host: cache.example}
    `,
    expect: single({ host: 'router.example' }),
    noWarnings: [/response caching is not implemented, but/],
  },
  {
    name: 'router_settings with a password but no host fall through to cache_params, with a warning',
    yaml: `
      router_settings:
        redis_password: lonely-pw-0013
      litellm_settings:
        cache: true
        cache_params: {type: redis, host: cache.example}
    `,
    expect: single({ host: 'cache.example' }),
    warnings: [/^router_settings\.redis_password \(line 2\): no Redis host or URL is set .*; Redis not used for routing state$/],
  },
  {
    name: 'unset os.environ/ refs (null) count as not configured',
    yaml: `
      router_settings:
        redis_host: os.environ/REDIS_HOST
        redis_password: os.environ/REDIS_PASSWORD
        redis_port: os.environ/REDIS_PORT
    `,
    expect: null,
    noWarnings: [/no Redis host/],
  },
  {
    name: 'cluster by router_settings.redis_startup_nodes, password from redis_password',
    yaml: `
      router_settings:
        redis_startup_nodes: [{host: a.example, port: 7000}, {host: b.example, port: "7001"}]
        redis_password: cluster-pw-0014
    `,
    expect: cluster([{ host: 'a.example', port: 7000 }, { host: 'b.example', port: 7001 }], { password: 'cluster-pw-0014' }),
  },
  {
    name: 'cluster by cache_kwargs.startup_nodes, tls by cache_kwargs.ssl',
    yaml: `
      router_settings:
        cache_kwargs:
          startup_nodes: [{host: a.example, port: 7000}]
          ssl: true
          password: cluster-pw-0015
    `,
    expect: cluster([{ host: 'a.example', port: 7000 }], { password: 'cluster-pw-0015', tls: true }),
  },
  {
    name: 'cluster: host / port settings are ignored with a warning',
    yaml: 'router_settings:\n  redis_startup_nodes: [{host: a.example, port: 7000}]\n  redis_host: single.example',
    expect: cluster([{ host: 'a.example', port: 7000 }]),
    warnings: [/^router_settings\.redis_host \(line 3\): ignored, router_settings\.redis_startup_nodes is set \(cluster mode\)$/],
  },
  {
    name: 'cluster by redis+cluster:// URL with a node list',
    yaml: 'router_settings:\n  redis_url: "redis+cluster://:cl-pw-0016@a.example:7000,b.example:7001,[::1]:7002"',
    expect: cluster([{ host: 'a.example', port: 7000 }, { host: 'b.example', port: 7001 }, { host: '::1', port: 7002 }], { password: 'cl-pw-0016' }),
  },
  {
    name: 'cluster by rediss+cluster:// URL → TLS; a node without a port → 6379; /0 allowed',
    yaml: 'router_settings:\n  redis_url: "rediss+cluster://app:cl-pw-0017@a.example,b.example:7001/0"',
    expect: cluster([{ host: 'a.example', port: 6379 }, { host: 'b.example', port: 7001 }], { password: 'cl-pw-0017', username: 'app', tls: true }),
  },
  {
    name: 'cluster by env REDIS_URL',
    yaml: 'model_list: []',
    env: { REDIS_URL: 'redis+cluster://a.example:7000,b.example:7001' },
    expect: cluster([{ host: 'a.example', port: 7000 }, { host: 'b.example', port: 7001 }]),
  },
  {
    name: 'cluster URL query options are ignored with a warning',
    yaml: 'router_settings:\n  redis_url: "redis+cluster://a.example:7000?timeout=5"',
    expect: cluster([{ host: 'a.example', port: 7000 }]),
    warnings: [/^router_settings\.redis_url \(line 2\): query options of a cluster URL are not implemented; ignored$/],
  },
  {
    name: 'a URL with a user name but no password warns (redis://:password@host for a password alone)',
    yaml: 'router_settings:\n  redis_url: "redis://lonely@r.example"',
    expect: single({ url: 'redis://lonely@r.example', host: 'r.example', username: 'lonely' }),
    warnings: [/user name but no password/],
  },
  {
    name: 'IPv6 host in brackets',
    yaml: 'router_settings:\n  redis_url: "redis://[::1]:6380"',
    expect: single({ url: 'redis://[::1]:6380', host: '::1', port: 6380 }),
  },
];

for (const c of sourceCases) {
  test(`redis source: ${c.name}`, () => {
    const cfg = load(c.yaml, c.env ?? {});
    assert.deepEqual(cfg.redis === null ? null : { ...cfg.redis, startupNodes: [...cfg.redis.startupNodes] }, c.expect === null ? null : { ...c.expect, startupNodes: [...c.expect.startupNodes] });
    for (const w of c.warnings ?? []) assert.ok(cfg.warnings.some((x) => w.test(x)), `no warning matches ${w}:\n${cfg.warnings.join('\n')}`);
    for (const w of c.noWarnings ?? []) assert.ok(!cfg.warnings.some((x) => w.test(x)), `unexpected warning ${w}:\n${cfg.warnings.join('\n')}`);
  });
}

// --- namespace and sync interval ----------------------------------------------------------

interface TuningCase {
  readonly name: string;
  /** Lines under router_settings, after `redis_host` (line 2). */
  readonly settings: readonly string[];
  readonly namespace: string;
  readonly syncIntervalMs: number;
  readonly warnings?: readonly RegExp[];
}

const tuningCases: readonly TuningCase[] = [
  { name: 'defaults', settings: [], namespace: 'switchyard', syncIntervalMs: 10 },
  { name: 'redis_namespace and redis_sync_interval_ms', settings: ['redis_namespace: "prod:eu-1"', 'redis_sync_interval_ms: 250'], namespace: 'prod:eu-1', syncIntervalMs: 250 },
  { name: 'cache_kwargs.namespace', settings: ['cache_kwargs: {namespace: litellm.ns_2}'], namespace: 'litellm.ns_2', syncIntervalMs: 10 },
  {
    name: 'redis_namespace beats cache_kwargs.namespace',
    settings: ['redis_namespace: ours', 'cache_kwargs: {namespace: theirs}'],
    namespace: 'ours',
    syncIntervalMs: 10,
    warnings: [/^router_settings\.cache_kwargs\.namespace \(line 4\): ignored, router_settings\.redis_namespace is set and wins/],
  },
  { name: 'interval as a numeric string, fractional', settings: ['redis_sync_interval_ms: "2.5"'], namespace: 'switchyard', syncIntervalMs: 2.5 },
  { name: 'interval at the 1000 ms bound', settings: ['redis_sync_interval_ms: 1000'], namespace: 'switchyard', syncIntervalMs: 1000 },
  { name: '64-character namespace', settings: [`redis_namespace: ${'n'.repeat(64)}`], namespace: 'n'.repeat(64), syncIntervalMs: 10 },
];

for (const c of tuningCases) {
  test(`redis tuning: ${c.name}`, () => {
    const cfg = load(['router_settings:', '  redis_host: r.example', ...c.settings.map((l) => `  ${l}`)].join('\n'));
    assert.equal(cfg.redis?.namespace, c.namespace);
    assert.equal(cfg.redis?.syncIntervalMs, c.syncIntervalMs);
    for (const w of c.warnings ?? []) assert.ok(cfg.warnings.some((x) => w.test(x)), `no warning matches ${w}:\n${cfg.warnings.join('\n')}`);
  });
}

test('redis tuning: namespace and interval without any Redis have no effect, with a warning', () => {
  const cfg = load(`
    router_settings:
      redis_namespace: lonely
      redis_sync_interval_ms: 50
  `);
  assert.equal(cfg.redis, null);
  assert.ok(cfg.warnings.includes('router_settings.redis_namespace (line 2): has no effect, no Redis is configured (set redis_host or redis_url)'));
  assert.ok(cfg.warnings.includes('router_settings.redis_sync_interval_ms (line 3): has no effect, no Redis is configured (set redis_host or redis_url)'));
});

// --- problems -------------------------------------------------------------------------------

interface ProblemCase {
  readonly name: string;
  readonly yaml: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly path: string;
  readonly line: number | null;
  readonly message: RegExp;
}

const problemCases: readonly ProblemCase[] = [
  { name: 'port 0', yaml: 'router_settings:\n  redis_host: r\n  redis_port: 0', path: 'router_settings.redis_port', line: 3, message: /^must be an integer from 1 to 65535, got 0$/ },
  { name: 'port 70000', yaml: 'router_settings:\n  redis_host: r\n  redis_port: 70000', path: 'router_settings.redis_port', line: 3, message: /integer from 1 to 65535, got 70000/ },
  { name: 'port not a number', yaml: 'router_settings:\n  redis_host: r\n  redis_port: "http"', path: 'router_settings.redis_port', line: 3, message: /got "http"/ },
  { name: 'fractional port', yaml: 'router_settings:\n  redis_host: r\n  redis_port: 6379.5', path: 'router_settings.redis_port', line: 3, message: /integer from 1 to 65535/ },
  {
    name: 'port from an os.environ/ ref is not printed',
    yaml: 'router_settings:\n  redis_host: r\n  redis_port: os.environ/MY_PORT',
    env: { MY_PORT: 'nope' },
    path: 'router_settings.redis_port', line: 3, message: /got the value of environment variable MY_PORT$/,
  },
  {
    name: 'env REDIS_PORT: path is the variable, no line',
    yaml: 'router_settings:\n  redis_host: r',
    env: { REDIS_PORT: 'abc' },
    path: 'REDIS_PORT', line: null, message: /^must be an integer from 1 to 65535, got the value of environment variable REDIS_PORT$/,
  },
  {
    name: 'REDIS_PORT exported by environment_variables: path and line there',
    yaml: 'environment_variables:\n  REDIS_HOST: localhost\n  REDIS_PORT: "99999"',
    path: 'environment_variables.REDIS_PORT', line: 3, message: /integer from 1 to 65535/,
  },
  { name: 'env REDIS_HOST that is a URL', yaml: 'model_list: []', env: { REDIS_HOST: 'redis://x' }, path: 'REDIS_HOST', line: null, message: /got a URL; set redis_url/ },
  { name: 'redis_host that is a URL', yaml: 'router_settings:\n  redis_host: "redis://x:6379"', path: 'router_settings.redis_host', line: 2, message: /got a URL; set redis_url/ },
  { name: 'redis_host not a string', yaml: 'router_settings:\n  redis_host: [a]', path: 'router_settings.redis_host', line: 2, message: /must be a host name or IP address, got a list/ },
  { name: 'http:// URL', yaml: 'router_settings:\n  redis_url: "http://r.example"', path: 'router_settings.redis_url', line: 2, message: /^must be a redis:\/\/, rediss:\/\/, redis\+cluster:\/\/ or rediss\+cluster:\/\/ URL, got "http:\/\/r\.example"$/ },
  { name: 'URL port out of range', yaml: 'router_settings:\n  redis_url: "redis://r.example:99999"', path: 'router_settings.redis_url', line: 2, message: /has port 99999; a port must be an integer from 1 to 65535/ },
  { name: 'URL without a host', yaml: 'router_settings:\n  redis_url: "redis://:6379"', path: 'router_settings.redis_url', line: 2, message: /invalid host or port|has no host/ },
  { name: 'single-node URL with several hosts', yaml: 'router_settings:\n  redis_url: "redis://a:1,b:2"', path: 'router_settings.redis_url', line: 2, message: /several hosts; a cluster URL starts with redis\+cluster:\/\// },
  { name: 'URL path not a database', yaml: 'router_settings:\n  redis_url: "redis://r/abc"', path: 'router_settings.redis_url', line: 2, message: /path that is not a database number/ },
  { name: 'cluster URL selecting a database', yaml: 'router_settings:\n  redis_url: "redis+cluster://a:7000/3"', path: 'router_settings.redis_url', line: 2, message: /Redis Cluster has only database 0/ },
  { name: 'URL not a string', yaml: 'router_settings:\n  redis_url: 6379', path: 'router_settings.redis_url', line: 2, message: /must be a redis:\/\/ or rediss:\/\/ URL, got 6379/ },
  { name: 'env REDIS_URL bad', yaml: 'model_list: []', env: { REDIS_URL: 'localhost:6379' }, path: 'REDIS_URL', line: null, message: /URL, got the value of environment variable REDIS_URL$/ },
  { name: 'env REDIS_SSL not a boolean', yaml: 'router_settings:\n  redis_host: r', env: { REDIS_SSL: 'yes please' }, path: 'REDIS_SSL', line: null, message: /must be true or false/ },
  {
    name: 'startup node without a port',
    yaml: 'router_settings:\n  redis_startup_nodes:\n    - {host: a, port: 7000}\n    - {host: b}',
    path: 'router_settings.redis_startup_nodes[1].port', line: 4, message: /^is required$/,
  },
  {
    name: 'startup node without a host',
    yaml: 'router_settings:\n  redis_startup_nodes:\n    - {port: 7000}',
    path: 'router_settings.redis_startup_nodes[0].host', line: 3, message: /^is required$/,
  },
  {
    name: 'startup node with a bad port',
    yaml: 'router_settings:\n  cache_kwargs:\n    startup_nodes:\n      - {host: a, port: 0}',
    path: 'router_settings.cache_kwargs.startup_nodes[0].port', line: 4, message: /integer from 1 to 65535/,
  },
  { name: 'startup node not a mapping', yaml: 'router_settings:\n  redis_startup_nodes: ["a:7000"]', path: 'router_settings.redis_startup_nodes[0]', line: 2, message: /must be a mapping \{host, port\}/ },
  { name: 'startup nodes empty', yaml: 'router_settings:\n  redis_startup_nodes: []', path: 'router_settings.redis_startup_nodes', line: 2, message: /non-empty list of \{host, port\} mappings/ },
  { name: 'startup nodes not a list', yaml: 'router_settings:\n  redis_startup_nodes: a:7000', path: 'router_settings.redis_startup_nodes', line: 2, message: /non-empty list/ },
  {
    name: 'URL and startup nodes both',
    yaml: 'router_settings:\n  redis_url: redis://r\n  redis_startup_nodes: [{host: a, port: 7000}]',
    path: 'router_settings.redis_url', line: 2, message: /set either a URL or startup nodes \(router_settings\.redis_startup_nodes\), not both/,
  },
  { name: 'namespace with braces', yaml: 'router_settings:\n  redis_host: r\n  redis_namespace: "{sy}"', path: 'router_settings.redis_namespace', line: 3, message: /no braces/ },
  { name: 'namespace too long', yaml: `router_settings:\n  redis_host: r\n  redis_namespace: ${'n'.repeat(65)}`, path: 'router_settings.redis_namespace', line: 3, message: /1 to 64 letters/ },
  { name: 'namespace with a space', yaml: 'router_settings:\n  redis_host: r\n  cache_kwargs: {namespace: "a b"}', path: 'router_settings.cache_kwargs.namespace', line: 3, message: /1 to 64 letters/ },
  { name: 'namespace not a string', yaml: 'router_settings:\n  redis_host: r\n  redis_namespace: 12', path: 'router_settings.redis_namespace', line: 3, message: /got 12/ },
  { name: 'sync interval 0', yaml: 'router_settings:\n  redis_host: r\n  redis_sync_interval_ms: 0', path: 'router_settings.redis_sync_interval_ms', line: 3, message: /^must be a positive number of milliseconds, at most 1000, got 0$/ },
  { name: 'sync interval negative', yaml: 'router_settings:\n  redis_host: r\n  redis_sync_interval_ms: -5', path: 'router_settings.redis_sync_interval_ms', line: 3, message: /positive number of milliseconds/ },
  { name: 'sync interval above 1000', yaml: 'router_settings:\n  redis_host: r\n  redis_sync_interval_ms: 1001', path: 'router_settings.redis_sync_interval_ms', line: 3, message: /at most 1000, got 1001/ },
  { name: 'sync interval not a number', yaml: 'router_settings:\n  redis_sync_interval_ms: soon', path: 'router_settings.redis_sync_interval_ms', line: 2, message: /got "soon"/ },
  { name: 'redis_ssl not a boolean', yaml: 'router_settings:\n  redis_host: r\n  redis_ssl: maybe', path: 'router_settings.redis_ssl', line: 3, message: /must be true or false/ },
  { name: 'cache_kwargs not a mapping', yaml: 'router_settings:\n  cache_kwargs: [host]', path: 'router_settings.cache_kwargs', line: 2, message: /must be a mapping of Redis client options/ },
  {
    name: 'bad cache_params port, when cache_params is the source',
    yaml: 'litellm_settings:\n  cache: true\n  cache_params:\n    type: redis\n    host: c\n    port: -1',
    path: 'litellm_settings.cache_params.port', line: 6, message: /integer from 1 to 65535/,
  },
  { name: 'cache_params not a mapping', yaml: 'litellm_settings:\n  cache: true\n  cache_params: redis', path: 'litellm_settings.cache_params', line: 3, message: /must be a mapping/ },
];

for (const c of problemCases) {
  test(`redis problem: ${c.name}`, () => {
    const ps = problems(c.yaml, c.env ?? {});
    const p = ps.find((x) => x.path === c.path);
    assert.ok(p, `no problem at ${c.path}: ${JSON.stringify(ps)}`);
    assert.equal(p.line, c.line);
    assert.match(p.message, c.message);
  });
}

test('redis problem: a bad cache_params port is not checked while router_settings is the source', () => {
  const cfg = load(`
    router_settings:
      redis_host: r.example
    litellm_settings:
      cache: true
      cache_params: {type: redis, host: c, port: -1}
  `);
  assert.equal(cfg.redis?.host, 'r.example');
});

test('redis problem: env variables are only checked when Redis reads them', () => {
  // No Redis configured, so junk in REDIS_PORT / REDIS_SSL does not matter.
  assert.equal(load('model_list: []', { REDIS_PORT: 'junk', REDIS_SSL: 'junk' }).redis, null);
});

// --- secrets ----------------------------------------------------------------------------

const passwords = ['url-secret-pw-0101', 'kwargs-secret-pw-0102', 'router-secret-pw-0103', 'env-secret-pw-0104', 'cache-secret-pw-0105'];

test('secrets: no password appears in any problem, URLs are shown with ***', () => {
  const r = loadConfigText(yaml(`
    router_settings:
      redis_url: "http://app:${passwords[0]}@r.example:6379"
      redis_password: ${passwords[2]}
      cache_kwargs: {password: ${passwords[1]}, port: 0}
  `), 'bad.yaml', { REDIS_PASSWORD: passwords[3] });
  assert.equal(r.ok, false);
  const text = r.ok ? '' : formatProblems('bad.yaml', r.problems);
  assert.match(text, /got "http:\/\/app:\*\*\*@r\.example:6379"/);
  for (const p of passwords) assert.ok(!text.includes(p), `${p} leaked into: ${text}`);
});

test('secrets: a bad URL with an @ in the password is masked up to the last @', () => {
  const ps = problems('router_settings:\n  redis_url: "redis://:p@ss-0106@r.example:0"');
  const text = ps.map((p) => p.message).join('\n');
  assert.ok(!text.includes('p@ss-0106') && !text.includes('ss-0106'), text);
});

test('secrets: bad env URL and env-ref URL are never printed', () => {
  const a = problems('model_list: []', { REDIS_URL: `https://:${passwords[3]}@x` });
  const b = problems('router_settings:\n  redis_url: os.environ/MY_URL', { MY_URL: `https://:${passwords[3]}@x` });
  for (const p of [...a, ...b]) assert.ok(!p.message.includes(passwords[3]) && !p.message.includes('https://'), p.message);
});

test('secrets: passwords and URLs with a password are collected; warnings hold none', () => {
  const cases: readonly { yaml: string; env?: NodeJS.ProcessEnv; secrets: readonly string[] }[] = [
    { yaml: `router_settings:\n  redis_url: "redis://:${passwords[0]}@r.example"\n  redis_password: ${passwords[2]}`, secrets: [`redis://:${passwords[0]}@r.example`, passwords[0] ?? '', passwords[2] ?? ''] },
    { yaml: `router_settings:\n  redis_host: r\n  cache_kwargs: {password: ${passwords[1]}}`, secrets: [passwords[1] ?? ''] },
    { yaml: 'router_settings:\n  redis_host: r', env: { REDIS_PASSWORD: passwords[3] }, secrets: [passwords[3] ?? ''] },
    { yaml: 'model_list: []', env: { REDIS_URL: `rediss://app:${passwords[3]}@r` }, secrets: [`rediss://app:${passwords[3]}@r`, passwords[3] ?? ''] },
    { yaml: `litellm_settings:\n  cache: true\n  cache_params: {type: redis, host: c, password: ${passwords[4]}}`, secrets: [passwords[4] ?? ''] },
    { yaml: 'router_settings:\n  redis_host: r\n  redis_password: 1234', secrets: ['1234'] },
    { yaml: 'router_settings:\n  redis_url: "redis://:p%2Fw-0107@r"', secrets: ['redis://:p%2Fw-0107@r', 'p/w-0107'] },
  ];
  for (const c of cases) {
    const cfg = load(c.yaml, c.env ?? {});
    assert.ok(cfg.redis !== null);
    for (const s of c.secrets) assert.ok(cfg.secrets.includes(s), `${s} not in secrets for ${c.yaml}`);
    const text = cfg.warnings.join('\n');
    for (const p of [...passwords, 'p/w-0107', 'p%2Fw-0107']) assert.ok(!text.includes(p), `${p} leaked into: ${text}`);
  }
});

test('secrets: a password never shows up in a warning about it', () => {
  const cfg = load(`
    router_settings:
      redis_url: "redis://r.example"
      redis_password: ${passwords[2]}
      cache_kwargs: {password: ${passwords[1]}}
  `);
  const text = cfg.warnings.join('\n');
  assert.match(text, /redis_password \(line 3\): ignored/);
  for (const p of passwords) assert.ok(!text.includes(p), text);
});

// --- settings bookkeeping ---------------------------------------------------------------

test('implementedSettings: the redis keys are implemented; litellm cache / cache_params keep their warning', () => {
  for (const k of ['redis_url', 'redis_host', 'redis_port', 'redis_password', 'redis_startup_nodes', 'redis_namespace', 'redis_sync_interval_ms', 'redis_ssl', 'cache_kwargs']) {
    assert.ok(implementedSettings.router_settings.includes(k), k);
  }
  assert.ok(!implementedSettings.litellm_settings.includes('cache'));
  assert.ok(!implementedSettings.litellm_settings.includes('cache_params'));
  const cfg = load('router_settings:\n  redis_host: r\n  redis_port: 1\nlitellm_settings:\n  cache: true\n  cache_params: {type: redis, host: c}');
  assert.ok(!cfg.warnings.some((w) => w.startsWith('router_settings.redis')), cfg.warnings.join('\n'));
  assert.ok(cfg.warnings.includes('litellm_settings.cache: not implemented yet; ignored'));
  assert.ok(cfg.warnings.includes('litellm_settings.cache_params: not implemented yet; ignored'));
});

test('the redis settings are frozen', () => {
  const cfg = load('router_settings:\n  redis_startup_nodes: [{host: a, port: 7000}]');
  assert.ok(cfg.redis !== null && Object.isFrozen(cfg.redis) && Object.isFrozen(cfg.redis.startupNodes) && Object.isFrozen(cfg.redis.startupNodes[0]));
});

// --- LiteLLM-shaped fixture configs -----------------------------------------------------

const litellmFixtures = fileURLToPath(new URL('../../test/fixtures/litellm/', import.meta.url));

/**
 * What each fixture config in test/fixtures/litellm/ gives with an empty environment, and with
 * REDIS_HOST / REDIS_PORT / REDIS_PASSWORD set (`withEnv`, default: that Redis).
 */
const compat: Readonly<Record<string, { readonly bare: RedisSettings | null; readonly withEnv?: RedisSettings }>> = {
  'azure-teams.yaml': { bare: null },
  'cookbook.yaml': { bare: null },
  'env-refs.yaml': { bare: null },
  // environment_variables sets REDIS_HOST (REDIS_PORT / REDIS_PASSWORD are null, so not exported):
  // LiteLLM would use it only for a cache, which this config does not turn on; we share state on it.
  'load-balancer.yaml': { bare: single({ host: 'cache.pool.example.com' }), withEnv: single({ host: 'cache.pool.example.com', port: 6390, password: 'compat-env-pw-0201' }) },
  'mixed-providers.yaml': { bare: null },
  'model-info-ids.yaml': { bare: null },
  'ollama-aliases.yaml': { bare: null },
  'proxy-server.yaml': { bare: null },
  'redis-cache-host.yaml': { bare: null },
  // cache_kwargs.port is written out and wins over REDIS_PORT; host and password come from the environment.
  'redis-cache-kwargs.yaml': { bare: null, withEnv: single({ host: 'redis.internal', port: 6391, password: 'compat-env-pw-0201' }) },
  'redis-cache.yaml': { bare: null },
  'tags.yaml': { bare: null },
};
const fromEnv = single({ host: 'redis.internal', port: 6390, password: 'compat-env-pw-0201' });
const redisEnv = { REDIS_HOST: 'redis.internal', REDIS_PORT: '6390', REDIS_PASSWORD: 'compat-env-pw-0201', AZURE_API_BASE: 'https://x.example.com' };

function plain(r: RedisSettings | null): unknown {
  return r === null ? null : { ...r, startupNodes: [...r.startupNodes] };
}

test('compat: the table covers every file in the fixture directory', () => {
  assert.deepEqual(readdirSync(litellmFixtures).filter((f) => f.endsWith('.yaml')).sort(), Object.keys(compat).sort());
});

for (const [file, want] of Object.entries(compat)) {
  test(`compat: ${file} loads; Redis with an empty and with a Redis environment`, () => {
    const bare = loadConfigFile(`${litellmFixtures}${file}`, {});
    assert.ok(bare.ok, messages(bare));
    assert.deepEqual(plain(bare.config.redis), plain(want.bare));
    const withEnv = loadConfigFile(`${litellmFixtures}${file}`, { ...redisEnv });
    assert.ok(withEnv.ok, messages(withEnv));
    // Every config reaches the same Redis: via router_settings os.environ/ refs or cache_kwargs,
    // the cache's REDIS_* defaults, or REDIS_HOST alone.
    assert.deepEqual(plain(withEnv.config.redis), plain(want.withEnv ?? fromEnv));
    assert.ok(!withEnv.config.warnings.join('\n').includes('compat-env-pw-0201'));
  });
}

test('compat: which source each Redis-minded config uses', () => {
  const env = { ...redisEnv };
  const fallback = /Redis shares routing state/;
  const root = loadConfigFile(`${litellmFixtures}proxy-server.yaml`, env);
  assert.ok(root.ok);
  assert.ok(!root.config.warnings.some((w) => fallback.test(w)), 'router_settings is the source, no fallback warning');
  const kwargs = loadConfigFile(`${litellmFixtures}redis-cache-kwargs.yaml`, env);
  assert.ok(kwargs.ok);
  assert.ok(!kwargs.config.warnings.some((w) => fallback.test(w)), 'router_settings.cache_kwargs is the source, no fallback warning');
  const kwargsBare = loadConfigFile(`${litellmFixtures}redis-cache-kwargs.yaml`, {});
  assert.ok(kwargsBare.ok);
  assert.ok(kwargsBare.config.warnings.some((w) => /^router_settings\.cache_kwargs\.port \(line 17\): no Redis host or URL is set/.test(w)), kwargsBare.config.warnings.join('\n'));
  const multi = loadConfigFile(`${litellmFixtures}redis-cache.yaml`, env);
  assert.ok(multi.ok);
  assert.ok(multi.config.warnings.some((w) => /^litellm_settings\.cache \(line 9\): response caching is not implemented, but its Redis/.test(w)), multi.config.warnings.join('\n'));
  const bare = loadConfigFile(`${litellmFixtures}redis-cache.yaml`, {});
  assert.ok(bare.ok);
  assert.ok(bare.config.warnings.some((w) => /^litellm_settings\.cache \(line 9\): the Redis cache has no host or URL/.test(w)), bare.config.warnings.join('\n'));
  const host = loadConfigFile(`${litellmFixtures}redis-cache-host.yaml`, env);
  assert.ok(host.ok);
  assert.ok(host.config.warnings.some((w) => /^litellm_settings\.cache \(line 7\): response caching is not implemented, but its Redis/.test(w)), host.config.warnings.join('\n'));
  const lb = loadConfigFile(`${litellmFixtures}load-balancer.yaml`, {});
  assert.ok(lb.ok);
  assert.ok(lb.config.warnings.some((w) => w.startsWith('environment variable REDIS_HOST: Redis shares routing state')));
});
