/**
 * `switchyard check`: loads config files the way the server would, without serving, and says
 * per file what it would serve (groups, deployment counts, aliases) and every warning, or
 * every problem with its path and line. Like `nginx -t`: exit 0 only when every file loads.
 */
import { formatProblems, loadConfigFile } from './config/load.js';
import { Secrets } from './secrets.js';

export interface CheckResult {
  readonly ok: boolean;
  /** What to print, one file after another. */
  readonly text: string;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `env` is copied per file: one file's `environment_variables` must not leak into the next. */
export function checkConfigs(paths: readonly string[], env: NodeJS.ProcessEnv = process.env): CheckResult {
  const out: string[] = [];
  let ok = true;
  for (const path of paths) {
    const r = loadConfigFile(path, { ...env });
    if (!r.ok) {
      ok = false;
      out.push(formatProblems(path, r.problems));
      continue;
    }
    const c = r.config;
    const secrets = Secrets.of(c.secrets);
    const scrub = (s: string): string => secrets.redact(s);
    out.push(`${path}: ok, ${plural(c.groups.size, 'model group')}, ${plural(c.deployments.length, 'deployment')}, ${plural(c.warnings.length, 'warning')}`);
    for (const [group, deps] of c.groups) out.push(`  group ${scrub(group)}: ${plural(deps.length, 'deployment')}`);
    for (const [alias, a] of c.aliases) out.push(`  alias ${scrub(alias)} → ${scrub(a.group)}${a.hidden ? ' (hidden)' : ''}`);
    for (const w of c.warnings) out.push(`  warning: ${scrub(w)}`);
  }
  if (paths.length > 1) out.push(`${plural(paths.length, 'file')} checked: ${ok ? 'all load' : 'some do not load'}`);
  return { ok, text: out.join('\n') };
}
