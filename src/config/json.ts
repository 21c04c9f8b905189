/** Small helpers for JSON values as YAML gives them. */
import type { JsonObject, JsonValue } from './types.js';

export function get(obj: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  // A key named `__proto__` must stay an own data property.
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isUnset(v: JsonValue | undefined): v is null | undefined {
  return v === undefined || v === null;
}

export function kindOf(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  return 'a boolean';
}

export function parseNumeric(s: string): number | undefined {
  // Python's int()/float() accept `_` between digits, and so does LiteLLM's casting.
  const t = s.trim().replace(/(?<=\d)_(?=\d)/g, '');
  if (!/^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}
