/**
 * Logging to stderr: JSON lines (pino) or human lines, one format per process. Every line,
 * message and fields alike, passes through the secrets redactor (src/secrets.ts), which
 * replaces any secret from the config (api keys, passwords, header values, api_base
 * credentials, master key) with `[redacted]`: a key never reaches a log even when an
 * upstream error echoes it back. The whole finished line is redacted, so a secret in a field
 * is caught as well as one in the message (JSON-escaped forms included).
 *
 * A line written per request (the access line) may come formatted by its caller
 * (`infoText`, `infoJson`, with `humanValue` and `jsonString` for its strings): the same bytes
 * as through `info`, for less work; it is timestamped and redacted here like any other. The
 * timestamp is formatted once per millisecond.
 */
import { pino, type Logger as Pino } from 'pino';
import { Secrets } from './secrets.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';

/** Extra fields of a line: JSON properties, or `key=value` pairs on a human line. */
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /**
   * Whether lines of `level` are written. Callers with costly detail (per-attempt lines) ask
   * once, when they are wired, instead of building fields that would be dropped.
   */
  enabled(level: Level): boolean;
  /** Adds secrets to redact (config load happens before the logger knows them). */
  addSecrets(secrets: readonly string[]): void;
  /**
   * For a line written per request (the access line), whose caller formats it itself: writes
   * an info line of `text`, the part after the level (the message, then ` key=value` fields as
   * `humanValue` writes them), timestamped and redacted like every line. Null when this logger
   * writes JSON lines or drops info lines.
   */
  readonly infoText: ((text: string) => void) | null;
  /**
   * The same for JSON lines: writes an info line of `props`, the part after the time
   * (`,"key":value…,"msg":"…"`, strings as `jsonString` writes them, numbers as they print,
   * `null` for a non-finite one): the bytes pino would write for these fields. Null when this
   * logger writes human lines or drops info lines.
   */
  readonly infoJson: ((props: string) => void) | null;
}

export interface LoggerOptions {
  /** Default: `logLevelFromEnv()`. */
  readonly level?: Level;
  /** JSON lines instead of human lines. Default: `jsonLogsFromEnv()`. */
  readonly json?: boolean;
  /** Where each finished line goes (no trailing newline); default stderr. */
  readonly write?: (line: string) => void;
}

const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const levels = new Set<string>(Object.keys(order));
/** LiteLLM's `LITELLM_LOG` values. */
const litellmLevels: Readonly<Record<string, Level>> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', WARN: 'warn', ERROR: 'error', CRITICAL: 'error' };

/** `SWITCHYARD_LOG_LEVEL` (debug/info/warn/error), else LiteLLM's `LITELLM_LOG` (DEBUG/INFO/WARNING/ERROR), else info. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): Level {
  const own = env.SWITCHYARD_LOG_LEVEL?.toLowerCase();
  if (own !== undefined && levels.has(own)) return own as Level;
  return litellmLevels[env.LITELLM_LOG?.toUpperCase() ?? ''] ?? 'info';
}

/** LiteLLM's `JSON_LOGS=true`. */
export function jsonLogsFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(true|1|yes)$/i.test(env.JSON_LOGS ?? '');
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? logLevelFromEnv();
  const min = order[level] ?? 20;
  const out = opts.write ?? stderrLines();
  let known = new Set<string>();
  let secrets = Secrets.none;
  const addSecrets = (more: readonly string[]): void => {
    known = new Set([...known, ...more]);
    secrets = new Secrets(known);
  };
  if (opts.json ?? jsonLogsFromEnv()) {
    const p: Pino = pino(
      {
        level,
        base: null,
        // pino.stdTimeFunctions.isoTime's text, formatted once per millisecond.
        timestamp: isoTimeField,
        formatters: { level: (label) => ({ level: label }) },
      },
      // pino hands over each line with its newline; the redactor sees the finished line.
      { write: (line: string) => out(secrets.redact(line.endsWith('\n') ? line.slice(0, -1) : line)) },
    );
    const emit = (l: Level, msg: string, fields: LogFields | undefined): void => {
      if (order[l] < min) return;
      if (fields === undefined) p[l](msg);
      else p[l](fields, msg);
    };
    // What pino writes before an info line's time (`{"level":"info"`, no base bindings), and after it.
    const infoJson = order.info < min ? null : (props: string): void => out(secrets.redact(`{"level":"info"${isoTimeField()}${props}}`));
    return facade(emit, addSecrets, min, null, infoJson);
  }
  const emit = (l: Level, msg: string, fields: LogFields | undefined): void => {
    if (order[l] < min) return;
    out(secrets.redact(`${isoNow()} ${labels[l]}${msg}${fields === undefined ? '' : humanFields(fields)}`));
  };
  const infoText = order.info < min ? null : (text: string): void => out(secrets.redact(`${isoNow()} info  ${text}`));
  return facade(emit, addSecrets, min, infoText, null);
}

