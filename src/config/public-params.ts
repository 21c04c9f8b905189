/**
 * Deployment params fit to show: every key-like field and header map removed at any depth,
 * credentials cut from URLs, and any string that holds a secret the loader collected cut
 * out. LiteLLM removes a fixed list of keys and masks the rest; we remove, never mask.
 * Used by every endpoint that shows deployments (/model/info, /health).
 */
import type { DeploymentConfig, JsonObject, JsonValue, ProxyConfig } from './types.js';

/** A deployment's `litellm_params` with every secret removed. */
export function publicParams(config: ProxyConfig, d: DeploymentConfig): JsonObject {
  return clean(d.litellmParams, config.secrets);
}

// --- secrets ---------------------------------------------------------------------------

const secretName = /key|secret|token|password|credential|auth/i;
/** Token counts and per-token prices (`max_tokens`, `input_cost_per_token`) are not credentials. */
const tokenCount = /tokens|per_token|token_cost|token_count/i;
/** Header maps hold credentials under any name (`api-key`, `x-goog-...`), so they go whole. */
const headerMaps = new Set(['extra_headers', 'headers']);
/** Below this length a secret is only cut when it is the whole value: it could be an ordinary word. */
const MIN_SCRUB_LENGTH = 6;
const REDACTED = '[redacted]';

function isSecretName(name: string): boolean {
  if (headerMaps.has(name.toLowerCase())) return true;
  if (!secretName.test(name)) return false;
  const withoutCounts = name.replace(new RegExp(tokenCount.source, 'gi'), '');
  return secretName.test(withoutCounts);
}

/** A copy of `obj` with secret-named keys removed at every depth and secret values cut. */
export function clean(obj: JsonObject, secrets: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    if (isSecretName(k)) continue;
    const c = cleanValue(v, secrets);
    if (c !== undefined) setOwn(out, k, c);
  }
  return out;
}

function cleanValue(v: JsonValue, secrets: readonly string[]): JsonValue | undefined {
  if (typeof v === 'string') return cleanString(v, secrets);
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const x of v) {
      const c = cleanValue(x, secrets);
      if (c !== undefined) out.push(c);
    }
    return out;
  }
  if (v !== null && typeof v === 'object') return clean(v, secrets);
  return v;
}

/** undefined: the value is a secret and is dropped. */
function cleanString(s: string, secrets: readonly string[]): string | undefined {
  let out = /^https?:\/\//i.test(s) ? cleanUrl(s) : s;
  for (const secret of secrets) {
    if (out === secret) return undefined;
    // secrets is sorted longest first, so a shorter secret never leaves part of a longer one.
    if (secret.length >= MIN_SCRUB_LENGTH && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** `https://user:pass@host/...?api-key=x` → `https://host/...`: credentials in URLs are still credentials. */
function cleanUrl(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return s;
  }
  let changed = false;
  if (u.username !== '' || u.password !== '') {
    u.username = '';
    u.password = '';
    changed = true;
  }
  for (const name of [...u.searchParams.keys()]) {
    if (secretName.test(name) || /^(sig|signature|code)$/i.test(name)) {
      u.searchParams.delete(name);
      changed = true;
    }
  }
  return changed ? u.toString() : s;
}

function setOwn(obj: JsonObject, key: string, value: JsonValue): void {
  // A key named `__proto__` must stay an own data property.
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
