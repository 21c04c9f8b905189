/**
 * Shared helpers for config tests: YAML written indented in a test, loaded with an explicit
 * environment. LiteLLM-shaped config files live in test/fixtures/litellm/.
 */
import assert from 'node:assert/strict';
import { formatProblems, loadConfigText } from '../../src/config/load.js';
import type { ConfigProblem, ProxyConfig } from '../../src/config/types.js';

/** Strips the indentation common to all lines, so YAML can be written indented in the test. */
export function yaml(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Loads indented YAML; fails the test with every problem listed when it is refused. */
export function load(text: string, env: NodeJS.ProcessEnv = {}): ProxyConfig {
  const r = loadConfigText(yaml(text), 'test.yaml', env);
  if (!r.ok) assert.fail(formatProblems('test.yaml', r.problems));
  return r.config;
}

/** The problems a config that must be refused is refused with. */
export function problems(text: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  const r = loadConfigText(yaml(text), 'test.yaml', env);
  assert.equal(r.ok, false, 'expected the config to be refused');
  return r.ok ? [] : r.problems;
}
