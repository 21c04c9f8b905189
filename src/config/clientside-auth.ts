/**
 * `litellm_params.configurable_clientside_auth_params`: which of a request's own endpoint
 * params a deployment's group accepts (LiteLLM `_is_param_allowed`). Items are names
 * (`api_base`, `base_url`: any value) or `{api_base: <pattern>}` mappings (a value equal to the
 * pattern, or one the pattern matches). LiteLLM matches with `re.match`, anchored at the start
 * only; we match the whole value (see docs/litellm-differences.md), so `https://a\.example\.com`
 * does not admit `https://a.example.com.evil.test`.
 */
import { isObject, kindOf } from './json.js';
import type { ConfigReader } from './reader.js';
import type { JsonValue } from './types.js';
import { joinIndex, joinKey } from './yaml-source.js';

export interface ClientsideAuth {
  /** Param names allowed with any value (`api_base`, `base_url`, ...). */
  readonly params: readonly string[];
  /** `{api_base: ...}` items as written: an exact value or a regular expression over the whole value. */
  readonly apiBasePatterns: readonly string[];
}

/** Reads the list; null when absent. Every bad item is a problem with its path. */
export function readClientsideAuth(r: ConfigReader, path: string, v: JsonValue | undefined): ClientsideAuth | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) {
    r.problem(path, `must be a list of param names (e.g. api_base) or {api_base: <regex>} mappings, got ${kindOf(v)}`);
    return null;
  }
  const params: string[] = [];
  const apiBasePatterns: string[] = [];
  v.forEach((item, i) => {
    const at = joinIndex(path, i);
    if (typeof item === 'string' && item !== '') {
      params.push(item);
      return;
    }
    const pattern = isObject(item) ? item.api_base : undefined;
    if (!isObject(item) || Object.keys(item).length !== 1 || typeof pattern !== 'string' || pattern === '') {
      r.problem(at, `must be a param name or a mapping {api_base: <regex>}, got ${kindOf(item)}`);
      return;
    }
    try {
      new RegExp(pattern);
    } catch (err) {
      r.problem(joinKey(at, 'api_base'), `is not a valid regular expression: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    apiBasePatterns.push(pattern);
  });
  return { params, apiBasePatterns };
}
