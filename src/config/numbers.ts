/**
 * Lenient numbers in free-form config maps (`model_info`, `litellm_params`): a number or a
 * numeric string, as LiteLLM reads prices and context windows there.
 */
import type { JsonObject } from './types.js';

/** A number, or a numeric string; null otherwise. */
export function numeric(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

export function numberField(o: JsonObject, key: string): number | null {
  return numeric(o[key]);
}
