/**
 * Replaces the values of every top-level member named `name` in scanned JSON bytes with
 * `json` (already serialised), copying everything else byte for byte.
 */
import type { Members } from './scan.js';

/** `standalone`: the result owns its memory (it is transferred to another thread); otherwise it may share Node's pool. */
export function replaceMember(b: Buffer, m: Members, name: string, json: string, standalone: boolean): Buffer {
  const bytes = Buffer.byteLength(json);
  let size = b.length;
  for (let i = 0; i < m.names.length; i++) if (m.names[i] === name) size += bytes - (m.valueEnds[i]! - m.valueStarts[i]!);
  // Not zeroed: every byte is written below.
  const out = standalone ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size);
  let from = 0;
  let at = 0;
  for (let i = 0; i < m.names.length; i++) {
    if (m.names[i] !== name) continue;
    at += b.copy(out, at, from, m.valueStarts[i]!);
    at += out.write(json, at, 'utf8');
    from = m.valueEnds[i]!;
  }
  b.copy(out, at, from, b.length);
  return out;
}