/** Each level as a human line writes it, padded, with the space after it. */
const labels: Record<Level, string> = { debug: 'debug ', info: 'info  ', warn: 'warn  ', error: 'error ' };

let isoMs = Number.NaN;
let isoText = '';
let isoField = '';
/**
 * `new Date().toISOString()`, formatted once per millisecond: lines come many to a millisecond
 * under load, and formatting the date costs more than the rest of a human access line.
 */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoText = new Date(now).toISOString();
    isoField = `,"time":"${isoText}"`;
    isoMs = now;
  }
  return isoText;
}

/** pino's `,"time":"<ISO>"` (as `pino.stdTimeFunctions.isoTime` writes it), from `isoNow`. */
function isoTimeField(): string {
  isoNow();
  return isoField;
}

/**
 * Lines to stderr, batched: the lines of one turn of the event loop go out in one write at
 * its end (an access line per request would otherwise cost a syscall each), and whatever is
 * left is written before the process exits.
 */
function stderrLines(): (line: string) => void {
  let pending = '';
  const flush = (): void => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    process.stderr.write(text);
  };
  process.on('exit', flush);
  return (line) => {
    if (pending === '') setImmediate(flush);
    pending += `${line}\n`;
  };
}

/** ` key=value …`, values as `humanValue` writes them; absent values (undefined, null, '') left out. */
function humanFields(fields: LogFields): string {
  let s = '';
  for (const k in fields) {
    const v = fields[k];
    if (v === undefined || v === null || v === '') continue;
    s += ` ${k}=${humanValue(String(v))}`;
  }
  return s;
}

const needsQuotes = /[\s"=]/;
/** A field's value on a human line: as it is, or JSON-quoted when it holds a space, a quote or `=`. */
export function humanValue(t: string): string {
  return needsQuotes.test(t) ? JSON.stringify(t) : t;
}

/**
 * A string as pino writes it in a JSON line (its `asString`): over 100 characters or holding a
 * control character, `JSON.stringify`; else quoted with only `"` and `\\` escaped (a lone
 * surrogate, which JSON.stringify would escape, is left as it is, as pino leaves it).
 */
export function jsonString(str: string): string {
  const l = str.length;
  if (l > 100) return JSON.stringify(str);
  let result = '';
  let last = 0;
  let found = false;
  let point = 255;
  for (let i = 0; i < l && point >= 32; i++) {
    point = str.charCodeAt(i);
    if (point === 34 || point === 92) {
      result += `${str.slice(last, i)}\\`;
      last = i;
      found = true;
    }
  }
  if (!found) result = str;
  else result += str.slice(last);
  return point < 32 ? JSON.stringify(str) : `"${result}"`;
}

/** The Logger over one `emit`, whichever format it writes. */
function facade(
  emit: (l: Level, msg: string, fields: LogFields | undefined) => void,
  addSecrets: (s: readonly string[]) => void,
  min: number,
  infoText: ((text: string) => void) | null,
  infoJson: ((props: string) => void) | null,
): Logger {
  return {
    infoText,
    infoJson,
    enabled: (l) => order[l] >= min,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    addSecrets,
  };
}
