/**
 * LiteLLM proxy `config.yaml` → validated, frozen `ProxyConfig`.
 *
 * Load (YAML with positions) → export `environment_variables` → resolve `os.environ/` refs →
 * read each section (sections/*.ts), collecting every problem with its path and line → build
 * the one name resolver → freeze. Keys LiteLLM knows but we do not implement produce one
 * warning each; they never stop a load. This file only orchestrates: which section, in which
 * order; the rules are in reader.ts and the section readers.
 */
import { readFileSync } from 'node:fs';
import { Secrets } from '../secrets.js';
import { get, isObject, kindOf } from './json.js';
import { ModelNames } from './model-names.js';
import { ConfigReader, rules } from './reader.js';
import { readAliases } from './sections/aliases.js';
import { readDeployments } from './sections/deployments.js';
import { readRedis } from './sections/redis.js';
import { readReliability } from './sections/reliability.js';
import {
  checkSettingsKeys, exportEnvironmentVariables, knownSections, readRoutingStrategy, readSection, readServer, readStrategyArgs, readTimeouts,
} from './sections/settings.js';
import type { ConfigProblem, DeploymentConfig, ProxyConfig } from './types.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

export { implementedSettings } from './sections/settings.js';

export type LoadResult = { ok: true; config: ProxyConfig } | { ok: false; problems: ConfigProblem[] };

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return failed([{ path: '', line: null, message: `cannot read the config file: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return loadConfigText(text, path, env);
}

/**
 * `environment_variables` are exported into `env` (as LiteLLM exports them into `os.environ`),
 * but only when the load succeeds, so a refused hot reload leaves the environment alone.
 */
export function loadConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const parsed = parseYamlSource(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  if (!parsed.ok) return failed(parsed.problems);
  return load(parsed.source, source, env);
}

export function formatProblems(source: string, problems: readonly ConfigProblem[]): string {
  const n = problems.length;
  const out = [`${source}: ${n} ${n === 1 ? 'problem' : 'problems'}`];
  for (const p of problems) {
    const where = p.path !== ''
      ? `${p.path}${p.line !== null ? ` (line ${p.line})` : ''}: `
      : p.line !== null ? `line ${p.line}: ` : '';
    out.push(`  ${where}${p.message}`);
  }
  return out.join('\n');
}

function failed(problems: ConfigProblem[]): LoadResult {
  return deepFreeze({ ok: false, problems });
}

function load(src: YamlSource, source: string, targetEnv: NodeJS.ProcessEnv): LoadResult {
  const root = src.value;
  if (root === undefined || root === null) return failed([{ path: '', line: null, message: 'config is empty' }]);
  if (!isObject(root)) {
    return failed([{ path: '', line: 1, message: `the config must be a mapping of sections (model_list, router_settings, ...), got ${kindOf(root)}` }]);
  }
  const r = new ConfigReader(src, targetEnv);

  for (const key of Object.keys(root)) {
    if (key === 'include') r.warn('include: not supported by Switchyard (copy the included files into this one); ignored');
    else if (!knownSections.includes(key)) r.warn(`${key}: not implemented by Switchyard; ignored`);
  }

  // Before any resolution, unlike LiteLLM (which exports them after its first pass), so an
  // `os.environ/X` whose X is defined under environment_variables resolves.
  exportEnvironmentVariables(r, get(root, 'environment_variables'));

  const litellm = readSection(r, root, 'litellm_settings');
  const router = readSection(r, root, 'router_settings');
  const general = readSection(r, root, 'general_settings');
  checkSettingsKeys(r, [['router_settings', router], ['litellm_settings', litellm], ['general_settings', general]]);

  const routingStrategy = readRoutingStrategy(r, router);
  const routingStrategyArgs = readStrategyArgs(r, router);
  const enablePreCallChecks = r.boolean('router_settings.enable_pre_call_checks', get(router, 'enable_pre_call_checks'));
  const dropParams = r.boolean('litellm_settings.drop_params', get(litellm, 'drop_params'));
  const defaultMaxParallelRequests = r.number('router_settings.default_max_parallel_requests', get(router, 'default_max_parallel_requests'), rules.positiveCount);
  const defaults = readTimeouts(r, router, litellm);
  const server = readServer(r, general, litellm);
  const deployments = readDeployments(r, get(root, 'model_list'), { ...defaults, defaultMaxParallelRequests });
  const groups = new Map<string, DeploymentConfig[]>();
  for (const d of deployments) {
    const list = groups.get(d.group);
    if (list) list.push(d);
    else groups.set(d.group, [d]);
  }
  // The one name resolver: alias targets are checked with it, then it takes the aliases.
  const names = new ModelNames({ deployments, groups });
  const aliases = readAliases(r, router, groups, names);
  names.setAliases(aliases);
  const reliability = readReliability(r, router, litellm, groups, names, aliases);
  const redis = readRedis(r, router, litellm);

  if (r.problemCount > 0) {
    // Reading order: file-level problems first, then by line (sort is stable within a line).
    const scrub = new Secrets(r.secrets);
    const byLine = r.problems.map((p) => ({ ...p, message: scrub.redact(p.message) }))
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    return failed(byLine);
  }

  for (const [k, v] of r.exported) targetEnv[k] = v;
  // Longest first, so a redactor replacing in order never leaves part of a longer secret.
  const secrets = [...r.secrets].sort((a, b) => b.length - a.length);
  const scrubber = new Secrets(secrets);
  const config: ProxyConfig = {
    source,
    deployments,
    groups,
    aliases,
    names,
    router: { routingStrategy, routingStrategyArgs, enablePreCallChecks, dropParams, defaultMaxParallelRequests, raw: router },
    reliability,
    server,
    redis,
    litellmSettings: litellm,
    generalSettings: general,
    warnings: r.warnings.map((w) => scrubber.redact(w)),
    secrets,
  };
  return deepFreeze({ ok: true, config });
}

/** Recursively freezes; Maps are also made to throw on mutation, which Object.freeze alone does not prevent. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      deepFreeze(k);
      deepFreeze(v);
    }
    const readonly = (): never => {
      throw new TypeError('the loaded config is frozen');
    };
    Object.defineProperties(value, { set: { value: readonly }, delete: { value: readonly }, clear: { value: readonly } });
  } else {
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return Object.freeze(value);
}
