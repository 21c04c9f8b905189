/**
 * The `model` a client sent → the model group that serves it, in LiteLLM's order
 * (router.py `_common_checks_available_deployment`, proxy/route_llm_request.py):
 *
 *   exact model group → `model_group_alias` → deployment id → wildcard group, most specific
 *   first, matched against the name as sent, then as `<provider>/<name>` with the provider
 *   inferred from a bare name (`claude-3-5-sonnet` → `anthropic/claude-3-5-sonnet`) → a
 *   deployment whose `litellm_params.model` equals the request ("specific deployment").
 *
 * Exact names, aliases and ids are one Map lookup; wildcard and miss results are cached.
 *
 * Built once per config, by the loader (`config.names`): the loader checks alias and fallback
 * targets with it, the router resolves requests with it, the server lists /v1/models and the
 * model-info endpoints with it. This file holds the one wildcard matcher.
 */

import { inferProvider } from './model-data.js';

/** The fields of a DeploymentConfig (types.ts) that names resolve through; types.ts imports this file, not the reverse. */
export interface NamedDeployment {
  readonly id: string;
  readonly group: string;
  /** `litellm_params.model`. */
  readonly model: string;
}

/** What the names are built from: the served deployments, their groups, and the aliases (a ProxyConfig is one). */
export interface NameSource {
  readonly deployments: readonly NamedDeployment[];
  readonly groups: ReadonlyMap<string, unknown>;
  readonly aliases: ReadonlyMap<string, { readonly group: string; readonly hidden: boolean }>;
}

export interface Resolved {
  /** The model group (actor) that serves it. */
  readonly group: string;
  /**
   * What x-litellm-model-group reports: the alias when an alias was used; for a wildcard match
   * the name the client sent (LiteLLM's model group there is the request, e.g. `openai/gpt-4o`,
   * which is also the key its fallback lookup uses); else the group.
   */
  readonly reportedGroup: string;
  /** Set when the client named one deployment by id: only that deployment may serve it. */
  readonly deploymentId: string | null;
  /** For wildcard groups: the text each `*` matched, substituted into litellm_params.model to get the upstream model. */
  readonly wildcardCaptures: readonly string[] | null;
}

/** Wildcard and unknown names are cached up to this many entries, oldest evicted first. */
const CACHE_LIMIT = 1000;
/** Longer names are resolved every time: caching them would let clients pin large strings. */
const CACHE_MAX_NAME = 256;

interface Wildcard {
  readonly group: string;
  /** The pattern split at `*`: literal, star, literal, ..., literal. */
  readonly literals: readonly string[];
}

export class ModelNames {
  /** Groups, aliases and ids, later kinds never overriding earlier ones. */
  readonly #direct = new Map<string, Resolved>();
  readonly #wildcards: readonly Wildcard[];
  /** First deployment per `litellm_params.model`, as LiteLLM's `_get_deployment_by_litellm_model`. */
  readonly #byModel = new Map<string, NamedDeployment>();
  readonly #cache = new Map<string, Resolved | null>();
  /** Group names in config order. */
  readonly #groups: ReadonlySet<string>;

  readonly #ids = new Map<string, Resolved>();
  #listed: readonly string[] = [];
  #aliased = false;

