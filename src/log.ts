/**
 * Plain-text logging to stderr. Every line passes through the redactor, which replaces any
 * secret from the config (api keys, master key) with `[redacted]`: a key never reaches a log
 * even when an upstream error echoes it back.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
  /** Adds secrets to redact (config load happens before the logger knows them). */
  addSecrets(secrets: readonly string[]): void;
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4 && out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}

export function createLogger(opts: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
  const min = order[opts.level ?? (process.env.SWITCHYARD_LOG_LEVEL as Level | undefined) ?? 'info'] ?? 20;
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Longest first, so a key that contains another is redacted whole.
  let secrets: string[] = [];
  const emit = (level: Level, msg: string): void => {
    if (order[level] < min) return;
    write(`${new Date().toISOString()} ${level.padEnd(5)} ${redact(msg, secrets)}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    addSecrets(more) {
      secrets = [...new Set([...secrets, ...more.filter((s) => s.length > 0)])].sort((a, b) => b.length - a.length);
    },
  };
}
