/**
 * The bench's own throwaway redis-server for the pool+redis mode: a free 127.0.0.1 port, no
 * persistence, a temp --dir, started and killed through children.ts like every other child.
 * (test/support has a fuller helper; the bench must not depend on test code.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startChild } from './children.js';

export interface BenchRedis {
  readonly url: string;
  close(): Promise<void>;
}

export async function startBenchRedis(cwd: string): Promise<BenchRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-redis-'));
  try {
    const port = await freePort();
    const child = await startChild({
      name: 'redis-server',
      command: 'redis-server',
      args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'no'],
      cwd,
      ready: /Ready to accept connections/,
      port,
      timeoutMs: 5000,
    });
    return {
      url: `redis://127.0.0.1:${port}`,
      async close() {
        await child.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
