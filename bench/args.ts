/** Command-line flags for `npm run bench`. */
import { parseArgs } from 'node:util';

export interface BenchArgs {
  /** Seconds measured per scenario and target. */
  readonly durationS: number;
  /** Seconds of load before each measurement, discarded: JIT, keep-alive pools, worker start-up. */
  readonly warmupS: number;
  readonly connections: number;
  /** Measure only the upstream (and pickers): checks the harness without a proxy. */
  readonly onlyDirect: boolean;
}

export const USAGE = 'usage: node dist/bench/run.js [--duration S] [--warmup S] [--connections N] [--only-direct]';

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '64' },
      'only-direct': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const durationS = positive('--duration', values.duration);
  const warmupS = nonNegative('--warmup', values.warmup);
  const connections = positive('--connections', values.connections);
  if (!Number.isInteger(connections)) throw new Error(`--connections must be a whole number, got ${values.connections}\n${USAGE}`);
  return { durationS, warmupS, connections, onlyDirect: values['only-direct'] };
}

function positive(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got ${raw}\n${USAGE}`);
  return n;
}

function nonNegative(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be zero or more, got ${raw}\n${USAGE}`);
  return n;
}
