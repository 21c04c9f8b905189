/**
 * Where and how a deployment connects: its base URL (given, or from the provider family's
 * environment variables), credentials, API version, organizations, `extra_headers`, and the
 * user-info of an `api_base`, each read with its own problems.
 */
import { splitApiBase, type ProviderFamily } from '../../providers/index.js';
import { urlSecrets } from '../../secrets.js';
import { pyStr } from '../deployment-id.js';
import { get, isObject, isUnset, kindOf, setOwn } from '../json.js';
import type { ConfigReader } from '../reader.js';
import type { JsonObject, JsonValue } from '../types.js';
import { joinIndex, joinKey } from '../yaml-source.js';

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `organization` as a list: the organizations, one deployment each. null: not a list (the
 * single value is read with the headers); undefined: a bad list (a problem is recorded).
 */
export function readOrganizations(r: ConfigReader, lpPath: string, lp: JsonObject): string[] | null | undefined {
  const org = get(lp, 'organization');
  if (!Array.isArray(org)) return null;
  const path = joinKey(lpPath, 'organization');
  if (org.length === 0) {
    r.problem(path, 'must list at least one organization (or be a single string)');
    return undefined;
  }
  const out: string[] = [];
  let bad = false;
  org.forEach((o, k) => {
    const p = joinIndex(path, k);
    if (typeof o !== 'string' || o === '') {
      r.problem(p, `must be a non-empty string, got ${r.got(p, o)}`);
      bad = true;
    } else if (/[\r\n\0]/.test(o)) {
      r.problem(p, 'must not contain line breaks or NUL');
      bad = true;
    } else out.push(o);
  });
  return bad ? undefined : out;
}

/**
 * `api_base: http://user:pw@host/v1`: the user-info is cut from the URL (it is shown in
 * headers, /model/info, /health) and sent as `Authorization: Basic` instead, as httpx (and so
 * LiteLLM) would. A deployment whose `api_key` or `extra_headers` also sets Authorization
 * is refused: an upstream reads one of them. null: the base carries no user-info, or it is refused.
 */
export function readUserinfo(
  r: ConfigReader, lpPath: string, provider: ProviderFamily, apiBase: string | null, apiKeyParam: string | null, extraHeaders: Readonly<Record<string, string>>,
): ReturnType<typeof splitApiBase> {
  const split = apiBase === null ? null : splitApiBase(apiBase);
  if (split === null) return null;
  for (const s of urlSecrets(apiBase!)) r.addPassword(s);
  r.addPassword(split.authorization);
  if (provider === 'mock') return split;
  const path = joinKey(lpPath, 'api_base');
  const why = 'has a user name and password, which Switchyard sends as Authorization: Basic';
  if (provider !== 'azure' && apiKeyParam !== null) {
    r.problem(path, `${why}, and api_key is sent as Authorization: Bearer; an upstream reads one of them, so keep one (put the key in api_key, or the credentials in the URL)`);
    return null;
  }
  if (Object.keys(extraHeaders).some((h) => h.toLowerCase() === 'authorization')) {
    r.problem(path, `${why}, and extra_headers sets Authorization too; keep one of them`);
    return null;
  }
  return split;
}

/**
 * The base URL from `api_base`, else from the first set variable of `envNames`.
 * null: none given; undefined: the one given is not a URL (a problem is recorded).
 */
export function readBase(r: ConfigReader, lpPath: string, param: string | null, envNames: readonly string[]): string | null | undefined {
  const path = joinKey(lpPath, 'api_base');
  if (param !== null) {
    if (isHttpUrl(param)) return param;
    // Shown without user-info: a value cut short for the message could keep part of a password.
    r.problem(path, `must be an http:// or https:// URL, got ${r.got(path, splitApiBase(param)?.base ?? param)}`);
    return undefined;
  }
  for (const name of envNames) {
    const v = r.envValue(name);
    if (v === null) continue;
    if (isHttpUrl(v)) return v;
    r.problem(path, `is not set, and environment variable ${name} is not an http:// or https:// URL`);
    return undefined;
  }
  return null;
}

/** `api_key` / `api_base`: a string; empty means not given (LiteLLM treats "" as falsy). */
export function readCredential(r: ConfigReader, path: string, v: JsonValue | undefined): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string') return v;
  r.problem(path, `must be a string, got ${r.hasEnvRef(path) ? r.got(path, v) : kindOf(v)}`);
  return null;
}

export function readApiVersion(r: ConfigReader, path: string, v: JsonValue | undefined): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return pyStr(r.pyView(v, path));
  r.problem(path, `must be a string such as "2024-10-21", got ${r.got(path, v)}`);
  return null;
}

export function readExtraHeaders(r: ConfigReader, lpPath: string, lp: JsonObject): Record<string, string> {
  const headers: Record<string, string> = {};
  const ehPath = joinKey(lpPath, 'extra_headers');
  const eh = get(lp, 'extra_headers');
  if (!isUnset(eh)) {
    if (!isObject(eh)) r.problem(ehPath, `must be a mapping of header names to values, got ${kindOf(eh)}`);
    else {
      for (const [name, v] of Object.entries(eh)) {
        const hp = joinKey(ehPath, name);
        if (v === null) continue;
        if (!headerName.test(name)) {
          r.problem(hp, 'is not a valid HTTP header name');
          continue;
        }
        if (typeof v === 'object') {
          r.problem(hp, `must be a string, got ${kindOf(v)}`);
          continue;
        }
        const text = typeof v === 'string' ? v : String(v);
        if (/[\r\n\0]/.test(text)) {
          r.problem(hp, 'must not contain line breaks or NUL');
          continue;
        }
        // Every extra header value is a secret (credentials travel under any header name).
        r.addSecret(text);
        setOwn(headers, name, text);
      }
    }
  }
  const orgPath = joinKey(lpPath, 'organization');
  const org = get(lp, 'organization');
  // A list makes one deployment per organization (readDeployment); each adds its own header.
  if (!isUnset(org) && org !== '' && !Array.isArray(org)) {
    if (typeof org !== 'string') r.problem(orgPath, `must be a string, got ${r.got(orgPath, org)}`);
    else if (/[\r\n\0]/.test(org)) r.problem(orgPath, 'must not contain line breaks or NUL');
    else if (!Object.keys(headers).some((h) => h.toLowerCase() === 'openai-organization')) headers['OpenAI-Organization'] = org;
  }
  return headers;
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
