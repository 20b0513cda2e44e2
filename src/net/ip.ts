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

const INET_ATON_PART = /^(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/;

/**
 * The IPv4 address that the C library's `inet_aton` (and so `getaddrinfo`,
 * which every scanner and `dns.lookup` use) reads in `text`, in dotted form;
 * `undefined` when it reads none. It reads far more than dotted decimal: one
 * to four parts, each hex (`0x7f`), octal (`0177`) or decimal, the last part
 * filling the remaining bytes, so `0x08080808`, `134744072`, `127.1` and
 * `0177.0.0.1` are all addresses to it. A check that takes them for names
 * lets a scan reach what the scope refuses.
 */
export function inetAton(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length > 4 || !parts.every((part) => INET_ATON_PART.test(part))) return undefined;
  const values = parts.map((part) =>
    /^0[xX]/.test(part) ? BigInt(part) : part.length > 1 && part.startsWith('0') ? BigInt(`0o${part.slice(1)}`) : BigInt(part),
  );
  const last = values.pop() ?? 0n;
  // Leading parts are one byte each; the last fills the bytes that remain.
  if (values.some((value) => value > 0xffn) || last >= 1n << BigInt(8 * (4 - values.length))) return undefined;
  const value = values.reduce((sum, byte, index) => sum | (byte << BigInt(8 * (3 - index))), last);
  return fromBigInt(value, 4);
}
