/**
 * YAML text → plain JSON values, read the way LiteLLM reads it (PyYAML `safe_load`, YAML 1.1),
 * plus a map from each value's path (`model_list[2].litellm_params.rpm`) to its 1-based line.
 */
import {
  isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar,
  type Document, type YAMLMap,
} from 'yaml';
import type { ConfigProblem, JsonObject, JsonValue } from './types.js';

export interface YamlSource {
  /** The document as JSON values; undefined for an empty document. */
  readonly value: JsonValue | undefined;
  /** 1-based line of each mapping key and sequence item, by path. */
  readonly lines: ReadonlyMap<string, number>;
  /**
   * Paths of numbers that were floats in YAML. JavaScript cannot tell `300.0` from `300`;
   * Python can, and LiteLLM's deployment-id hash prints them differently.
   */
  readonly floatPaths: ReadonlySet<string>;
  /** Duplicate keys and YAML warnings: the config still loads. */
  readonly warnings: readonly string[];
}

export type YamlParseResult =
  | { readonly ok: true; readonly source: YamlSource }
  | { readonly ok: false; readonly problems: ConfigProblem[] };

export function joinKey(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

export function joinIndex(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** Line of `path`, else of its nearest ancestor that has one (a missing key points at its parent). */
export function lineOf(lines: ReadonlyMap<string, number>, path: string): number | null {
  let p = path;
  while (p !== '') {
    const line = lines.get(p);
    if (line !== undefined) return line;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut <= 0 ? '' : p.slice(0, cut);
  }
  return null;
}

// PyYAML's implicit int and float resolvers (resolver.py). The `yaml` package's 1.1 schema is
// a little wider (`1e5`, `09`, `y`/`n` as booleans); PyYAML reads those as strings, and so do we.
const pyYamlInt = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const pyYamlFloat = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const floatTag = 'tag:yaml.org,2002:float';
const maxDepth = 100;
const maxAliases = 1000;

export function parseYamlSource(text: string): YamlParseResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.1',
    lineCounter: lc,
    // PyYAML accepts duplicate keys (the last one wins); we warn instead of refusing.
    uniqueKeys: false,
    prettyErrors: false,
  });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        path: '',
        line: lc.linePos(e.pos[0]).line,
        // The library's own wording for this one points at its API, not at the file.
        message: e.code === 'MULTIPLE_DOCS' ? 'the file holds more than one YAML document; a config is a single document' : `YAML syntax error: ${e.message}`,
      })),
    };
  }
  const conv = new Converter(doc, lc);
  for (const w of doc.warnings) conv.warnings.push(`line ${lc.linePos(w.pos[0]).line}: YAML warning: ${w.message}`);
  const value = doc.contents === null ? undefined : conv.convert(doc.contents, '', 0);
  if (conv.problems.length > 0) return { ok: false, problems: conv.problems };
  return { ok: true, source: { value, lines: conv.lines, floatPaths: conv.floatPaths, warnings: conv.warnings } };
}

type KeyValue = { readonly key: unknown; readonly value: unknown; readonly own: boolean };

class Converter {
  readonly lines = new Map<string, number>();
  readonly floatPaths = new Set<string>();
  readonly warnings: string[] = [];
  readonly problems: ConfigProblem[] = [];
  #aliases = 0;

  constructor(private readonly doc: Document, private readonly lc: LineCounter) {}

  convert(node: unknown, path: string, depth: number): JsonValue {
    if (node === null || node === undefined) return null;
    if (depth > maxDepth) return this.#fail(path, node, `nested more than ${maxDepth} levels deep`);
    if (isAlias(node)) {
      if (++this.#aliases > maxAliases) return this.#fail(path, node, `more than ${maxAliases} aliases`);
      const target = node.resolve(this.doc);
      if (target === undefined) return this.#fail(path, node, `unknown alias *${node.source}`);
      return this.convert(target, path, depth + 1);
    }
    if (isScalar(node)) return this.#scalar(node, path);
    if (isMap(node)) return this.#map(node, path, depth);
    if (isSeq(node)) {
      const out: JsonValue[] = [];
      node.items.forEach((item, i) => {
        const p = joinIndex(path, i);
        if (isPair(item)) {
          out.push(this.#fail(p, item.key, 'ordered mappings (!!omap, !!pairs) are not supported'));
          return;
        }
        const line = this.#line(item);
        if (line !== null) this.lines.set(p, line);
        out.push(this.convert(item, p, depth + 1));
      });
      return out;
    }
    return this.#fail(path, node, 'unsupported YAML node');
  }

  #scalar(node: Scalar, path: string): JsonValue {
    const v = scalarValue(node);
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (node.tag === floatTag || (node.tag === undefined && node.source !== undefined && pyYamlFloat.test(node.source))) {
        this.floatPaths.add(path);
      }
      return v;
    }
    if (typeof v === 'bigint') return Number(v);
    return this.#fail(path, node, `unsupported YAML value${node.tag ? ` (${node.tag})` : ''}`);
  }

