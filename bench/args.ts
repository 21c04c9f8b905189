/** Command-line flags for `npm run bench`. */
import { parseArgs } from 'node:util';
import { SCENARIOS, TARGETS } from './scenarios.js';
import type { ScenarioName, TargetName } from './scenarios.js';

export interface BenchArgs {
  /** Seconds measured per scenario and target. */
  readonly durationS: number;
  /** Seconds of load before each measurement, discarded: JIT, keep-alive pools, worker start-up. */
  readonly warmupS: number;
  /** Connections for the throughput scenarios (latency-c1 always uses one). */
  readonly connections: number;
  /** Concurrent streams in the slow-streams scenario. */
  readonly streams: number;
  readonly scenarios: readonly ScenarioName[];
  readonly targets: readonly TargetName[];
  readonly pickers: boolean;
  readonly generator: 'auto' | 'wrk' | 'autocannon';
}

export const USAGE = `usage: npm run bench -- [options]
  --duration S      seconds measured per scenario and target (default 8)
  --warmup S        seconds of discarded load before each measurement (default 2)
  --connections N   connections for the throughput scenarios (default 64)
  --streams N       concurrent slow streams (default 2000; try 10000)
  --only LIST       comma-separated scenarios and/or "pickers": ${[...SCENARIOS, 'pickers'].join(', ')}
  --targets LIST    comma-separated targets: ${TARGETS.join(', ')} (direct is always measured)
  --generator G     auto (wrk when on the PATH, else autocannon), wrk or autocannon
  --quick           a smoke run: --duration 2 --warmup 1 --streams 500`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '64' },
      streams: { type: 'string' },
      only: { type: 'string' },
      targets: { type: 'string' },
      generator: { type: 'string', default: 'auto' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const durationS = positive('--duration', values.duration ?? (quick ? '2' : '8'));
  const warmupS = nonNegative('--warmup', values.warmup ?? (quick ? '1' : '2'));
  const connections = wholePositive('--connections', values.connections);
  const streams = wholePositive('--streams', values.streams ?? (quick ? '500' : '2000'));
  const only = list('--only', values.only, [...SCENARIOS, 'pickers']);
  const scenarios = only === null ? [...SCENARIOS] : SCENARIOS.filter((s) => only.includes(s));
  const pickers = only === null || only.includes('pickers');
  const picked = list('--targets', values.targets, TARGETS);
  const targets = picked === null ? [...TARGETS] : TARGETS.filter((t) => t === 'direct' || picked.includes(t));
  const generator = values.generator;
  if (generator !== 'auto' && generator !== 'wrk' && generator !== 'autocannon') throw new Error(`--generator must be auto, wrk or autocannon, got ${generator}\n${USAGE}`);
  return { durationS, warmupS, connections, streams, scenarios, targets, pickers, generator };
}

function list<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[]): T[] | null {
  if (raw === undefined) return null;
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!(allowed as readonly string[]).includes(i)) throw new Error(`${flag}: unknown "${i}" (one of ${allowed.join(', ')})\n${USAGE}`);
  return items as T[];
}

function positive(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got ${raw}\n${USAGE}`);
  return n;
}

function wholePositive(flag: string, raw: string): number {
  const n = positive(flag, raw);
  if (!Number.isInteger(n)) throw new Error(`${flag} must be a whole number, got ${raw}\n${USAGE}`);
  return n;
}

function nonNegative(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be zero or more, got ${raw}\n${USAGE}`);
  return n;
}
