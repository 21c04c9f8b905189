#!/usr/bin/env node
/**
 * `switchyard --config my.yaml [--port 4000] [--host 127.0.0.1] [--workers N] [--json-logs] [--detailed_debug]`
 * Prints `listening on http://HOST:PORT` once ready. SIGTERM/SIGINT drain and exit 0; SIGHUP
 * loads the config file again (live reload).
 * `switchyard check -c a.yaml [-c b.yaml | b.yaml …]` validates without serving.
 */
import { parseArgs } from 'node:util';
import { checkConfigs } from './check.js';
import { formatProblems, loadConfigFile } from './config/load.js';
import { defaultWorkers, startProxy } from './index.js';
import { createLogger, jsonLogsFromEnv, logLevelFromEnv } from './log.js';
import { uwsBuild } from './server/uws.js';
import { version } from './version.js';

const usage = `Usage: switchyard --config <file.yaml> [--port 4000] [--host 127.0.0.1] [--workers N] [--json-logs] [--detailed_debug]
       switchyard check [-c] <file.yaml> [[-c] <file.yaml> …]
       switchyard --version

  --config, -c   LiteLLM-style proxy config (model_list, router_settings, ...). Env: SWITCHYARD_CONFIG
  --port, -p     port to listen on (default 4000; 0 picks a free one). Env: PORT
  --host         address to bind (default 127.0.0.1; use 0.0.0.0 in containers). Env: HOST
  --workers, -w  upstream worker threads (default ${defaultWorkers()} here; 0 = inline on the main thread). Env: SWITCHYARD_WORKERS
  --num_workers  LiteLLM's spelling, taken as --workers (upstream threads; LiteLLM's are uvicorn processes)
  --json-logs    JSON log lines (also litellm_settings.json_logs: true, or env JSON_LOGS=true)
  --detailed_debug  log at debug level (also env LITELLM_LOG=DEBUG or SWITCHYARD_LOG_LEVEL=debug)
  --version, -v  print the version and exit

  check          load each config as the server would, print the groups and deployments it would
                 serve and every warning, or every problem with its path and line; exit 0 when
                 all load, 1 otherwise. Needs no network and starts no server.
`;

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

function check(args: string[]): never {
  let parsed: { values: { config?: string[]; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { config: { type: 'string', short: 'c', multiple: true }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
  }
  if (parsed.values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const paths = [...(parsed.values.config ?? []), ...parsed.positionals];
  if (paths.length === 0) fail(`check needs at least one config file\n\n${usage}`);
  const r = checkConfigs(paths);
  (r.ok ? process.stdout : process.stderr).write(`${r.text}\n`);
  process.exit(r.ok ? 0 : 1);
}

function fail(message: string): never {
  process.stderr.write(`switchyard: ${message}\n`);
  process.exit(2);
}

function intArg(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'check') check(process.argv.slice(3));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        version: { type: 'boolean', short: 'v' },
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        workers: { type: 'string', short: 'w' },
        num_workers: { type: 'string' },
        'json-logs': { type: 'boolean' },
        detailed_debug: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
  }
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  if (values.version) {
    process.stdout.write(`switchyard ${version}\n`);
    return;
  }
  const configPath = (values.config as string | undefined) ?? process.env.SWITCHYARD_CONFIG;
  if (!configPath) fail(`--config is required\n\n${usage}`);
  const port = intArg('port', (values.port as string | undefined) ?? process.env.PORT, 4000);
  if (values.workers !== undefined && values.num_workers !== undefined && values.workers !== values.num_workers) {
    fail(`--workers ${String(values.workers)} and --num_workers ${String(values.num_workers)} disagree; give one`);
  }
  const workersArg = values.workers !== undefined ? 'workers' : 'num_workers';
  const workers = intArg(workersArg, ((values.workers ?? values.num_workers) as string | undefined) ?? process.env.SWITCHYARD_WORKERS, defaultWorkers());
  const host = (values.host as string | undefined) ?? process.env.HOST ?? '127.0.0.1';

  const loaded = loadConfigFile(configPath);
  if (!loaded.ok) {
    process.stderr.write(`${formatProblems(configPath, loaded.problems)}\n`);
    process.exit(1);
  }
  const config = loaded.config;
  const log = createLogger({
    level: values.detailed_debug === true ? 'debug' : logLevelFromEnv(),
    json: values['json-logs'] === true || config.server.jsonLogs || jsonLogsFromEnv(),
  });
  log.addSecrets(config.secrets);
  for (const w of config.warnings) log.warn(w);

  const proxy = await startProxy({ config, host, port, workers, log, configPath });
  const groups = config.groups.size;
  log.info(`switchyard ${version}: ${plural(config.deployments.length, 'deployment')} in ${plural(groups, 'model group')}; ${workers === 0 ? 'upstream calls inline' : plural(workers, 'upstream worker thread')}; ${uwsBuild}`);
  log.debug('debug logging on', { config: configPath, host, port: proxy.port, workers, allowed_origins: config.server.allowedOrigins.join(',') });
  process.stdout.write(`switchyard listening on ${proxy.url}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: draining ${proxy.server.activeRequests} in-flight request(s), then exiting`);
    proxy.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  // SIGHUP: load the config file again; a refused one is logged and the old one keeps serving.
  process.on('SIGHUP', () => {
    if (!stopping) void proxy.reload();
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

process.on('unhandledRejection', (err) => {
  // A bug, not a request failure: log it and keep serving.
  process.stderr.write(`switchyard: unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
});

main().catch((err: unknown) => {
  process.stderr.write(`switchyard: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
