/**
 * Fallback rules: the config's and a request's fallback lists, parsed, and which targets a
 * failed group falls back to for each kind of error. Pure functions only: no I/O, no clock.
 */

import { at, describe, fallbackShape, isRecord, key, parseFallbacks, type FallbackEntry, type FallbackMap, type PolicyProblem } from '../../config/fallbacks.js';

// The config's form and its parser live in config/ (the loader validates it); re-exported for the router.
export { DEFAULT_MAX_FALLBACKS, parseFallbacks, type FallbackEntry, type FallbackMap, type ParsedFallbacks, type PolicyProblem } from '../../config/fallbacks.js';

/**
 * Keys a request's fallback entry may not set: a client must not redirect a fallback to another
 * endpoint or credentials (the proxy never takes those from a body), nor nest fallbacks.
 */
const forbiddenFallbackParams = new Set([
  'api_key', 'api_base', 'base_url', 'api_version', 'organization', 'custom_llm_provider', 'extra_headers',
  'fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks', 'default_fallbacks',
]);

/**
 * A request body's `fallbacks` (or `context_window_fallbacks` / `content_policy_fallbacks`),
 * parsed into a map. It is a Map, so it drops in wherever the router's map goes; `problems`
 * lists what could not be used (the caller should answer 400), and `appliesToAllErrors` marks
 * LiteLLM's "non-standard" forms, which it uses for every error kind, before the
 * context-window and content-policy special cases.
 */
export class RequestFallbacks extends Map<string, readonly FallbackEntry[]> {
  readonly problems: readonly PolicyProblem[];
  readonly appliesToAllErrors: boolean;

  constructor(entries: Iterable<readonly [string, readonly FallbackEntry[]]>, problems: readonly PolicyProblem[], appliesToAllErrors: boolean) {
    super(entries);
    this.problems = problems;
    this.appliesToAllErrors = appliesToAllErrors;
  }
}

/**
 * The three forms LiteLLM accepts in a request body (router.py
 * `async_function_with_fallbacks_common_utils`, fallback_event_handlers
 * `_check_non_standard_fallback_format`):
 *
 *   - the dict form `[{"a": ["b"]}]`, as in the config;
 *   - a plain list of names `["g1", "g2"]`, which applies to the requested group;
 *   - a list of parameter sets `[{"model": "g1", "messages": [...]}]`, each merged into the
 *     request (an entry without `model` re-runs the requested group with other parameters).
 *
 * An item is a parameter set when it has `messages` or any value that is not a list (`model`,
 * `temperature`, ...); a mapping of names to lists is the dict form (LiteLLM decides the same way).
 */
export function parseRequestFallbacks(value: unknown, group: string): RequestFallbacks {
  const path = 'fallbacks';
  if (!Array.isArray(value)) {
    return new RequestFallbacks([], [{ path, message: `must be a list of model group names, of {model, messages} objects, or ${fallbackShape}; got ${describe(value)}` }], false);
  }
  if (value.length === 0) return new RequestFallbacks([], [], false);
  if (value.every((v) => typeof v === 'string')) {
    const problems: PolicyProblem[] = [];
    const entries: FallbackEntry[] = [];
    value.forEach((v: string, i) => {
      if (v.trim() === '') problems.push({ path: at(path, i), message: 'must be a model group name, got an empty string' });
      else entries.push({ model: v });
    });
    return new RequestFallbacks([[group, entries]], problems, true);
  }
  if (!value.every(isRecord)) {
    return new RequestFallbacks([], [{ path, message: `mixes model group names with objects; use one form: ["g1", "g2"], [{"model": "g1", ...}], or ${fallbackShape}` }], false);
  }
  const items = value as Record<string, unknown>[];
  // LiteLLM: a parameter set has a known param key whose value is not a list.
  const isParams = (item: Record<string, unknown>): boolean =>
    Object.hasOwn(item, 'messages') || Object.values(item).some((v) => !Array.isArray(v));
  if (!items.some(isParams)) {
    const parsed = parseFallbacks(items, path);
    return new RequestFallbacks(parsed.map, parsed.problems, false);
  }
  const problems: PolicyProblem[] = [];
  const entries: FallbackEntry[] = [];
  items.forEach((item, i) => {
    const p = at(path, i);
    if (!isParams(item)) {
      problems.push({ path: p, message: 'mixes the {model_group: [fallbacks]} form with {model, messages} objects; use one form' });
      return;
    }
    let model = group;
    let messages: readonly unknown[] | undefined;
    const params: Record<string, unknown> = {};
    let nParams = 0;
    let ok = true;
    for (const [k, v] of Object.entries(item)) {
      if (k === 'model') {
        if (typeof v === 'string' && v.trim() !== '') model = v;
        else {
          problems.push({ path: key(p, 'model'), message: `must be a model group name, got ${describe(v)}` });
          ok = false;
        }
      } else if (k === 'messages') {
        if (Array.isArray(v)) messages = v;
        else {
          problems.push({ path: key(p, 'messages'), message: `must be a list of messages, got ${describe(v)}` });
          ok = false;
        }
      } else if (forbiddenFallbackParams.has(k)) {
        problems.push({ path: key(p, k), message: `cannot be set in a fallback: a fallback may change the model, messages and body parameters, not ${k}` });
        ok = false;
      } else {
        Object.defineProperty(params, k, { value: v, writable: true, enumerable: true, configurable: true });
        nParams++;
      }
    }
    if (!ok) return;
    entries.push({ model, ...(messages !== undefined ? { messages } : {}), ...(nParams > 0 ? { params } : {}) });
  });
  return new RequestFallbacks([[group, entries]], problems, true);
}

