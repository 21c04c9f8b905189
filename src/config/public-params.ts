/**
 * Deployment params fit to show: every key-like field and header map removed at any depth,
 * credentials cut from URLs, and any string that holds a secret the loader collected cut
 * out. LiteLLM removes a fixed list of keys and masks the rest; we remove, never mask.
 * Used by every endpoint that shows deployments (/model/info, /health). What counts as a
 * secret is decided in src/secrets.ts.
 */
import { isSecretName, Secrets, urlWithoutCredentials } from '../secrets.js';
import type { DeploymentConfig, JsonObject, JsonValue, ProxyConfig } from './types.js';

/** A deployment's `litellm_params` with every secret removed. */
export function publicParams(config: ProxyConfig, d: DeploymentConfig): JsonObject {
  return clean(d.litellmParams, config.secrets);
}

/** A copy of `obj` with secret-named keys removed at every depth and secret values cut. */
export function clean(obj: JsonObject, secrets: readonly string[]): JsonObject {
  return cleanObject(obj, Secrets.of(secrets));
}

function cleanObject(obj: JsonObject, secrets: Secrets): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    if (isSecretName(k)) continue;
    const c = cleanValue(v, secrets);
    if (c !== undefined) setOwn(out, k, c);
  }
  return out;
}

function cleanValue(v: JsonValue, secrets: Secrets): JsonValue | undefined {
  if (typeof v === 'string') return cleanString(v, secrets);
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const x of v) {
      const c = cleanValue(x, secrets);
      if (c !== undefined) out.push(c);
    }
    return out;
  }
  if (v !== null && typeof v === 'object') return cleanObject(v, secrets);
  return v;
}

/** undefined: the value is a secret and is dropped. */
function cleanString(s: string, secrets: Secrets): string | undefined {
  const shown = /^https?:\/\//i.test(s) ? urlWithoutCredentials(s) : s;
  if (secrets.has(s) || secrets.has(shown)) return undefined;
  return secrets.redact(shown);
}

function setOwn(obj: JsonObject, key: string, value: JsonValue): void {
  // A key named `__proto__` must stay an own data property.
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
