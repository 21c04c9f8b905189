/**
 * The body sent upstream, built from the client's bytes without parsing what is only
 * forwarded: `model` set to the upstream name, proxy-only keys (LiteLLM's own params) left
 * out, deployment defaults added where the client gave none. Every other member is copied
 * byte for byte, in the client's order. One copy of the body, into bytes `alloc` gives (the
 * dispatcher's: a block of memory shared with the workers, or a buffer of its own).
 */
import { asBuffer, scanObject, type Members } from '../json/scan.js';
import { proxyOnlyBodyKeys } from './index.js';

const dropped: ReadonlySet<string> = new Set([...proxyOnlyBodyKeys, 'model']);

/**
 * `members`: the scan of `body` when the caller has it (the server scans every request once);
 * scanned here otherwise. `body` must be a JSON object (the server has checked).
 */
export function spliceUpstreamBody(
  body: Uint8Array,
  members: Members | null,
  upstreamModel: string,
  defaults: Readonly<Record<string, unknown>> | null,
  alloc: (size: number) => Uint8Array,
): Uint8Array {
  const b = asBuffer(body);
  const m = members ?? scanObject(b);
  if (m === null) throw new TypeError('an upstream body must be a JSON object');
  const head = `{"model":${JSON.stringify(upstreamModel)}`;
  let tail = '';
  if (defaults !== null) {
    for (const k in defaults) if (!m.names.includes(k)) tail += `,${JSON.stringify(k)}:${JSON.stringify(defaults[k])}`;
  }
  tail += '}';
  const keep: number[] = [];
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail);
  for (let i = 0; i < m.names.length; i++) {
    // A key given twice goes once, as its last value: the one the proxy read (JSON.parse keeps
    // the last), so an upstream that keeps the first cannot run a different request.
    if (dropped.has(m.names[i]!) || m.names.lastIndexOf(m.names[i]!) !== i) continue;
    keep.push(i);
    size += 1 + m.valueEnds[i]! - m.keyStarts[i]!;
  }
  // Not zeroed (a slab block holds an earlier body): every byte is written below.
  const bytes = alloc(size);
  const out = Buffer.from(bytes.buffer, bytes.byteOffset, size);
  let at = out.write(head, 0, 'utf8');
  for (const i of keep) {
    out[at++] = 0x2c;
    at += b.copy(out, at, m.keyStarts[i]!, m.valueEnds[i]!);
  }
  out.write(tail, at, 'utf8');
  return bytes;
}
