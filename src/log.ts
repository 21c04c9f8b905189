/**
 * Logging to stderr: JSON lines (pino) or human lines, one format per process. Every line,
 * message and fields alike, passes through the secrets redactor (src/secrets.ts), which
 * replaces any secret from the config (api keys, passwords, header values, api_base
 * credentials, master key) with `[redacted]`: a key never reaches a log even when an
 * upstream error echoes it back. The whole finished line is redacted, so a secret in a field
 * is caught as well as one in the message (JSON-escaped forms included).
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
   * writes JSON lines (the caller uses `info` then) or drops info lines.
   */
  readonly infoText: ((text: string) => void) | null;
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
    return facade(emit, addSecrets, min, null);
  }
  const emit = (l: Level, msg: string, fields: LogFields | undefined): void => {
    if (order[l] < min) return;
    out(secrets.redact(`${isoNow()} ${labels[l]}${msg}${fields === undefined ? '' : humanFields(fields)}`));
  };
  const infoText = order.info < min ? null : (text: string): void => out(secrets.redact(`${isoNow()} info  ${text}`));
  return facade(emit, addSecrets, min, infoText);
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

/** The Logger over one `emit`, whichever format it writes. */
function facade(
  emit: (l: Level, msg: string, fields: LogFields | undefined) => void,
  addSecrets: (s: readonly string[]) => void,
  min: number,
  infoText: ((text: string) => void) | null,
): Logger {
  return {
    infoText,
    enabled: (l) => order[l] >= min,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    addSecrets,
  };
}
