/** Shapes the results and renders them as a console table, Markdown, and JSON. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.js';
import { hasFailures } from './load.js';
import type { StreamMemoryResult } from './memory.js';
import type { PickerResult } from './pickers.js';

export const SCENARIOS = ['chat', 'chat-stream'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ProxyScenarioResult extends LoadResult {
  /** Proxy req/s ÷ direct req/s: the figure that transfers between machines. */
  readonly ratio: number;
  /** Proxy RSS right after the scenario. */
  readonly rssKiB: number | null;
}

export interface ModeResult {
  /** `--workers` passed to the proxy; null = its default (the Piscina pool). */
  readonly workers: number | null;
  readonly idleRssKiB: number | null;
  readonly scenarios: Partial<Record<Scenario, ProxyScenarioResult>>;
}

export interface BenchResults {
  readonly when: string;
  readonly node: string;
  readonly cpus: number;
  readonly settings: { readonly durationS: number; readonly warmupS: number; readonly connections: number };
  readonly modes: Record<string, ModeResult>;
  readonly direct: Partial<Record<Scenario, LoadResult>>;
  readonly memoryPerStreamKiB: number | null;
  readonly memory: StreamMemoryResult | null;
  readonly pickers: readonly PickerResult[];
}

type Row = readonly string[];

const fmt = {
  int: (n: number): string => Math.round(n).toLocaleString('en-US'),
  ms: (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1)),
  mib: (kib: number | null): string => (kib === null ? '—' : (kib / 1024).toFixed(1)),
};

function failures(r: LoadResult): string {
  if (!hasFailures(r)) return '0';
  const parts: string[] = [];
  if (r.non2xx > 0) {
    const codes = Object.entries(r.statusCodes)
      .filter(([c]) => !c.startsWith('2'))
      .map(([c, n]) => `${c}×${n}`)
      .join(' ');
    parts.push(`${r.non2xx} non-2xx${codes === '' ? '' : ` (${codes})`}`);
  }
  if (r.errors > 0) parts.push(`${r.errors} errors${r.timeouts > 0 ? ` (${r.timeouts} timeouts)` : ''}`);
  return `⚠ ${parts.join(', ')}`;
}

function loadRows(res: BenchResults): { head: Row; rows: Row[] } {
  const head = ['scenario', 'target', 'req/s', 'p50 ms', 'p99 ms', 'proxy/direct', 'proxy RSS MiB', 'failures'];
  const rows: Row[] = [];
  for (const s of SCENARIOS) {
    const d = res.direct[s];
    if (d !== undefined) rows.push([s, 'direct', fmt.int(d.rps), fmt.ms(d.p50Ms), fmt.ms(d.p99Ms), '—', '—', failures(d)]);
    for (const [label, mode] of Object.entries(res.modes)) {
      const p = mode.scenarios[s];
      if (p === undefined) continue;
      const target = hasFailures(p) ? `${label} ⚠` : label;
      rows.push([s, target, fmt.int(p.rps), fmt.ms(p.p50Ms), fmt.ms(p.p99Ms), p.ratio.toFixed(2), fmt.mib(p.rssKiB), failures(p)]);
    }
  }
  return { head, rows };
}

function pickerRows(res: BenchResults): { head: Row; rows: Row[] } {
  return {
    head: ['picker', 'candidates', 'ops/s', 'ns/op', '± %'],
    rows: res.pickers.map((p) => [p.picker, fmt.int(p.candidates), fmt.int(p.opsPerSec), fmt.int(p.meanNs), p.rme.toFixed(2)]),
  };
}

function memoryLine(res: BenchResults): string {
  const m = res.memory;
  if (m === null) return 'memory per concurrent stream: not measured';
  const per = m.perStreamKiB === null ? 'n/a' : `${m.perStreamKiB.toFixed(1)} KiB`;
  const failed = m.streamsFailed > 0 ? ` ⚠ ${m.streamsFailed} streams never started` : '';
  return `memory per concurrent stream (pool): ${per} — ${m.streamsOpen} streams, RSS ${fmt.mib(m.idleRssKiB)} → ${fmt.mib(m.rssWithStreamsKiB)} MiB${failed}`;
}

function textTable({ head, rows }: { head: Row; rows: Row[] }): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: Row): string => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function mdTable({ head, rows }: { head: Row; rows: Row[] }): string {
  const line = (r: Row): string => `| ${r.join(' | ')} |`;
  return [line(head), `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map(line)].join('\n');
}

function header(res: BenchResults): string {
  const s = res.settings;
  return `${res.when} · node ${res.node} · ${res.cpus} CPUs · ${s.connections} connections · ${s.durationS} s per run after ${s.warmupS} s warm-up`;
}

export function renderText(res: BenchResults): string {
  const parts = [header(res), '', textTable(loadRows(res)), '', memoryLine(res)];
  if (res.pickers.length > 0) parts.push('', textTable(pickerRows(res)));
  return parts.join('\n');
}

export function renderMarkdown(res: BenchResults): string {
  const parts = ['# Switchyard benchmark', '', header(res), '', mdTable(loadRows(res)), '', memoryLine(res)];
  if (res.pickers.length > 0) parts.push('', '## Pickers', '', mdTable(pickerRows(res)));
  parts.push('', 'The ratio is the figure to compare across machines; absolute numbers vary by machine.', '');
  return parts.join('\n');
}

export function writeResults(dir: string, res: BenchResults): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'latest.json');
  const md = join(dir, 'latest.md');
  writeFileSync(json, `${JSON.stringify(res, null, 2)}\n`);
  writeFileSync(md, renderMarkdown(res));
  return { json, md };
}
