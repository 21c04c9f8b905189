/**
 * Redis URLs as ioredis reads them, parsed without ever putting the URL (or its password) in a
 * message; and the masked form of a URL for the messages that must show one.
 */
import { rules } from './reader.js';

/** The port of a Redis host given without one. */
export const DEFAULT_REDIS_PORT = 6379;

export type RedisUrl =
  | { ok: true; cluster: boolean; tls: boolean; nodes: { host: string; port: number }[]; username: string | null; password: string | null; hasQuery: boolean }
  | { ok: false; reason: string };

/**
 * `redis://`, `rediss://` (TLS), and `redis+cluster://` / `rediss+cluster://` with a
 * comma-separated list of nodes (`redis+cluster://a:7000,b:7001`). Userinfo as WHATWG URL and
 * ioredis read it: `user:password`, `:password`, or a user name alone. Reasons never hold the URL.
 */
export function parseRedisUrl(s: string): RedisUrl {
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
export function parseHostPort(item: string): { host: string; port: number } | string {
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
export function redactUrl(s: string): string {
  const scheme = s.indexOf('://');
  if (scheme === -1) return s.includes('@') ? '***' : s;
  const rest = s.slice(scheme + 3);
  const at = rest.lastIndexOf('@');
  if (at === -1) return s;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  return `${s.slice(0, scheme + 3)}${colon === -1 ? '***' : `${userinfo.slice(0, colon)}:***`}${rest.slice(at)}`;
}
