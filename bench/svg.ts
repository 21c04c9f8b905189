/**
 * bench/results/latest.svg, written by hand (no chart dependency): small multiples, one row per
 * figure (throughput, proxy CPU per request split by thread, added latency at p50 and p99)
 * and one column per load scenario, each cell with its own scale and a bar per target, values
 * printed on the bars.
 */
import type { BenchResults, LoadRow } from './results.js';
import { SCENARIO_TITLES } from './scenarios.js';
import type { LoadScenario, TargetName } from './scenarios.js';

const CHART_TARGETS: readonly TargetName[] = ['direct', 'nginx', 'pool', 'inline'];
const COLORS: Readonly<Record<string, string>> = { direct: '#7a7a7a', nginx: '#2e9e44', pool: '#2f6fce', inline: '#e07b18', 'pool+redis': '#8e44ad' };
/** Shades of a target's colour for Switchyard's main thread / worker threads / helper threads. */
const SHADES = [1, 0.6, 0.3] as const;

const CELL_W = 250;
const CELL_H = 190;
const PAD_L = 56;
const PAD_TOP = 92;
const ROW_TITLE = 26;
const PLOT_H = 130;

function esc(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  if (a >= 100) return n.toFixed(0);
  return n.toFixed(1);
}

/** 1, 2 or 5 × 10^k at or above `v`. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

interface Segment {
  readonly value: number;
  readonly color: string;
  readonly opacity: number;
}

interface Bar {
  readonly target: TargetName;
  readonly segments: readonly Segment[];
  /** Printed above the bar (the total, or the real value when a negative one is drawn as 0). */
  readonly label: string;
}

interface Cell {
  readonly title: string;
  readonly bars: readonly Bar[];
  readonly axis?: (v: number) => string;
}

interface ChartRow {
  readonly title: string;
  readonly cells: readonly Cell[];
  /** Axis values, in the unit of the title (values are µs for the latency rows, shown as ms). */
  readonly axis?: (v: number) => string;
}

const ms = (us: number): string => {
  const v = us / 1000;
  const a = Math.abs(v);
  return `${v < 0 ? '−' : ''}${a >= 100 ? a.toFixed(0) : a >= 10 ? a.toFixed(1) : a.toFixed(2)}`;
};

function solid(target: TargetName, value: number, label: string): Bar {
  return { target, segments: [{ value: Math.max(0, value), color: COLORS[target]!, opacity: 1 }], label };
}

function cpuBar(r: LoadRow): Bar | null {
  if (r.cpu.proxyUs === null) return null;
  const c = COLORS[r.target]!;
  const segments: Segment[] =
    r.cpu.mainUs === null
      ? [{ value: r.cpu.proxyUs, color: c, opacity: 1 }]
      : [
          { value: r.cpu.mainUs, color: c, opacity: SHADES[0] },
          { value: r.cpu.workersUs ?? 0, color: c, opacity: SHADES[1] },
          { value: r.cpu.helpersUs ?? 0, color: c, opacity: SHADES[2] },
        ];
  return { target: r.target, segments, label: compact(r.cpu.proxyUs) };
}

function rows(res: BenchResults, targets: readonly TargetName[]): ChartRow[] {
  const scenarios = [...new Set(res.load.map((r) => r.scenario))] as LoadScenario[];
  const loadCells = (bar: (r: LoadRow) => Bar | null): Cell[] =>
    scenarios.map((s) => ({
      title: SCENARIO_TITLES[s],
      bars: targets
        .map((t) => res.load.find((r) => r.scenario === s && r.target === t))
        .map((r) => (r === undefined ? null : bar(r)))
        .filter((b): b is Bar => b !== null),
    }));
  const out: ChartRow[] = [];
  if (scenarios.length > 0) {
    out.push(
      { title: 'Throughput, req/s (higher is better)', cells: loadCells((r) => solid(r.target, r.rps, compact(r.rps))) },
      { title: 'Proxy CPU per request, µs (lower is better; Switchyard shaded main · workers · helpers)', cells: loadCells(cpuBar) },
      { title: 'Added p50 latency over direct, ms (lower is better)', cells: loadCells((r) => (r.addedP50Us === null ? null : solid(r.target, r.addedP50Us, ms(r.addedP50Us)))), axis: ms },
      { title: 'Added p99 latency over direct, ms (lower is better)', cells: loadCells((r) => (r.addedP99Us === null ? null : solid(r.target, r.addedP99Us, ms(r.addedP99Us)))), axis: ms },
    );
  }
  const slow = targets.map((t) => res.slowStreams.find((s) => s.target === t)).filter((s) => s !== undefined);
  if (slow.length > 0) {
    const n = res.settings.streams.toLocaleString('en-US');
    out.push({
      title: `${n} concurrent slow streams`,
      cells: [
        { title: 'most open at once (higher is better)', bars: slow.map((s) => solid(s.target, s.maxOpen, compact(s.maxOpen))) },
        { title: 'RSS growth per stream in flight, KiB', bars: slow.filter((s) => s.perStreamKiB !== null).map((s) => solid(s.target, s.perStreamKiB!, s.perStreamKiB!.toFixed(1))) },
        { title: 'CPU per stream, µs', bars: slow.filter((s) => s.cpuUsPerStream !== null).map((s) => solid(s.target, s.cpuUsPerStream!, compact(s.cpuUsPerStream!))) },
        { title: 'small-chat p99 while they open, ms', bars: slow.filter((s) => s.probe !== null).map((s) => solid(s.target, s.probe!.p99Us, ms(s.probe!.p99Us))), axis: ms },
      ],
    });
  }
  return out;
}

