/**
 * Microbench of the access line: `logAccess` in a loop, human and JSON format, into a sink
 * that discards, with a config-like set of secrets (a master key and ten deployment api keys)
 * and the reply headers a routed chat completion carries. Prints CPU ns per line (process CPU
 * time, so other load on the machine counts less than in wall time), the median of seven runs. Run: `npx tsc -p tsconfig.json && node dist/bench/access-log-micro.js`.
 */
import { createLogger } from '../src/log.js';
import { logAccess } from '../src/server/access-log.js';
import type { ResponseState } from '../src/server/response-state.js';

const N = Number(process.env.N ?? 300_000);
const RUNS = 7;

const secrets = ['sk-master-0123456789abcdef', ...Array.from({ length: 10 }, (_, i) => `sk-proj-${i}Xa9fQ2mLr7TzB4kWc8Vn1Hs6Jd3Pe5Gy0Uo-${i}`)];
const id = 'f1e2d3c4b5a69788f1e2d3c4b5a69788f1e2d3c4b5a69788f1e2d3c4b5a69788';
const headers = [
  'x-litellm-model-id', id, 'x-litellm-model-api-base', 'https://api.openai.com/v1',
  'x-litellm-model-group', 'gpt-4o-mini', 'x-litellm-attempted-retries', '0', 'x-litellm-attempted-fallbacks', '0',
];
const usage = { promptTokens: 12, completionTokens: 34, totalTokens: 46 };

function states(n: number): ResponseState[] {
  const out: ResponseState[] = [];
  for (let i = 0; i < n; i++) {
    const startedAt = performance.now() - 1 - (i % 7) * 0.37;
    out.push({
      aborted: false, finished: true, streaming: false, closeConnection: false,
      requestId: `0a1b2c3d-4e5f-6a7b-8c9d-${(i + 1).toString(16).padStart(12, '0')}`,
      method: 'POST', url: '/v1/chat/completions', origin: '', startedAt,
      firstByteAt: i % 4 === 0 ? startedAt + 0.5 : 0, status: 200, logged: false,
      ctx: { log: null, cors: null as never },
    });
  }
  return out;
}

function run(json: boolean): number {
  let bytes = 0;
  const log = createLogger({ level: 'info', json, write: (l) => { bytes += l.length; } });
  log.addSecrets(secrets);
  const sts = states(1024);
  const times: number[] = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const st = sts[i & 1023]!;
      st.logged = false;
      logAccess(log, st, headers, i & 1 ? usage : null);
    }
    const d = process.cpuUsage(t0);
    const ns = ((d.user + d.system) * 1000) / N;
    if (r > 0) times.push(ns); // the first run warms up
  }
  if (bytes === 0) throw new Error('no output');
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

const which = process.argv[2];
if (which !== 'json') console.log(`human: ${run(false).toFixed(0)} ns/line`);
if (which !== 'human') console.log(`json:  ${run(true).toFixed(0)} ns/line`);
