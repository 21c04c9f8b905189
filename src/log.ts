/**
 * Plain-text logging to stderr. Every line passes through the secrets redactor
 * (src/secrets.ts), which replaces any secret from the config (api keys, passwords, header
 * values, api_base credentials, master key) with `[redacted]`: a key never reaches a log
 * even when an upstream error echoes it back.
 */
import { Secrets } from './secrets.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
  /** Adds secrets to redact (config load happens before the logger knows them). */
  addSecrets(secrets: readonly string[]): void;
}

export function createLogger(opts: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
  const min = order[opts.level ?? (process.env.SWITCHYARD_LOG_LEVEL as Level | undefined) ?? 'info'] ?? 20;
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  let known = new Set<string>();
  let secrets = Secrets.none;
  const emit = (level: Level, msg: string): void => {
    if (order[level] < min) return;
    write(`${new Date().toISOString()} ${level.padEnd(5)} ${secrets.redact(msg)}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    addSecrets(more) {
      known = new Set([...known, ...more]);
      secrets = new Secrets(known);
    },
  };
}
