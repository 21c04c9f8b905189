/**
 * Starts the real proxy in-process on port 0 from YAML text, for end-to-end tests.
 */
import { loadConfigText } from '../../src/config/load.js';
import { startProxy, type RunningProxy } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import type { RouterOptions } from '../../src/router/types.js';

export const dispatchModes = [
  { label: 'pool', workers: 1 },
  { label: 'inline', workers: 0 },
] as const;

export async function startTestProxy(yaml: string, opts: { workers?: number; env?: NodeJS.ProcessEnv; router?: RouterOptions } = {}): Promise<RunningProxy> {
  const loaded = loadConfigText(yaml, 'test.yaml', opts.env ?? {});
  if (!loaded.ok) throw new Error(`test config refused: ${loaded.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  const lines: string[] = [];
  return startProxy({
    config: loaded.config,
    port: 0,
    workers: opts.workers ?? 1,
    log: createLogger({ level: 'warn', write: (l) => lines.push(l) }),
    router: opts.router,
  });
}

/** Polls until `fn` is true (state that settles asynchronously), failing after `timeoutMs`. */
export async function eventually(fn: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** A plain fetch that never throws on status, with the body read and parsed when JSON. */
export async function http(url: string, init: RequestInit = {}): Promise<RawResponse> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return http(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
