/**
 * `os.environ/NAME` references, as LiteLLM's `get_secret` resolves them: the whole string is
 * replaced by the variable's value, `"true"`/`"false"` (any case) become booleans, and an
 * unset variable becomes null. LiteLLM's `_check_for_os_environ_vars` skips bare strings
 * inside lists; we resolve those too, so `fallbacks: [os.environ/X]` works.
 */
import type { JsonObject, JsonValue } from './types.js';
import { joinIndex, joinKey } from './yaml-source.js';

export const ENV_REF_PREFIX = 'os.environ/';

export interface EnvRef {
  /** YAML path of the value that named the variable. */
  readonly path: string;
  readonly name: string;
  readonly isSet: boolean;
}

export type EnvLookup = (name: string) => string | undefined;

/** A copy of `value` with every reference replaced; each reference met is appended to `refs`. */
export function resolveEnvRefs(value: JsonValue, path: string, lookup: EnvLookup, refs: EnvRef[]): JsonValue {
  if (typeof value === 'string') {
    if (!value.startsWith(ENV_REF_PREFIX)) return value;
    const name = value.slice(ENV_REF_PREFIX.length);
    const found = lookup(name);
    refs.push({ path, name, isSet: found !== undefined });
    if (found === undefined) return null;
    const lower = found.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    return found;
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveEnvRefs(v, joinIndex(path, i), lookup, refs));
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, { value: resolveEnvRefs(v, joinKey(path, k), lookup, refs), writable: true, enumerable: true, configurable: true });
    }
    return out;
  }
  return value;
}
