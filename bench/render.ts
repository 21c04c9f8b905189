/**
 * Re-renders latest.md and latest.svg from latest.json without measuring again:
 * `node dist/bench/render.js [path/to/results.json]`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResults } from './report.js';
import type { BenchResults } from './results.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const json = process.argv[2] ?? join(ROOT, 'bench', 'results', 'latest.json');
const res = JSON.parse(readFileSync(json, 'utf8')) as BenchResults;
console.log(writeResults(dirname(resolve(json)), res).join('\n'));
