/**
 * nginx as a reference column, when it is installed (`apt-get install nginx-light`): the
 * shipped bench/nginx.conf with free ports filled in, run as a child in the foreground from a
 * temp prefix, so it needs no root and leaves nothing behind.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, freePort } from './children.js';
import type { Child } from './children.js';
import { childPids } from './cpu.js';

export interface Nginx {
  readonly master: Child;
  readonly chatPort: number;
  readonly streamPort: number;
  readonly slowPort: number;
  /** Master and worker processes: CPU and RSS are summed over them. */
  pids(): number[];
}

export async function startNginx(o: { readonly binary: string; readonly template: string; readonly prefix: string; readonly fastPort: number; readonly slowPort: number; readonly cwd: string }): Promise<Nginx> {
  mkdirSync(join(o.prefix, 'tmp'), { recursive: true });
  const [chatPort, streamPort, slowPort] = [await freePort(), await freePort(), await freePort()];
  const conf = readFileSync(o.template, 'utf8')
    .replaceAll('__FAST_UPSTREAM_PORT__', String(o.fastPort))
    .replaceAll('__SLOW_UPSTREAM_PORT__', String(o.slowPort))
    .replaceAll('__CHAT_PORT__', String(chatPort))
    .replaceAll('__STREAM_PORT__', String(streamPort))
    .replaceAll('__SLOW_PORT__', String(slowPort));
  const confPath = join(o.prefix, 'nginx.conf');
  writeFileSync(confPath, conf);
  const master = await startChild({
    name: 'nginx',
    command: o.binary,
    args: ['-p', o.prefix, '-c', confPath, '-e', join(o.prefix, 'error.log'), '-g', 'daemon off;'],
    cwd: o.cwd,
    ready: 'connect',
    port: slowPort,
    timeoutMs: 10_000,
  });
  return { master, chatPort, streamPort, slowPort, pids: () => [master.pid, ...childPids(master.pid)] };
}

/** `nginx version: nginx/1.22.1` → `nginx/1.22.1`. */
export function nginxVersion(stderr: string): string {
  return /nginx\/\S+/.exec(stderr)?.[0] ?? 'nginx';
}
