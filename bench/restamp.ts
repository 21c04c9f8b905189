/**
 * Microbench of the non-streaming answer restamp (src/upstream/restamp.ts) against the
 * JSON.parse + JSON.stringify restamp it replaced for small answers, on the answer
 * bench/upstream.ts sends (~350 B) and on a ~4 KiB one (long non-ASCII content, two
 * tool_calls). CPU time of this thread per call (process.cpuUsage, so time spent descheduled
 * on a shared machine is not counted), runs interleaved; the minimum and median of the runs.
 *
 *   node dist/bench/restamp.js
 */
import { restampReply } from '../src/upstream/restamp.js';
import { readUsage } from '../src/upstream/sse.js';

const SMALL = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench', object: 'chat.completion', created: 1700000000, model: 'bench-model', system_fingerprint: 'fp_bench',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the bench upstream.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 7, completion_tokens: 8, total_tokens: 15 },
  }),
);

const para = 'The load balancer forwards the "request" to one of the deployments; when it fails, it retries on another one.\nCosts: 0.5 µs per call — café.\t';
const MID = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-9x8y7z6w5v4u3t2s1r0q', object: 'chat.completion', created: 1733050000, model: 'gpt-4o-mini-2024-07-18',
    choices: [{
      index: 0,
      message: {
        role: 'assistant', content: para.repeat(Math.ceil(2900 / para.length)), refusal: null,
        tool_calls: [
          { id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ location: 'Paris, FR', unit: 'celsius', model: 'nested' }) } },
          { id: 'call_def456', type: 'function', function: { name: 'search_docs', arguments: JSON.stringify({ query: 'retry "policy" \\ backoff', top_k: 5, filters: { lang: ['en', 'fr'] } }) } },
        ],
      },
      logprobs: null, finish_reason: 'tool_calls',
    }],
    usage: {
      prompt_tokens: 1234, completion_tokens: 789, total_tokens: 2023, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
    service_tier: 'default', system_fingerprint: 'fp_0ba0d124f1',
  }),
);

/** The restamp small answers had before: a whole parse and a re-serialisation. */
function parseAndStringify(b: Buffer, responseModel: string | null): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(b.toString('utf8'));
  } catch {
    return null;
  }
  let usage = null;
  let finishReason: string | null = null;
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const o = parsed as Record<string, unknown>;
    usage = readUsage(o.usage);
    if (responseModel !== null && 'model' in o) o.model = responseModel;
    const first: unknown = Array.isArray(o.choices) ? o.choices[0] : undefined;
    if (first !== null && typeof first === 'object') {
      const fr = (first as Record<string, unknown>).finish_reason;
      if (typeof fr === 'string') finishReason = fr;
    }
  }
  return { body: JSON.stringify(parsed), usage, finishReason };
}

const impls: ReadonlyArray<[string, (b: Buffer, m: string | null) => unknown]> = [['restampReply', restampReply], ['parse+stringify', parseAndStringify]];
const answers: ReadonlyArray<[string, Buffer, number]> = [[`${SMALL.length} B`, SMALL, 40_000], [`${MID.length} B`, MID, 8_000]];

let sink: unknown;
function cpuNsPerCall(fn: (b: Buffer, m: string | null) => unknown, b: Buffer, n: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) sink = fn(b, 'group-model');
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / n;
}

const RUNS = 15;
const times = new Map<string, number[]>();
for (const [, fn] of impls) for (const [, b, n] of answers) cpuNsPerCall(fn, b, n * 3);
for (let r = 0; r < RUNS; r++) {
  for (const [name, fn] of impls) {
    for (const [label, b, n] of answers) {
      const key = `${name.padEnd(16)} ${label.padStart(7)}`;
      if (!times.has(key)) times.set(key, []);
      times.get(key)!.push(cpuNsPerCall(fn, b, n));
    }
  }
}
for (const [key, t] of times) {
  t.sort((a, b) => a - b);
  console.log(`${key}  min ${(t[0]! / 1000).toFixed(2)} µs  median ${(t[RUNS >> 1]! / 1000).toFixed(2)} µs`);
}
void sink;
