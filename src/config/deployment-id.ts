/**
 * Deployment ids that match LiteLLM's `Router._generate_model_id`, so an id is stable across
 * restarts and instances and equals the one LiteLLM would compute for the same entry:
 *
 *     concat = model_group
 *     for k, v in litellm_params.items():
 *         concat += k + (v if str else json.dumps(v) if dict else str(v))
 *     sha256(concat.encode()).hexdigest()
 *
 * The Python stringifications are reproduced here: `str()` / `repr()` for scalars and lists,
 * `json.dumps` (default separators, `ensure_ascii=True`) for dicts.
 */
import { createHash } from 'node:crypto';

/**
 * A number that was a Python float in the YAML (`300.0`, `0.5`). JavaScript has one number
 * type, but Python prints `300.0` and `300` differently, so integral floats must be marked.
 * Non-integral numbers are floats anyway and need no wrapper.
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

export function deploymentId(group: string, litellmParams: Record<string, unknown>): string {
  let concat = group;
  for (const [k, v] of Object.entries(litellmParams)) {
    concat += k;
    if (typeof v === 'string') concat += v;
    else if (isDict(v)) concat += pyJsonDumps(v);
    else concat += pyStr(v);
  }
  return createHash('sha256').update(concat, 'utf8').digest('hex');
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof PyFloat);
}

/** Python `str(v)`. */
export function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/** Python `repr(v)` for the values YAML can produce. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'number') return Number.isInteger(v) ? pyIntStr(v) : pyFloatRepr(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return pyStrRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (isDict(v)) return `{${Object.entries(v).map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

function pyIntStr(n: number): string {
  // JS prints 1e21 and above in exponent form; Python ints never are.
  return Number.isSafeInteger(n) ? String(n === 0 ? 0 : n) : BigInt(n).toString();
}

/** Python's `float.__repr__`: shortest round-trip digits, exponent form outside [1e-4, 1e16). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // toExponential() without an argument gives the shortest digits that round-trip, as Python does.
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(x.toExponential());
  if (!m) return String(x);
  const sign = m[1] ?? '';
  const digits = (m[2] ?? '') + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    return `${sign}${int}.${frac === '' ? '0' : frac}`;
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

const nonPrintable = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python 3 `repr(str)`: single quotes unless the text has `'` and no `"`. */
function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x7f) out += ch;
    else if (ch !== ' ' && nonPrintable.test(ch)) {
      out += cp < 0x100 ? `\\x${hex(cp, 2)}` : cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    } else out += ch;
  }
  return out + quote;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Python `json.dumps(v)` with its defaults: `", "` / `": "` separators, ASCII-only output. */
export function pyJsonDumps(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (v instanceof PyFloat) return jsonFloat(v.value);
  if (typeof v === 'number') return Number.isInteger(v) ? pyIntStr(v) : jsonFloat(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return jsonString(v);
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(', ')}]`;
  if (isDict(v)) return `{${Object.entries(v).map(([k, x]) => `${jsonString(k)}: ${pyJsonDumps(x)}`).join(', ')}}`;
  return jsonString(String(v));
}

function jsonFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return pyFloatRepr(x);
}

const jsonEscapes: Readonly<Record<string, string>> = {
  '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t',
};

/** `json.dumps` string with `ensure_ascii`: everything outside space..~ escaped, per UTF-16 unit. */
function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i);
    const code = s.charCodeAt(i);
    const esc = jsonEscapes[ch];
    if (esc !== undefined) out += esc;
    else if (code < 0x20 || code > 0x7e) out += `\\u${hex(code, 4)}`;
    else out += ch;
  }
  return out + '"';
}