export function renderSvg(res: BenchResults): string {
  const targets = CHART_TARGETS.filter((t) => res.load.some((r) => r.target === t) || res.slowStreams.some((r) => r.target === t));
  const chart = rows(res, targets);
  const cols = Math.max(1, ...chart.map((r) => r.cells.length));
  const width = PAD_L + cols * CELL_W + 20;
  const height = PAD_TOP + chart.length * (CELL_H + ROW_TITLE) + 30;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="${PAD_L}" y="24" font-size="16" font-weight="bold">Switchyard benchmark</text>`);
  out.push(`<text x="${PAD_L}" y="42" fill="#444">${esc(`${res.when.slice(0, 16).replace('T', ' ')} UTC · node ${res.node} · ${res.cpus} CPUs · ${res.generator} · ${res.settings.connections} connections (latency-c1: 1) · ${res.settings.durationS} s per run`)}</text>`);
  let lx = PAD_L;
  for (const t of targets) {
    const label = t === 'direct' ? 'direct (no proxy)' : t === 'pool' || t === 'inline' ? `Switchyard ${t}` : t;
    out.push(`<rect x="${lx}" y="56" width="14" height="14" fill="${COLORS[t]}"/><text x="${lx + 19}" y="67">${esc(label)}</text>`);
    lx += 30 + label.length * 6.5;
  }
  chart.forEach((row, ri) => {
    const top = PAD_TOP + ri * (CELL_H + ROW_TITLE);
    out.push(`<text x="${PAD_L}" y="${top + 14}" font-size="13" font-weight="bold">${esc(row.title)}</text>`);
    row.cells.forEach((cell, ci) => {
      const x0 = PAD_L + ci * CELL_W;
      const y0 = top + ROW_TITLE;
      const base = y0 + PLOT_H;
      const plotW = CELL_W - 24;
      const highest = Math.max(0, ...cell.bars.map((b) => b.segments.reduce((a, g) => a + g.value, 0)));
      const max = niceMax(highest);
      const scale = (v: number): number => (v / max) * (PLOT_H - 14);
      // Every bar at 0 (say, no added latency at all): only the baseline, no made-up scale.
      for (const f of highest > 0 ? [0, 0.5, 1] : [0]) {
        const y = base - f * (PLOT_H - 14);
        out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + plotW}" y2="${y}" stroke="${f === 0 ? '#333' : '#ddd'}"/>`);
        out.push(`<text x="${x0 - 4}" y="${y + 4}" text-anchor="end" fill="#666" font-size="10">${f === 0 ? '0' : (cell.axis ?? row.axis ?? compact)(f * max)}</text>`);
      }
      out.push(`<text x="${x0 + plotW / 2}" y="${base + 18}" text-anchor="middle" font-weight="bold">${esc(cell.title)}</text>`);
      if (cell.bars.length === 0) {
        out.push(`<text x="${x0 + plotW / 2}" y="${base - 40}" text-anchor="middle" fill="#999">n/a</text>`);
        return;
      }
      const slot = plotW / Math.max(cell.bars.length, 3);
      const barW = Math.min(40, slot * 0.7);
      cell.bars.forEach((b, bi) => {
        const bx = x0 + slot * bi + slot / 2 - barW / 2;
        let y = base;
        for (const g of b.segments) {
          const h = scale(g.value);
          y -= h;
          out.push(`<rect x="${bx.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${g.color}" fill-opacity="${g.opacity}"/>`);
        }
        out.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${(y - 3).toFixed(1)}" text-anchor="middle" font-size="10">${esc(b.label)}</text>`);
      });
    });
  });
  out.push(`<text x="${PAD_L}" y="${height - 10}" fill="#666">${esc('CPU from /proc utime+stime before/after each run. On a shared small machine trust µs per request over req/s; see latest.md for every figure.')}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