  /**
   * `aliases` may be left out and given once, later, with `setAliases` (until then deployment
   * ids do not resolve): the loader checks each alias's target with `resolveUnaliased` before
   * it knows which aliases stand.
   */
  constructor(config: Omit<NameSource, 'aliases'> & { readonly aliases?: NameSource['aliases'] }) {
    for (const d of config.deployments) {
      if (!this.#ids.has(d.id)) this.#ids.set(d.id, { group: d.group, reportedGroup: d.group, deploymentId: d.id, wildcardCaptures: null });
      if (!this.#byModel.has(d.model)) this.#byModel.set(d.model, d);
    }
    const wildcards: Wildcard[] = [];
    for (const group of config.groups.keys()) {
      this.#direct.set(group, { group, reportedGroup: group, deploymentId: null, wildcardCaptures: null });
      if (group.includes('*')) wildcards.push({ group, literals: group.split('*') });
    }
    // Most specific first: the longer pattern, then the one with more literal characters
    // (LiteLLM sorts its patterns the same way); ties keep config order (the sort is stable).
    wildcards.sort((a, b) => b.group.length - a.group.length || literalLength(b) - literalLength(a));
    this.#wildcards = wildcards;
    this.#groups = new Set(config.groups.keys());
    if (config.aliases !== undefined) this.setAliases(config.aliases);
  }

  /** Adds the aliases, once (the loader calls it before the config is frozen). */
  setAliases(aliases: NameSource['aliases']): void {
    if (this.#aliased) throw new Error('ModelNames: the aliases are already set');
    this.#aliased = true;
    this.#cache.clear();
    // An alias is rewritten to its target, which then resolves like a request, minus aliases.
    for (const [alias, { group: target }] of aliases) {
      if (this.#direct.has(alias)) continue;
      const r = this.resolveUnaliased(target);
      if (r !== null) this.#direct.set(alias, { ...r, reportedGroup: alias });
    }
    for (const [id, r] of this.#ids) if (!this.#direct.has(id)) this.#direct.set(id, r);

    const listed: string[] = [];
    for (const [alias, a] of aliases) if (!a.hidden && !this.#groups.has(alias)) listed.push(alias);
    for (const group of this.#groups) listed.push(group);
    this.#listed = listed;
  }

  /**
   * What an alias target resolves to: a model group, a deployment id, a wildcard match or a
   * deployment's `litellm_params.model`, never another alias (aliases do not chain). Uncached:
   * the loader calls it once per alias.
   */
  resolveUnaliased(name: string): Resolved | null {
    const group = this.#groups.has(name) ? this.#direct.get(name) : undefined;
    return group ?? this.#ids.get(name) ?? this.#afterDirect(name);
  }

  /** Whether some group's name has a `*`, so names that no group spells out may still route. */
  get hasWildcards(): boolean {
    return this.#wildcards.length > 0;
  }

  resolve(model: string): Resolved | null {
    const direct = this.#direct.get(model);
    if (direct !== undefined) return direct;
    const cached = this.#cache.get(model);
    if (cached !== undefined) return cached;
    const r = this.#afterDirect(model);
    if (model.length <= CACHE_MAX_NAME) {
      if (this.#cache.size >= CACHE_LIMIT) {
        const oldest = this.#cache.keys().next();
        if (oldest.done !== true) this.#cache.delete(oldest.value);
      }
      this.#cache.set(model, r);
    }
    return r;
  }

  /**
   * The model for one deployment of a wildcard group: each `*` of `pattern` (the deployment's
   * `litellm_params.model`, or its upstream model) replaced, in order, by the next capture
   * (LiteLLM `PatternMatchRouter.set_deployment_model_name`): `openai/*` + `['gpt-4o']` →
   * `openai/gpt-4o`. A pattern without `*` is returned as is; extra `*`s stay. With more
   * captures than `*`s LiteLLM falls back to the name the client sent: pass it as `request`.
   */
  static substitute(pattern: string, captures: readonly string[], request?: string): string {
    if (!pattern.includes('*')) return pattern;
    const parts = pattern.split('*');
    if (captures.length > parts.length - 1 && request !== undefined) return request;
    let out = parts[0] ?? '';
    for (let i = 1; i < parts.length; i++) out += (captures[i - 1] ?? '*') + (parts[i] ?? '');
    return out;
  }

  /** Names /v1/models lists, in order: non-hidden aliases first (LiteLLM lists aliases before real names), then groups in config order (wildcard groups listed under their own names). */
  listed(): readonly string[] {
    return this.#listed;
  }

  #matchWildcard(model: string): Resolved | null {
    for (const w of this.#wildcards) {
      const captures = matchCaptures(w.literals, model);
      if (captures !== null) return { group: w.group, reportedGroup: model, deploymentId: null, wildcardCaptures: captures };
    }
    return null;
  }

  /** Wildcard groups (the name as sent, then with its inferred provider), then the specific-deployment fallback. */
  #afterDirect(model: string): Resolved | null {
    const w = this.#matchWildcard(model);
    if (w !== null) return w;
    // LiteLLM's PatternMatchRouter.get_pattern: `route(model) or route(f"{provider}/{model}")`,
    // the provider from get_llm_provider (claude-… → anthropic, gpt-… → openai).
    if (this.#wildcards.length > 0) {
      const provider = inferProvider(model);
      if (provider !== null) {
        const inferred = this.#matchWildcard(`${provider}/${model}`);
        if (inferred !== null) return { ...inferred, reportedGroup: model };
      }
    }
    const d = this.#byModel.get(model);
    if (d !== undefined) return { group: d.group, reportedGroup: d.group, deploymentId: d.id, wildcardCaptures: null };
    return null;
  }
}

function literalLength(w: Wildcard): number {
  return w.group.length - (w.literals.length - 1);
}

/**
 * Full match of `text` against a pattern split at `*`, with the captures Python's greedy
 * `(.*)` groups would hold: the first `*` takes as much as it can, then the second, and so on.
 * Each literal is placed at its latest position that still leaves room for the literals after
 * it, found right to left with lastIndexOf, so a client-chosen name never causes backtracking.
 */
function matchCaptures(literals: readonly string[], text: string): string[] | null {
  const k = literals.length - 1;
  const first = literals[0] ?? '';
  const last = literals[k] ?? '';
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return null;
  // starts[j] = where literal j begins.
  const starts = new Array<number>(k + 1);
  starts[0] = 0;
  starts[k] = text.length - last.length;
  for (let j = k - 1; j >= 1; j--) {
    const lit = literals[j] ?? '';
    const limit = (starts[j + 1] ?? 0) - lit.length;
    if (limit < first.length) return null;
    const at = text.lastIndexOf(lit, limit);
    if (at < first.length) return null;
    starts[j] = at;
  }
  const captures: string[] = [];
  for (let j = 1; j <= k; j++) {
    const from = (starts[j - 1] ?? 0) + (literals[j - 1] ?? '').length;
    captures.push(text.slice(from, starts[j]));
  }
  return captures;
}
