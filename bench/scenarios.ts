/**
 * What the bench measures: the scenarios (request bodies, connection counts, what a correct
 * answer looks like) and the targets they are sent to.
 */

export const SCENARIOS = ['chat', 'prompt-128k', 'stream-50', 'latency-c1', 'slow-streams'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** The scenarios measured by a load generator at a fixed connection count. */
export type LoadScenario = Exclude<ScenarioName, 'slow-streams'>;

export const TARGETS = ['direct', 'nginx', 'pool', 'inline', 'pool+redis'] as const;
export type TargetName = (typeof TARGETS)[number];

export const SCENARIO_TITLES: Readonly<Record<ScenarioName, string>> = {
  chat: 'small chat',
  'prompt-128k': '128 KB prompt',
  'stream-50': 'stream, 50 chunks',
  'latency-c1': 'latency, 1 connection',
  'slow-streams': 'slow streams',
};

/** Chunks per response the fast upstream streams (the finish chunk included; [DONE] follows). */
export const STREAM_CHUNKS = 50;
/** The slow upstream: 20 chunks 500 ms apart, so each stream stays open ~10 s. */
export const SLOW_CHUNKS = 20;
export const SLOW_CHUNK_DELAY_MS = 500;

export const MODEL = 'bench';
export const SLOW_MODEL = 'bench-slow';
export const PROMPT_BYTES = 128 * 1024;

/** Plain words, exactly PROMPT_BYTES long: a prompt, not a run of one byte a codec might shortcut. */
function prompt(bytes: number): string {
  const words = 'the quick brown fox jumps over the lazy dog while a proxy routes tokens to upstream models ';
  return words.repeat(Math.ceil(bytes / words.length)).slice(0, bytes);
}

export function chatBody(model: string, opts: { content?: string; stream?: boolean } = {}): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: opts.content ?? 'hi' }], ...(opts.stream === true ? { stream: true } : {}) });
}

export interface LoadScenarioDef {
  readonly name: LoadScenario;
  readonly body: string;
  readonly stream: boolean;
  /** null: the --connections flag. */
  readonly connections: number | null;
}

export const LOAD_SCENARIOS: Readonly<Record<LoadScenario, LoadScenarioDef>> = {
  chat: { name: 'chat', body: chatBody(MODEL), stream: false, connections: null },
  'prompt-128k': { name: 'prompt-128k', body: chatBody(MODEL, { content: prompt(PROMPT_BYTES) }), stream: false, connections: null },
  'stream-50': { name: 'stream-50', body: chatBody(MODEL, { stream: true }), stream: true, connections: null },
  'latency-c1': { name: 'latency-c1', body: chatBody(MODEL), stream: false, connections: 1 },
};

export const SLOW_STREAM_BODY = chatBody(SLOW_MODEL, { stream: true });

/**
 * Why a response is not what the scenario expects, or null when it is: a whole
 * chat.completion, or a stream of `chunks` events and `data: [DONE]`. Run once per scenario
 * and target before the load, since wrk does not look at bodies.
 */
export function checkResponse(status: number, text: string, stream: boolean, chunks: number): string | null {
  if (status !== 200) return `status ${status}: ${text.slice(0, 200)}`;
  if (!stream) {
    try {
      const j = JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] };
      return typeof j.choices?.[0]?.message?.content === 'string' ? null : `no choices[0].message.content in ${text.slice(0, 200)}`;
    } catch {
      return `not JSON: ${text.slice(0, 200)}`;
    }
  }
  const events = text.split('\n').filter((l) => l.startsWith('data: '));
  if (events[events.length - 1] !== 'data: [DONE]') return `stream does not end with data: [DONE] (${events.length} events)`;
  if (events.length - 1 !== chunks) return `stream has ${events.length - 1} chunks, expected ${chunks}`;
  return null;
}
