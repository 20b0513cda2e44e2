import { decodeNetwork, decodeNetworkByVersion } from './network.ts';
import { type PacketSummary, Problem } from './summary.ts';

/** The link types the decoder reads (LINKTYPE_* of the pcap and pcapng specifications, and DLT_RAW's old numbers). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW_OLD: 12,
  RAW_OPENBSD: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const NAMES = new Map<number, string>([
  [LinkType.NULL, 'NULL'],
  [LinkType.ETHERNET, 'ETHERNET'],
  [LinkType.RAW_OLD, 'RAW'],
  [LinkType.RAW_OPENBSD, 'RAW'],
  [LinkType.RAW, 'RAW'],
  [LinkType.LOOP, 'LOOP'],
  [LinkType.LINUX_SLL, 'LINUX_SLL'],
  [LinkType.IPV4, 'IPV4'],
  [LinkType.IPV6, 'IPV6'],
  [LinkType.LINUX_SLL2, 'LINUX_SLL2'],
]);

export function linkTypeName(linkType: number): string {
  return NAMES.get(linkType) ?? `LINKTYPE_${linkType}`;
}

/** EtherTypes that carry an 802.1Q tag (802.1Q, 802.1ad QinQ, and the older 0x9100). */
const VLAN_TPID_8100 = 0x8100;
const VLAN_TPID_88A8 = 0x88a8;
const VLAN_TPID_9100 = 0x9100;

/** BSD loopback's address families: AF_INET, and AF_INET6 as Linux, the BSDs and macOS number it. */
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);

/** Decodes the link layer of a record of `linkType` at `at`, then what it carries. `end` is where the captured bytes end. */
export function decodeLink(packet: PacketSummary, view: DataView, linkType: number, at: number, end: number): void {
  switch (linkType) {
    case LinkType.ETHERNET:
      ethernet(packet, view, at, end);
      return;
    case LinkType.LINUX_SLL:
      cooked(packet, view, at, end, 16, at + 14);
      return;
    case LinkType.LINUX_SLL2:
      cooked(packet, view, at, end, 20, at);
      return;
    case LinkType.RAW:
    case LinkType.RAW_OLD:
    case LinkType.RAW_OPENBSD:
      decodeNetworkByVersion(packet, view, at, end);
      return;
    case LinkType.IPV4:
      decodeNetwork(packet, view, 0x0800, at, end);
      return;
    case LinkType.IPV6:
      decodeNetwork(packet, view, 0x86dd, at, end);
      return;
    case LinkType.NULL:
    case LinkType.LOOP:
      loopback(packet, view, at, end, linkType === LinkType.NULL);
      return;
  }
}

function ethernet(packet: PacketSummary, view: DataView, at: number, end: number): void {
  if (end - at < 14) {
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  let type = view.getUint16(at + 12);
  let offset = at + 14;
  while (type === VLAN_TPID_8100 || type === VLAN_TPID_88A8 || type === VLAN_TPID_9100) {
    if (end - offset < 4) {
      packet.problems |= Problem.TRUNCATED;
      return;
    }
    if (packet.vlans === null) packet.vlans = [];
    packet.vlans.push(view.getUint16(offset) & 0x0fff);
    type = view.getUint16(offset + 2);
    offset += 4;
  }
  // Below 0x0600 the field is an 802.3 length, and an LLC header follows: nothing we read.
  if (type >= 0x0600) decodeNetwork(packet, view, type, offset, end);
}

/** Linux "cooked" capture: SLL (16 bytes, protocol last) and SLL2 (20 bytes, protocol first). */
function cooked(packet: PacketSummary, view: DataView, at: number, end: number, length: number, protocolAt: number): void {
  if (end - at < length) {
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  const type = view.getUint16(protocolAt);
  if (type >= 0x0600) decodeNetwork(packet, view, type, at + length, end);
}

/** BSD loopback: a 4-byte address family, in the capturing host's byte order (NULL) or the network's (LOOP). */
function loopback(packet: PacketSummary, view: DataView, at: number, end: number, hostOrder: boolean): void {
  if (end - at < 4) {
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  let family = view.getUint32(at, hostOrder);
  // A host-order family written by a big-endian host reads, little-endian, with its low bytes empty.
  if (hostOrder && family > 0xffff) family = view.getUint32(at, false);
  if (family === AF_INET) decodeNetwork(packet, view, 0x0800, at + 4, end);
  else if (AF_INET6.has(family)) decodeNetwork(packet, view, 0x86dd, at + 4, end);
}
