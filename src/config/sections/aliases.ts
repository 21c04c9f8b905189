/**
 * `router_settings.model_group_alias`. LiteLLM rewrites an alias to its target, then resolves
 * the target like any request; a target nothing serves is dropped with a warning, checked
 * with the config's one name resolver (model-names.ts).
 */
import { get, isObject, isUnset } from '../json.js';
import type { ModelNames } from '../model-names.js';
import type { ConfigReader } from '../reader.js';
import { closeName } from '../suggest.js';
import type { JsonObject, JsonValue, ModelGroupAlias } from '../types.js';
import { joinKey } from '../yaml-source.js';

/**
 * LiteLLM rewrites an alias to its target, then resolves the target like any request: model
 * group, deployment id, wildcard pattern, `litellm_params.model` (router.py
 * `_common_checks_available_deployment`). A target none of those serves is ignored with a
 * warning (LiteLLM starts and ignores it too): the alias then routes like any unknown name.
 */
export function readAliases(r: ConfigReader, router: JsonObject, groups: ReadonlyMap<string, unknown>, names: ModelNames): Map<string, ModelGroupAlias> {
  const out = new Map<string, ModelGroupAlias>();
  const path = 'router_settings.model_group_alias';
  const raw = get(router, 'model_group_alias');
  if (isUnset(raw)) return out;
  if (!isObject(raw)) {
    r.problem(path, `must be a mapping of alias: model group (or alias: {model: <group>, hidden: true}), got ${r.got(path, raw)}`);
    return out;
  }
  for (const [alias, value] of Object.entries(raw)) {
    const p = joinKey(path, alias);
    const parsed = readAlias(r, p, value);
    if (parsed === null) continue;
    const target = parsed.group;
    if (alias.trim() === '') {
      r.problem(p, 'an alias name must not be empty');
      continue;
    }
    if (groups.has(alias)) {
      r.problem(p, `"${alias}" is already a model group; an alias cannot shadow it (rename the alias or the group)`);
      continue;
    }
    if (alias.includes('*')) {
      r.warn(`${r.at(p)}: wildcard aliases are not implemented; the alias matches only the literal name "${alias}"`);
    }
    if (groups.has(target)) {
      out.set(alias, parsed);
      continue;
    }
    if (r.entryNames.has(target)) {
      // The compat configs alias groups whose providers we skip; that must not stop the load.
      r.warn(`${r.at(p)}: points to group "${target}", whose deployments were all skipped; alias ignored`);
      continue;
    }
    if (names.resolveUnaliased(target) !== null) {
      out.set(alias, parsed);
      continue;
    }
    const chained = get(raw, target);
    if (chained !== undefined) {
      const next = typeof chained === 'string' ? chained : isObject(chained) ? get(chained, 'model') : undefined;
      const hint = typeof next === 'string' ? `; point it at "${next}" instead` : '';
      r.problem(p, `points to "${target}", which is itself an alias; aliases do not chain${hint}`);
      continue;
    }
    // LiteLLM starts and the alias answers "Invalid model name"; so do we, with one warning.
    const close = closeName(target, [...groups.keys()]);
    r.warn(`${r.at(p)}: points to group "${target}", which no deployment defines${close === null ? '' : ` (did you mean "${close}"?)`}; alias ignored`);
  }
  return out;
}

/** `"group"` or `{model: "group", hidden: true}` (LiteLLM's `RouterModelGroupAliasItem`). */
function readAlias(r: ConfigReader, p: string, v: JsonValue): ModelGroupAlias | null {
  if (typeof v === 'string' && v !== '') return { group: v, hidden: false };
  if (!isObject(v)) {
    r.problem(p, `must name a model group, or be a mapping {model: <group>, hidden: true|false}; got ${r.got(p, v)}`);
    return null;
  }
  const mp = joinKey(p, 'model');
  const model = get(v, 'model');
  if (typeof model !== 'string' || model === '') {
    r.problem(mp, isUnset(model) && !r.hasEnvRef(mp) ? 'is required (the model group the alias stands for)' : `must be a non-empty string, got ${r.got(mp, model)}`);
    return null;
  }
  const hp = joinKey(p, 'hidden');
  const hiddenRaw = get(v, 'hidden');
  let hidden = false;
  if (!isUnset(hiddenRaw)) {
    if (typeof hiddenRaw !== 'boolean') {
      r.problem(hp, `must be true or false, got ${r.got(hp, hiddenRaw)}`);
      return null;
    }
    hidden = hiddenRaw;
  }
  for (const k of Object.keys(v)) {
    if (k !== 'model' && k !== 'hidden') r.warn(`${r.at(joinKey(p, k))}: unknown key (an alias takes model and hidden); ignored`);
  }
  return { group: model, hidden };
}
