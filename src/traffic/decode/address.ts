/**
 * Addresses as text, read straight from a packet's bytes when a summary is asked
 * for them (never while decoding): IPv4 dotted quads, IPv6 in RFC 5952's form
 * (lowercase, the longest run of zero groups as `::`, IPv4-mapped as
 * `::ffff:a.b.c.d`), MACs as colon-separated hex pairs.
 */

const HEX_PAIRS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export function ipv4At(view: DataView, at: number): string {
  return `${view.getUint8(at)}.${view.getUint8(at + 1)}.${view.getUint8(at + 2)}.${view.getUint8(at + 3)}`;
}

export function ipv6At(view: DataView, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(view.getUint16(at + i * 2));
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${ipv4At(view, at + 12)}`;
  }
  // The longest run of two or more zero groups (the first of equals) becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((group) => group.toString(16))
      .join(':');
  return bestStart < 0 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

export function macAt(view: DataView, at: number, length = 6): string {
  let text = '';
  for (let i = 0; i < length; i++) text += (i ? ':' : '') + HEX_PAIRS[view.getUint8(at + i)];
  return text;
}

/** The text of an address key (`PacketSummary.srcKey`): an IPv4 address as a number, or IPv6 text as it is. */
export function addressOfKey(key: number | string): string {
  if (typeof key === 'string') return key;
  return `${key >>> 24}.${(key >>> 16) & 0xff}.${(key >>> 8) & 0xff}.${key & 0xff}`;
}
