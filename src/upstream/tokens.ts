/**
 * Prompt token counting for the context-window pre-call check. Runs in the worker pool, and
 * the tokenizer's rank tables (several MB) load only the first time a check needs them.
 * Counts follow OpenAI's published chat heuristic: each message costs its content plus 3
 * tokens of framing (plus 1 for a name), and every reply is primed with 3.
 */
import type { Tiktoken } from 'js-tiktoken/lite';
import { responsesPromptText } from '../providers/responses-request.js';

let o200k: Promise<Tiktoken> | null = null;
let cl100k: Promise<Tiktoken> | null = null;

async function load(name: 'o200k_base' | 'cl100k_base'): Promise<Tiktoken> {
  const { Tiktoken: T } = await import('js-tiktoken/lite');
  const ranks = name === 'o200k_base'
    ? (await import('js-tiktoken/ranks/o200k_base')).default
    : (await import('js-tiktoken/ranks/cl100k_base')).default;
  return new T(ranks);
}

/** gpt-4o, gpt-4.1, gpt-5 and the o-series use o200k; everything else is counted with cl100k, as LiteLLM does. */
function encodingFor(model: string): Promise<Tiktoken> {
  if (/(^|\/)(gpt-4o|gpt-4\.1|gpt-5|o1|o3|o4|chatgpt-4o)/.test(model)) return (o200k ??= load('o200k_base'));
  return (cl100k ??= load('cl100k_base'));
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    let s = '';
    for (const part of v) {
      if (typeof part === 'string') s += part;
      else if (part !== null && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') s += (part as { text: string }).text;
    }
    return s;
  }
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return '';
}

/**
 * Tokens of client text. Special-token markers (`<|endoftext|>`) in it are counted as the
 * ordinary text they are: js-tiktoken's default throws on them, which failed the request.
 */
function counter(enc: Tiktoken): { encode(s: string): { length: number } } {
  return { encode: (s) => enc.encode(s, [], []) };
}

export async function countPromptTokens(body: Record<string, unknown>, model: string): Promise<number> {
  const enc = counter(await encodingFor(model));
  if (Array.isArray(body.messages)) {
    let n = 3;
    for (const m of body.messages) {
      if (m === null || typeof m !== 'object') continue;
      const msg = m as Record<string, unknown>;
      n += 3 + enc.encode(text(msg.content)).length;
      if (typeof msg.name === 'string') n += 1 + enc.encode(msg.name).length;
      if (msg.tool_calls !== undefined) n += enc.encode(JSON.stringify(msg.tool_calls)).length;
    }
    if (body.tools !== undefined) n += enc.encode(JSON.stringify(body.tools)).length;
    return n;
  }
  const responses = responsesPromptText(body);
  if (responses !== null) return enc.encode(responses).length;
  const input = body.prompt ?? body.input;
  if (Array.isArray(input)) {
    let n = 0;
    for (const p of input) n += typeof p === 'string' ? enc.encode(p).length : Array.isArray(p) ? p.length : 0;
    return n;
  }
  return enc.encode(text(input)).length;
}