  #map(node: YAMLMap, path: string, depth: number): JsonObject {
    const out: JsonObject = {};
    const explicit = new Set<string>();
    for (const { key, value, own } of this.#flatten(node, path, depth)) {
      const k = this.#key(key, path);
      if (k === null) continue;
      const p = joinKey(path, k);
      if (own) {
        if (explicit.has(k)) {
          this.warnings.push(`${p} (line ${this.#line(key) ?? '?'}): duplicate key; the later value wins, as in PyYAML`);
        }
        explicit.add(k);
      }
      if (Object.hasOwn(out, k)) this.#forgetFloatsUnder(p);
      const line = this.#line(key) ?? this.#line(value);
      if (line !== null) this.lines.set(p, line);
      // defineProperty: a key such as `__proto__` must stay data, not reach the prototype.
      Object.defineProperty(out, k, { value: this.convert(value, p, depth + 1), writable: true, enumerable: true, configurable: true });
    }
    return out;
  }

  /**
   * PyYAML's `flatten_mapping`: pairs from `<<` merges first (a later merge source listed first,
   * so earlier sources override it), then the map's own pairs. Building the object in this order
   * gives PyYAML's key order and override rules.
   */
  #flatten(node: YAMLMap, path: string, depth: number): KeyValue[] {
    if (depth > maxDepth) return [];
    const merged: KeyValue[] = [];
    const own: KeyValue[] = [];
    for (const pair of node.items) {
      if (!isMergeKey(pair.key)) {
        own.push({ key: pair.key, value: pair.value, own: true });
        continue;
      }
      const src = this.#deref(pair.value);
      if (isMap(src)) merged.push(...this.#merged(src, path, depth));
      else if (isSeq(src)) {
        const parts: KeyValue[][] = [];
        for (const item of src.items) {
          const m = this.#deref(item);
          if (isMap(m)) parts.push(this.#merged(m, path, depth));
          else this.#fail(path, pair.key, 'a << merge list may only hold mappings');
        }
        for (const part of parts.reverse()) merged.push(...part);
      } else this.#fail(path, pair.key, 'a << merge needs a mapping or a list of mappings');
    }
    return [...merged, ...own];
  }

  #merged(src: YAMLMap, path: string, depth: number): KeyValue[] {
    return this.#flatten(src, path, depth + 1).map((kv) => ({ ...kv, own: false }));
  }

  #deref(node: unknown): unknown {
    if (!isAlias(node)) return node;
    if (++this.#aliases > maxAliases) return undefined;
    return node.resolve(this.doc);
  }

  #key(key: unknown, path: string): string | null {
    const node = this.#deref(key);
    if (node === null || node === undefined) return 'null';
    if (isScalar(node)) {
      const v = scalarValue(node);
      if (typeof v === 'string') return v;
      if (v === null) return 'null';
      if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
    }
    this.#fail(path, key, 'mapping keys must be plain values');
    return null;
  }

  #forgetFloatsUnder(path: string): void {
    for (const p of this.floatPaths) {
      if (p === path || p.startsWith(`${path}.`) || p.startsWith(`${path}[`)) this.floatPaths.delete(p);
    }
  }

  #line(node: unknown): number | null {
    if (typeof node !== 'object' || node === null || !('range' in node)) return null;
    const range: unknown = node.range;
    if (!Array.isArray(range) || typeof range[0] !== 'number') return null;
    return this.lc.linePos(range[0]).line;
  }

  #fail(path: string, node: unknown, message: string): null {
    this.problems.push({ path, line: this.#line(node), message });
    return null;
  }
}

function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  const v = key.value;
  if (typeof v === 'symbol') return v.description === '<<';
  // Under a `%YAML 1.2` directive the merge tag is off, but PyYAML always merges.
  return v === '<<' && key.type === Scalar.PLAIN && key.tag === undefined;
}

/** A scalar's value as PyYAML would construct it (timestamps stay text: LiteLLM needs strings). */
function scalarValue(node: Scalar): unknown {
  const v = node.value;
  const src = node.source;
  if (node.tag === undefined && node.type === Scalar.PLAIN && src !== undefined) {
    // `api_version: 2023-05-15` must stay the string Azure expects, not a Date.
    if (v instanceof Date) return src;
    if (typeof v === 'boolean' && /^[yYnN]$/.test(src)) return src;
    if (typeof v === 'number' && !pyYamlInt.test(src) && !pyYamlFloat.test(src)) return src;
  }
  if (v instanceof Date) return src ?? v.toISOString();
  return v;
}
