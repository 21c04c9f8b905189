/**
 * ConfigReader: what every section reader shares while one config loads. It keeps the problems
 * (with their YAML lines) and the warnings, resolves `os.environ/` references and remembers
 * which paths held one (so messages name the variable, never its value), collects the secrets
 * to redact, and applies the number, boolean and string rules with LiteLLM's casting.
 */
import { MAX_TIMER_MS } from '../timer-delay.js';
import { isHeaderMap, isSecretName, isSecretValue, urlSecrets } from '../secrets.js';
import { PyFloat } from './deployment-id.js';
import { resolveEnvRefs, type EnvRef } from './env-refs.js';
import { get, isObject, isUnset, kindOf, parseNumeric, setOwn } from './json.js';
import type { ConfigProblem, JsonObject, JsonValue } from './types.js';
import { joinIndex, joinKey, lineOf, type YamlSource } from './yaml-source.js';

/** The longest duration in seconds a timer holds (timer-delay.ts). */
export const MAX_TIMER_S = MAX_TIMER_MS / 1000;

export interface NumberRule {
  readonly what: string;
  readonly ok: (n: number) => boolean;
}

export const rules = {
  count: { what: 'a non-negative integer', ok: (n) => Number.isInteger(n) && n >= 0 },
  positiveCount: { what: 'a positive integer', ok: (n) => Number.isInteger(n) && n > 0 },
  integer: { what: 'an integer', ok: (n) => Number.isInteger(n) },
  weight: { what: 'a non-negative number', ok: (n) => n >= 0 },
  seconds: { what: 'a positive number of seconds', ok: (n) => n > 0 },
  nonNegativeSeconds: { what: 'a non-negative number of seconds', ok: (n) => n >= 0 },
  megabytes: { what: 'a positive number of megabytes', ok: (n) => n > 0 },
  port: { what: 'an integer from 1 to 65535', ok: (n) => Number.isInteger(n) && n >= 1 && n <= 65535 },
} satisfies Record<string, NumberRule>;

/** Where a numeric field may be written, in lookup order: `[path of the mapping, mapping, key]`. */
export type Source = readonly [string, JsonObject, string];

/** A value and where it came from: a YAML path, or (env) the name of an environment variable. */
export interface Found {
  readonly value: JsonValue;
  readonly path: string;
  readonly env: boolean;
}

export class ConfigReader {
  readonly #problems: ConfigProblem[] = [];
  readonly #warnings: string[];
  /** Path → variable name of every resolved `os.environ/` value: messages name the variable, never the value. */
  readonly #envRefs = new Map<string, string>();
  readonly #env: Record<string, string | undefined>;
  readonly #exported = new Map<string, string>();
  readonly #secrets = new Set<string>();
  /** `model_name` of every model_list entry, served or skipped, to tell a typo from a skipped group. */
  readonly entryNames = new Set<string>();

  constructor(private readonly src: YamlSource, env: NodeJS.ProcessEnv) {
    this.#warnings = [...src.warnings];
    this.#env = { ...env };
  }

  /** The environment as this load sees it: the process's, plus `environment_variables`. */
  get env(): Readonly<Record<string, string | undefined>> {
    return this.#env;
  }

  /** Paths of YAML numbers written as floats (`30.0`), for Python's str() and the id hash. */
  get floatPaths(): ReadonlySet<string> {
    return this.src.floatPaths;
  }

  get problems(): readonly ConfigProblem[] {
    return this.#problems;
  }

  get problemCount(): number {
    return this.#problems.length;
  }

  get warnings(): readonly string[] {
    return this.#warnings;
  }

  get secrets(): ReadonlySet<string> {
    return this.#secrets;
  }

  /** What `environment_variables` exports, written to the target environment only when the load succeeds. */
  get exported(): ReadonlyMap<string, string> {
    return this.#exported;
  }

  warn(message: string): void {
    this.#warnings.push(message);
  }

  /** Whether the value at `path` came from an `os.environ/` reference. */
  hasEnvRef(path: string): boolean {
    return this.#envRefs.has(path);
  }

  /** An `environment_variables` entry: visible to later references at once, exported at the end. */
  exportVariable(name: string, text: string): void {
    this.#env[name] = text;
    this.#exported.set(name, text);
  }

  boolean(path: string, v: JsonValue | undefined): boolean {
    if (v === undefined || v === null) return false;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
    this.problem(path, `must be true or false, got ${this.got(path, v)}`);
    return false;
  }

  optionalBoolean(path: string, v: JsonValue | undefined): boolean | null {
    return isUnset(v) ? null : this.boolean(path, v);
  }

  /**
   * The first place that sets a value ('' counts as unset, as in LiteLLM's truthiness checks);
   * each later one that is also set gets a warning saying it lost.
   */
  pick(sources: readonly Source[], why: string): Found | null {
    let found: Found | null = null;
    for (const [at, obj, key] of sources) {
      const v = get(obj, key);
      if (isUnset(v) || v === '') continue;
      const path = joinKey(at, key);
      if (found === null) found = { value: v, path, env: false };
      else this.#warnings.push(`${this.at(path)}: ignored, ${found.path} is set and wins, ${why}`);
    }
    return found;
  }