export type FallbackKind = 'general' | 'context-window' | 'content-policy';

export interface FallbackMaps {
  readonly general: FallbackMap;
  /** `context_window_fallbacks`; null = not set (context-window errors use the general chain). */
  readonly contextWindow: FallbackMap | null;
  /** `content_policy_fallbacks`; null = not set. */
  readonly contentPolicy: FallbackMap | null;
  /**
   * `default_fallbacks`. LiteLLM appends them to the router's fallbacks as `{"*": [...]}`, so
   * they apply to the general chain only, and a request's own `fallbacks` (which replace the
   * router's) drop them: pass [] then.
   */
  readonly defaults: readonly string[];
}

const noEntries: readonly FallbackEntry[] = [];

/**
 * Key lookup (fallback_event_handlers.get_fallback_model_group): the exact group, else the
 * group without its `provider/` prefix (a wildcard request `openai/gpt-4o` matches key
 * `gpt-4o`), else `*`. LiteLLM strips only names in its provider list; we strip any first
 * path segment. `star` is false to skip the `*` entry.
 */
function lookup(map: FallbackMap, group: string, star: boolean): readonly FallbackEntry[] | null {
  const exact = map.get(group);
  if (exact !== undefined) return exact;
  const slash = group.indexOf('/');
  if (slash > 0) {
    const stripped = map.get(group.slice(slash + 1));
    if (stripped !== undefined) return stripped;
  }
  return star ? (map.get('*') ?? null) : null;
}

/**
 * The fallback targets for a group that failed with an error of this kind, in order, without
 * the group itself (LiteLLM's run_async_fallback skips it).
 *
 *   - general: the group's entry (exact → provider-stripped), else `default_fallbacks`, else
 *     the `*` entry (LiteLLM appends default_fallbacks after the configured list and keeps the
 *     last `*`, so they win over a configured `*`);
 *   - context-window / content-policy: when their own map is set, only that map, never the
 *     general chain (no entry → the original error stands); when unset, the general chain.
 *
 * LiteLLM looks up the special maps by exact key only; we also honour the provider-stripped
 * key and `*` there, since that is what such an entry can only mean.
 */
export function fallbackTargets(kind: FallbackKind, group: string, maps: FallbackMaps): readonly FallbackEntry[] {
  let found: readonly FallbackEntry[] | null;
  const special = kind === 'context-window' ? maps.contextWindow : kind === 'content-policy' ? maps.contentPolicy : null;
  if (special !== null) found = lookup(special, group, true);
  else {
    found = lookup(maps.general, group, false);
    if (found === null && maps.defaults.length > 0) found = maps.defaults.map((model) => ({ model }));
    if (found === null) found = maps.general.get('*') ?? null;
  }
  if (found === null || found.length === 0) return noEntries;
  // An entry carrying its own messages or params may re-run the same group (LiteLLM compares the dict to the name, never equal).
  return found.some((e) => e.model === group && !e.messages && !e.params)
    ? found.filter((e) => e.model !== group || e.messages !== undefined || e.params !== undefined)
    : found;
}

/**
 * Whether a successful response with `finish_reason: "content_filter"` becomes a content-policy
 * failure (router.py `_should_raise_content_policy_error`): only when it has somewhere to go.
 * LiteLLM checks the content-policy map by exact key, else any default fallback; we ask the
 * same lookup the failure would use.
 */
export function contentFilterTriggersFallback(group: string, maps: FallbackMaps): boolean {
  return fallbackTargets('content-policy', group, maps).length > 0;
}
