/**
 * LiteLLM's fallbacks form, `[{"a": ["b", "c"]}, {"*": ["d"]}]`, parsed: the shape the loader
 * reads from router_settings / litellm_settings and the router reads from a request body.
 * The decisions that use the map (which targets, in what order) are in router/policy.ts.
 */
/** LiteLLM's `ROUTER_MAX_FALLBACKS`. */
export const DEFAULT_MAX_FALLBACKS = 5;

/** One fallback target: a model group (or deployment id), optionally with its own messages or body params. */
export type FallbackEntry = {
  readonly model: string;
  readonly messages?: readonly unknown[];
  readonly params?: Readonly<Record<string, unknown>>;
};

/** Model group → fallback targets, in order. The key `*` applies to every group. */
export type FallbackMap = ReadonlyMap<string, readonly FallbackEntry[]>;

export interface PolicyProblem {
  readonly path: string;
  readonly message: string;
}

export interface ParsedFallbacks {
  readonly map: FallbackMap;
  /** Shapes LiteLLM rejects (Router.validate_fallbacks raises) or cannot use. */
  readonly problems: readonly PolicyProblem[];
  /** Legal but probably unintended (a group listed twice). */
  readonly warnings: readonly PolicyProblem[];
}

/** Paths as the config loader writes them (`a.b[0].c`), so problems point at YAML lines. */
export function at(path: string, i: number): string {
  return `${path}[${i}]`;
}

export function key(path: string, k: string): string {
  return path === '' ? k : `${path}.${k}`;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const fallbackShape = 'a list of {model_group: [fallback groups]} mappings, e.g. [{"gpt-4o": ["gpt-4o-mini"]}, {"*": ["default-group"]}]';

/**
 * LiteLLM's fallbacks form `[{"a": ["b", "c"]}, {"*": ["d"]}]` (router config, litellm_settings,
 * or a request body in the same form). Each item must be a mapping with exactly one key
 * (Router.validate_fallbacks raises otherwise) whose value lists group names.
 *
 * When a group is listed twice LiteLLM's lookup (fallback_event_handlers.get_fallback_model_group)
 * stops at the first exact match but keeps the last `*`; the map keeps the same entries.
 */
export function parseFallbacks(value: unknown, path: string): ParsedFallbacks {
  const map = new Map<string, readonly FallbackEntry[]>();
  const problems: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];
  if (value === undefined || value === null) return { map, problems, warnings };
  if (!Array.isArray(value)) {
    problems.push({ path, message: `must be ${fallbackShape}` });
    return { map, problems, warnings };
  }
  const firstAt = new Map<string, number>();
  value.forEach((item: unknown, i) => {
    const p = at(path, i);
    if (!isRecord(item)) {
      problems.push({ path: p, message: `must be a mapping {model_group: [fallback groups]}, got ${describe(item)}` });
      return;
    }
    const keys = Object.keys(item);
    if (keys.length !== 1) {
      problems.push({
        path: p,
        message: `must have exactly one key (the model group), got ${keys.length === 0 ? 'none' : `${keys.length}: ${keys.map((k) => JSON.stringify(k)).join(', ')}`}; write one mapping per group`,
      });
      return;
    }
    const group = keys[0]!;
    const kp = key(p, group);
    if (group.trim() === '') {
      problems.push({ path: p, message: 'the model group must not be empty' });
      return;
    }
    const targets = item[group];
    if (!Array.isArray(targets)) {
      problems.push({ path: kp, message: `must be a list of model group names, e.g. [${JSON.stringify(typeof targets === 'string' ? targets : 'gpt-4o-mini')}], got ${describe(targets)}` });
      return;
    }
    const entries: FallbackEntry[] = [];
    let bad = false;
    targets.forEach((t: unknown, j) => {
      if (typeof t === 'string' && t.trim() !== '') entries.push({ model: t });
      else {
        problems.push({ path: at(kp, j), message: `must be a model group name, got ${describe(t)}` });
        bad = true;
      }
    });
    if (bad) return;
    const earlier = firstAt.get(group);
    if (earlier !== undefined) {
      const which = group === '*' ? 'the last' : 'the first';
      warnings.push({ path: p, message: `"${group}" already has fallbacks at ${at(path, earlier)}; LiteLLM uses ${which}, and so do we` });
      if (group !== '*') return;
    } else firstAt.set(group, i);
    map.set(group, entries);
  });
  return { map, problems, warnings };
}


export function describe(v: unknown): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return v === '' ? 'an empty string' : JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v;
}
