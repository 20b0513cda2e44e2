import type { ByteRange } from './file-store.ts';

/**
 * The one range of a `Range` header over `size` bytes (RFC 9110 §14.1.2):
 * `undefined` to send the whole content (no header, another unit, several
 * ranges or a malformed one, which a server may ignore), `null` when
 * unsatisfiable (416).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // A suffix: the last n bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return null;
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return null;
  return { start, end };
}