  envFound(name: string): Found | null {
    const v = this.envValue(name);
    return v === null ? null : { value: v, path: name, env: true };
  }

  /** Describes a value for a message; environment values are never printed. */
  describe(f: Found): string {
    return f.env ? `the value of environment variable ${f.path}` : this.got(f.path, f.value);
  }

  /**
   * A problem with a value: at its YAML path, or for an environment variable at the variable's
   * name (no line), or at `environment_variables.NAME` when this config exported it.
   */
  problemAt(f: Found, message: string): void {
    if (!f.env) this.problem(f.path, message);
    else if (this.#exported.has(f.path)) this.problem(joinKey('environment_variables', f.path), message);
    else this.#problems.push({ path: f.path, line: null, message });
  }

  /** Passwords are secrets whatever they look like (addSecret skips numbers and booleans). */
  addPassword(s: string): void {
    if (s !== '') this.#secrets.add(s);
  }

  requiredString(path: string, v: JsonValue | undefined): string | null {
    if (typeof v === 'string' && v !== '') return v;
    this.problem(path, v === undefined || (v === null && !this.#envRefs.has(path)) ? 'is required' : `must be a non-empty string, got ${this.got(path, v)}`);
    return null;
  }

  /** Validates every place the field is written; the first valid one wins. */
  firstNumber(sources: readonly Source[], rule: NumberRule): number | null {
    let found: number | null = null;
    for (const [at, obj, key] of sources) {
      const n = this.number(joinKey(at, key), get(obj, key), rule);
      if (found === null) found = n;
    }
    return found;
  }

  /**
   * Numbers may be written as numeric strings ("300"), as LiteLLM casts them. A duration
   * longer than a timer can hold is clamped to MAX_TIMER_MS with a warning (setTimeout would
   * fire at once: every call a 408, an instant shutdown).
   */
  number(path: string, v: JsonValue | undefined, rule: NumberRule): number | null {
    if (v === undefined || v === null) return null;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? parseNumeric(v) : undefined;
    if (n !== undefined && Number.isFinite(n) && rule.ok(n)) {
      if ((rule === rules.seconds || rule === rules.nonNegativeSeconds) && n > MAX_TIMER_S) {
        this.#warnings.push(`${this.at(path)}: ${n} s is longer than a timer can hold; clamped to ${MAX_TIMER_S} s (about 24.8 days)`);
        return MAX_TIMER_S;
      }
      return n;
    }
    this.problem(path, `must be ${rule.what}, got ${this.got(path, v)}`);
    return null;
  }

  /** `quiet(path)`: an unset variable at that path needs no warning (it is never used). */
  resolve(value: JsonValue, path: string, quiet: (refPath: string) => boolean = () => false): JsonValue {
    const refs: EnvRef[] = [];
    const out = resolveEnvRefs(value, path, (name) => this.#env[name], refs);
    for (const ref of refs) {
      this.#envRefs.set(ref.path, ref.name);
      if (!ref.isSet && !quiet(ref.path)) this.#warnings.push(`${this.at(ref.path)}: environment variable ${ref.name} is not set; using null`);
    }
    return out;
  }

  envValue(name: string): string | null {
    const v = this.#env[name];
    return v === undefined || v === '' ? null : v;
  }

  /** A value as LiteLLM's Python sees it, for the id hash: integral YAML floats marked as such. */
  pyView(v: JsonValue, path: string): unknown {
    if (typeof v === 'number') return this.src.floatPaths.has(path) ? new PyFloat(v) : v;
    if (Array.isArray(v)) return v.map((x, i) => this.pyView(x, joinIndex(path, i)));
    if (isObject(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) setOwn(out, k, this.pyView(x, joinKey(path, k)));
      return out;
    }
    return v;
  }

  /** Describes a value for a message. Values that came from the environment are never printed. */
  got(path: string, v: JsonValue | undefined): string {
    const name = this.#envRefs.get(path);
    if (name !== undefined) return v === null ? `environment variable ${name}, which is not set` : `the value of environment variable ${name}`;
    if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return kindOf(v);
  }

  /** What a secret is is decided in src/secrets.ts; in a header map every value is one. */
  collectSecrets(v: JsonValue, key: string | null, inHeaderMap = false): void {
    if (typeof v === 'string') {
      if (inHeaderMap || (key !== null && isSecretName(key))) this.addSecret(v);
      else if (key === 'api_base' || /^https?:\/\/[^/?#]*@/i.test(v)) for (const s of urlSecrets(v)) this.addPassword(s);
    } else if (Array.isArray(v)) {
      for (const x of v) this.collectSecrets(x, key, inHeaderMap);
    } else if (isObject(v)) {
      const headers = inHeaderMap || (key !== null && isHeaderMap(key));
      for (const [k, x] of Object.entries(v)) this.collectSecrets(x, k, headers);
    }
  }

  /** Numbers and booleans under key-like names (`max_tokens: "20"`) are not secrets. */
  addSecret(s: string): void {
    if (isSecretValue(s)) this.#secrets.add(s);
  }

  at(path: string): string {
    const line = lineOf(this.src.lines, path);
    return line === null ? path : `${path} (line ${line})`;
  }

  problem(path: string, message: string): void {
    this.#problems.push({ path, line: path === '' ? null : lineOf(this.src.lines, path), message });
  }
}
