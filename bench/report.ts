/** Renders the results as a console table and Markdown, and writes latest.{json,md,svg}. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasFailures } from './generator.js';
import type { LoadResult } from './generator.js';
import type { BenchResults, LoadRow, SlowStreamsRow } from './results.js';
import { SCENARIO_TITLES } from './scenarios.js';
import { renderSvg } from './svg.js';

type Row = readonly string[];
interface Table {
  readonly head: Row;
  readonly rows: Row[];
  /** Columns left-aligned (the rest are numbers, right-aligned). */
  readonly left: number;
}

const DASH = '—';
const fmt = {
  int: (n: number): string => Math.round(n).toLocaleString('en-US'),
  ms: (us: number): string => {
    const ms = us / 1000;
    return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
  },
  us: (n: number | null): string => (n === null ? DASH : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US')),
  signedUs: (n: number | null): string => (n === null ? DASH : `${n >= 0 ? '+' : '−'}${Math.round(Math.abs(n)).toLocaleString('en-US')}`),
  mib: (kib: number | null): string => (kib === null ? DASH : (kib / 1024).toFixed(1)),
  ratio: (r: number | null): string => (r === null ? DASH : r.toFixed(2)),
};

function failures(r: LoadResult): string {
  if (!hasFailures(r)) return '0';
  const parts: string[] = [];
  if (r.non2xx > 0) parts.push(`${fmt.int(r.non2xx)} status ≥400`);
  if (r.errors > 0) parts.push(`${fmt.int(r.errors)} errors${r.timeouts > 0 ? ` (${fmt.int(r.timeouts)} timeouts)` : ''}`);
  return `⚠ ${parts.join(', ')}`;
}

/** Share of one core the generator used: near 100 % means it, not the target, set the pace. */
function busy(r: LoadRow): string {
  if (r.cpu.generatorUs === null) return DASH;
  const pct = Math.round((r.cpu.generatorUs * r.rps) / 1e4);
  return `${fmt.us(r.cpu.generatorUs)} (${pct} %${pct >= 90 ? ' ⚠' : ''})`;
}

function rowTarget(r: LoadRow): string {
  return r.check === null && !hasFailures(r) ? r.target : `${r.target} ⚠`;
}

function speedTable(res: BenchResults): Table {
  const head = ['scenario', 'target', 'req/s', '× direct', 'p50 ms', 'p99 ms', '+p50 µs', '+p99 µs', 'other load (cores)', 'failures'];
  const rows = res.load.map((r): Row => {
    const fail = r.check === null ? failures(r) : `⚠ check: ${r.check.slice(0, 80)}`;
    const other = r.otherCores === null ? DASH : `${r.otherCores.toFixed(2)}${r.otherCores > 0.2 ? ' ⚠' : ''}`;
    return [r.scenario, rowTarget(r), fmt.int(r.rps), fmt.ratio(r.ratio), fmt.ms(r.p50Us), fmt.ms(r.p99Us), fmt.signedUs(r.addedP50Us), fmt.signedUs(r.addedP99Us), other, fail];
  });
  return { head, rows, left: 2 };
}

function cpuTable(res: BenchResults): Table {
  const head = ['scenario', 'target', 'proxy CPU µs/req', '× nginx CPU', 'main', 'workers', 'helpers', 'upstream µs/req', 'generator µs/req (busy)', 'RSS MiB'];
  const nginxCpu = (r: LoadRow): string => {
    const n = res.load.find((x) => x.target === 'nginx' && x.scenario === r.scenario)?.cpu.proxyUs;
    return r.target === 'nginx' || r.cpu.proxyUs === null || n === undefined || n === null || n <= 0 ? DASH : (r.cpu.proxyUs / n).toFixed(1);
  };
  const rows = res.load.map((r): Row => {
    const workers = r.cpu.workersUs === null ? DASH : `${fmt.us(r.cpu.workersUs)}${r.cpu.workerThreads !== null && r.cpu.workerThreads > 0 ? ` (${r.cpu.workerThreads} thr)` : ''}`;
    return [r.scenario, rowTarget(r), fmt.us(r.cpu.proxyUs), nginxCpu(r), fmt.us(r.cpu.mainUs), workers, fmt.us(r.cpu.helpersUs), fmt.us(r.cpu.upstreamUs), busy(r), fmt.mib(r.rssKiB)];
  });
  return { head, rows, left: 2 };
}

function slowTable(res: BenchResults): Table {
  const head = ['target', 'streams complete', 'most open at once', 'all open after ms', 'RSS MiB before → most in flight', 'KiB per stream', 'CPU µs/stream', 'upstream µs/stream', 'small chat p50 / p99 / max ms while they open', 'same, idle', 'first failure'];
  const rows = res.slowStreams.map((s: SlowStreamsRow): Row => {
    const ok = s.completed === s.streams;
    const probe = (p: LoadResult | null): string => (p === null ? DASH : `${fmt.ms(p.p50Us)} / ${fmt.ms(p.p99Us)} / ${fmt.ms(p.maxUs)}${hasFailures(p) ? ` ${failures(p)}` : ''}`);
    return [
      ok ? s.target : `${s.target} ⚠`,
      `${fmt.int(s.completed)} / ${fmt.int(s.streams)}`,
      `${fmt.int(s.maxOpen)}${s.maxOpen < s.streams ? ' ⚠' : ''}`,
      fmt.int(s.openMs),
      `${fmt.mib(s.rssBeforeKiB)} → ${fmt.mib(s.rssOpenKiB)}`,
      s.perStreamKiB === null ? DASH : s.perStreamKiB.toFixed(1),
      fmt.us(s.cpuUsPerStream),
      fmt.us(s.upstreamCpuUsPerStream),
      probe(s.probe),
      probe(s.idleProbe),
      [s.firstFailure, s.note].filter((x) => x !== null).join('; ') || DASH,
    ];
  });
  return { head, rows, left: 1 };
}

function pickerTable(res: BenchResults): Table {
  return {
    head: ['picker', 'candidates', 'ops/s', 'ns/op', '± %'],
    rows: res.pickers.map((p) => [p.picker, fmt.int(p.candidates), fmt.int(p.opsPerSec), fmt.int(p.meanNs), p.rme.toFixed(2)]),
    left: 1,
  };
}

function textTable(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (r: Row): string => r.map((c, i) => (i < t.left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(t.head), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}

function mdTable(t: Table): string {
  const line = (r: Row): string => `| ${r.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(t.head), `|${t.head.map((_, i) => (i < t.left ? ' --- ' : ' ---: ')).join('|')}|`, ...t.rows.map(line)].join('\n');
}

function header(res: BenchResults): string[] {
  const s = res.settings;
  return [
    `${res.when} · node ${res.node} · ${res.cpus} CPUs · load generator: ${res.generator} · nginx: ${res.nginx}`,
    `${s.connections} connections (latency-c1: 1) · ${s.durationS} s per run after ${s.warmupS} s warm-up · ${s.streams} slow streams`,
  ];
}

const LEGEND = [
  'CPU µs per request comes from /proc (utime + stime) sampled before and after each measured run: trust it over req/s, which on a small machine also measures how the load generator, proxy and upstream share the cores.',
  '"× nginx CPU" is the proxy\'s CPU per request over nginx\'s, same scenario: the fast-path goal is at most 2.',
  '"main", "workers" and "helpers" split Switchyard\'s CPU by thread: the main thread (uWS, routing, inline dispatch), the Piscina worker threads (undici to the upstream), and threads that run no JavaScript (V8 GC/compiler threads, libuv\'s pool).',
  '"generator busy" is the share of one core the load generator used; near 100 % it, not the target, set the pace.',
  '"other load" is CPU that processes outside the measurement used meanwhile, in cores: above ~0.2 (⚠) the req/s and latency of that row are disturbed; CPU per request much less so. "RSS" for direct is the mock upstream\'s.',
  'Slow streams: "most open at once" below the stream count means the target queued streams (the rest waited for a slot); "KiB per stream" is RSS growth when the most streams were in flight (sent and not complete, queued ones included), divided by that many; the small-chat probe runs on one connection with a 5 ms pause between requests, during the opening and, as a baseline, just before.',
  '"+p50 / +p99" are the target\'s latency percentiles minus direct\'s, same scenario; latency-c1 is the one to read for added latency.',
];

export function renderText(res: BenchResults): string {
  const parts = [...header(res), '', textTable(speedTable(res)), '', textTable(cpuTable(res))];
  if (res.slowStreams.length > 0) parts.push('', 'slow streams', textTable(slowTable(res)));
  if (res.pickers.length > 0) parts.push('', textTable(pickerTable(res)));
  for (const n of res.notes) parts.push(`note: ${n}`);
  return parts.join('\n');
}

export function renderMarkdown(res: BenchResults): string {
  const parts = ['# Switchyard benchmark', '', ...header(res).map((h) => `${h}  `), '', '![throughput, CPU per request and added latency](latest.svg)', '', '## Load scenarios', ''];
  parts.push(Object.entries(SCENARIO_TITLES).map(([k, v]) => `\`${k}\`: ${v}`).join(' · '), '', '### Throughput and latency', '', mdTable(speedTable(res)), '', '### CPU per request and memory', '', mdTable(cpuTable(res)), '');
  if (res.slowStreams.length > 0) parts.push('## Slow streams', '', mdTable(slowTable(res)), '');
  parts.push(...LEGEND.map((l) => `- ${l}`), '');
  for (const n of res.notes) parts.push(`> ${n}`, '');
  if (res.pickers.length > 0) parts.push('## Pickers', '', mdTable(pickerTable(res)), '');
  return parts.join('\n');
}

export function writeResults(dir: string, res: BenchResults): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['latest.json', `${JSON.stringify(res, null, 2)}\n`],
    ['latest.md', renderMarkdown(res)],
    ['latest.svg', renderSvg(res)],
  ];
  return files.map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  });
}
