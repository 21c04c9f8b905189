/**
 * What a secret is, and how it is kept out of everything that leaves the process.
 *
 * The config loader collects every secret value (see `isSecretName`); this module then
 * redacts those values wherever they appear: in log lines, in upstream error bodies and
 * exception messages relayed to clients, in SSE error events, in `/health` and
 * `/model/info`. Redaction is by value, so it holds whatever an upstream echoes back.
 * It runs on error paths and on shown config only, never on a successful response.
 */

export const REDACTED = '[redacted]';

/**
 * Secrets shorter than this are never cut out of text (they would mangle ordinary words);
 * a shown config value that is exactly such a secret is still dropped.
 */
export const MIN_REDACT_LENGTH = 4;
/** Secrets shorter than this are cut only where they stand as a whole word (`pw12` not in `pw123`). */
const WHOLE_WORD_BELOW = 8;

const secretName = /key|secret|token|password|credential|auth/i;
/** Token counts and per-token prices (`max_tokens`, `input_cost_per_token`) are not credentials. */
const tokenCount = /tokens|per_token|token_cost|token_count/gi;
/** Header maps hold credentials under any name (`api-key`, `x-goog-...`): every value in them is one. */
const headerMaps = new Set(['extra_headers', 'headers']);
/** Query parameters that carry credentials in URLs (Azure SAS `sig`, OAuth `code`). */
const secretQueryName = /^(sig|signature|code)$/i;

/** Config keys whose values are secrets: `api_key`, `redis_password`, `client_secret`, `extra_headers`, ... */
export function isSecretName(name: string): boolean {
  if (headerMaps.has(name.toLowerCase())) return true;
  if (!secretName.test(name)) return false;
  return secretName.test(name.replace(tokenCount, ''));
}

/** A header map (`extra_headers`, `headers`): every value in it is a secret. */
export function isHeaderMap(name: string): boolean {
  return headerMaps.has(name.toLowerCase());
}

/**
 * Whether a value found under a secret name is one: numbers and booleans (`max_tokens: "20"`,
 * `use_auth: "true"`) are not. Passwords skip this test: they are secrets whatever they look like.
 */
export function isSecretValue(s: string): boolean {
  return s !== '' && !/^(true|false|none|null)$/i.test(s) && !isNumeric(s);
}

function isNumeric(s: string): boolean {
  const t = s.trim();
  return t !== '' && Number.isFinite(Number(t));
}

/**
 * The credentials a URL carries: the password (as written and percent-decoded), or the user
 * name when it has no password, `user:password`, its `Basic` token, and the values of
 * key-like query parameters.
 */
export function urlSecrets(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const out: string[] = [];
  if (u.username !== '' || u.password !== '') {
    const user = safeDecode(u.username);
    const password = safeDecode(u.password);
    // The user name is a credential only when it stands alone (`https://TOKEN@host`); beside a
    // password it is an account name, and redacting it would cut ordinary words like "user".
    if (password === '') out.push(u.username, user);
    out.push(u.password, password, `${user}:${password}`, basicToken(user, password));
  }
  for (const [name, value] of u.searchParams) if (isSecretQueryName(name)) out.push(value);
  return [...new Set(out.filter((s) => s !== ''))];
}

/** `https://user:pw@host/p?api-key=k&x=1` → `https://host/p?x=1`: the URL fit to show. */
export function urlWithoutCredentials(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return s;
  }
  let changed = false;
  if (u.username !== '' || u.password !== '') {
    u.username = '';
    u.password = '';
    changed = true;
  }
  for (const name of [...u.searchParams.keys()]) {
    if (isSecretQueryName(name)) {
      u.searchParams.delete(name);
      changed = true;
    }
  }
  return changed ? u.toString() : s;
}

/** The base64 part of `Authorization: Basic ...` for a (decoded) user name and password. */
export function basicToken(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
}

function isSecretQueryName(name: string): boolean {
  return secretName.test(name) || secretQueryName.test(name);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * A set of secret values and the one redactor over them. Each value is also matched as it
 * reads percent-encoded and JSON-escaped (once or twice), so an upstream echoing it in a URL or a JSON
 * string is caught too. Build once (`Secrets.of`), use on error paths.
 */
export class Secrets {
  static readonly none = new Secrets([]);
  static #cache = new WeakMap<readonly string[], Secrets>();

  /** The redactor for a config's `secrets` list, built once per list. */
  static of(values: readonly string[]): Secrets {
    let s = Secrets.#cache.get(values);
    if (s === undefined) {
      s = new Secrets(values);
      Secrets.#cache.set(values, s);
    }
    return s;
  }

  readonly #values: ReadonlySet<string>;
  readonly #pattern: RegExp | null;

  constructor(values: Iterable<string>) {
    const raw = new Set<string>();
    for (const v of values) if (v !== '') raw.add(v);
    this.#values = raw;
    const forms = new Set<string>();
    for (const v of raw) {
      if (v.length < MIN_REDACT_LENGTH) continue;
      // `Bearer sk-...` from an Authorization header value: the credential alone is a secret too.
      const scheme = /^(?:bearer|basic|token)\s+(\S+)$/i.exec(v);
      for (const x of scheme !== null && scheme[1]!.length >= MIN_REDACT_LENGTH ? [v, scheme[1]!] : [v]) {
        forms.add(x);
        forms.add(encodeURIComponent(x));
        const escaped = JSON.stringify(x).slice(1, -1);
        forms.add(escaped);
        // Escaped twice: a JSON log line quoting a value that already held the escaped form
        // (a client's URL, an upstream's error quoting JSON). Differs only for `"`, `\\` and controls.
        forms.add(JSON.stringify(escaped).slice(1, -1));
      }
    }
    // Longest first: an alternation takes the first branch that matches, so a secret that
    // contains another is cut whole.
    const sorted = [...forms].sort((a, b) => b.length - a.length);
    const long = sorted.filter((f) => f.length >= WHOLE_WORD_BELOW).map(escapeRegExp);
    const short = sorted.filter((f) => f.length < WHOLE_WORD_BELOW).map(escapeRegExp);
    const branches = [...long];
    if (short.length > 0) branches.push(`(?<![A-Za-z0-9])(?:${short.join('|')})(?![A-Za-z0-9])`);
    this.#pattern = branches.length === 0 ? null : new RegExp(branches.join('|'), 'g');
  }

  get size(): number {
    return this.#values.size;
  }

  /**
   * These secrets and `extra` (a request's own `api_key`): the redactor for one request's
   * error paths and log lines. Built per request that carries a credential; never cached.
   */
  with(extra: readonly string[]): Secrets {
    const more = extra.filter((v) => v !== '' && !this.#values.has(v));
    return more.length === 0 ? this : new Secrets([...this.#values, ...more]);
  }

  /** Whether `s` is, as a whole, one of the secrets. */
  has(s: string): boolean {
    return this.#values.has(s);
  }

  /** `text` with every secret in it replaced by `[redacted]`. */
  redact(text: string): string {
    if (this.#pattern === null || text === '') return text;
    this.#pattern.lastIndex = 0;
    return this.#pattern.test(text) ? text.replace(this.#pattern, REDACTED) : text;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
