/**
 * Memory figures. RSS is read from /proc, the kernel's view, because the proxy's cost per
 * stream includes native memory (uWS socket buffers, undici pools, worker message ports)
 * that V8's heap statistics would miss. Linux only; elsewhere the figures are null.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';

/** VmRSS of a process in KiB, or null where /proc is unavailable. */
export function readRssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

export interface StreamMemorySpec {
  /** Proxy chat-completions URL; its upstream must stream slowly enough to stay open. */
  readonly url: string;
  readonly model: string;
  readonly pid: number;
  readonly streams: number;
  readonly firstChunkCapMs: number;
}

export interface StreamMemoryResult {
  readonly streamsOpen: number;
  readonly streamsFailed: number;
  readonly idleRssKiB: number | null;
  readonly rssWithStreamsKiB: number | null;
  /** (rss with streams − idle rss) / streams open; null when RSS or streams are missing. */
  readonly perStreamKiB: number | null;
}

interface OpenStream {
  readonly abort: AbortController;
  /** Settles on the first body chunk (true) or on failure (false). */
  readonly firstChunk: Promise<boolean>;
  /** Set when the first chunk arrived, readable at any moment. */
  readonly seen: { first: boolean };
}

function openStream(agent: Dispatcher, url: string, model: string): OpenStream {
  const abort = new AbortController();
  const seen = { first: false };
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], stream: true });
  const firstChunk = (async (): Promise<boolean> => {
    try {
      const res = await request(url, {
        method: 'POST',
        dispatcher: agent,
        signal: abort.signal,
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
        body,
      });
      if (res.statusCode !== 200) {
        res.body.resume();
        res.body.on('error', () => {});
        return false;
      }
      return await new Promise<boolean>((resolve) => {
        // Keep reading after the first chunk so the proxy never sees a slow client: we want
        // the cost of a flowing stream, not of buffered backpressure.
        res.body.on('data', () => {
          seen.first = true;
          resolve(true);
        });
        res.body.on('error', () => resolve(false));
        res.body.on('end', () => resolve(false));
      });
    } catch {
      return false;
    }
  })();
  return { abort, firstChunk, seen };
}

async function openMany(agent: Dispatcher, spec: StreamMemorySpec, n: number): Promise<{ streams: OpenStream[]; open: number }> {
  const streams = Array.from({ length: n }, () => openStream(agent, spec.url, spec.model));
  const cap = new AbortController();
  // At the cap, count whatever has arrived by now; latecomers are simply not counted.
  await Promise.race([Promise.all(streams.map((s) => s.firstChunk)), sleep(spec.firstChunkCapMs, undefined, { signal: cap.signal }).catch(() => {})]);
  cap.abort();
  return { streams, open: streams.filter((s) => s.seen.first).length };
}

function closeAll(streams: readonly OpenStream[]): void {
  for (const s of streams) s.abort.abort();
}

/**
 * Warm the proxy with a few streams first (worker threads, pools and JIT start lazily, and
 * would otherwise be billed to the streams), then open `streams` concurrent ones and compare RSS.
 */
export async function measureStreamMemory(spec: StreamMemorySpec): Promise<StreamMemoryResult> {
  const agent = new Agent({ connections: spec.streams + 100 });
  try {
    const warm = await openMany(agent, { ...spec, firstChunkCapMs: Math.min(spec.firstChunkCapMs, 10_000) }, 10);
    closeAll(warm.streams);
    await sleep(1000);
    const idleRssKiB = readRssKiB(spec.pid);
    const run = await openMany(agent, spec, spec.streams);
    await sleep(250);
    const rssWithStreamsKiB = readRssKiB(spec.pid);
    closeAll(run.streams);
    const perStreamKiB = idleRssKiB !== null && rssWithStreamsKiB !== null && run.open > 0 ? (rssWithStreamsKiB - idleRssKiB) / run.open : null;
    return { streamsOpen: run.open, streamsFailed: spec.streams - run.open, idleRssKiB, rssWithStreamsKiB, perStreamKiB };
  } finally {
    await agent.destroy();
  }
}
