import { isIP } from 'node:net';

/**
 * Address arithmetic on bigints, for what `node:net` cannot answer: a CIDR's
 * network address, its size, and whether one network lies inside another.
 */
export type Family = 4 | 6;

export const addressBits = (family: Family): number => (family === 4 ? 32 : 128);

/** Canonical text of an address (`::0:1` → `::1`), or `undefined` when it is not one. */
export function canonicalAddress(raw: string): { address: string; family: Family } | undefined {
  const family = isIP(raw);
  if (family === 4) return { address: raw, family };
  // Zone ids ("fe80::1%eth0") name a local interface, not an address to scan.
  if (family === 6 && !raw.includes('%')) return { address: new URL(`http://[${raw}]`).hostname.slice(1, -1), family };
  return undefined;
}

export function toBigInt(address: string, family: Family): bigint {
  if (family === 4) {
    return address.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
  }
  // Canonical form has at most one "::" and no embedded IPv4 (URL rewrites it to hex).
  const canonical = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const [head = '', tail] = canonical.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

export function fromBigInt(value: bigint, family: Family): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

/** The network address of `address/prefix` (host bits cleared). */
export function networkOf(address: bigint, prefix: number, family: Family): bigint {
  const hostBits = BigInt(addressBits(family) - prefix);
  return (address >> hostBits) << hostBits;
}
