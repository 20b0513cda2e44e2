import { type PacketSummary, Problem, Protocol } from './summary.ts';
import { decodeTransport } from './transport.ts';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_ARP = 0x0806;

/** IPv6 headers walked to reach the upper layer: hop-by-hop, routing, destination options (length in 8-byte units), AH (4-byte units). */
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AUTHENTICATION = 51;
const DESTINATION_OPTIONS = 60;

export function protocolOf(ipProtocol: number): Protocol {
  switch (ipProtocol) {
    case 6:
      return Protocol.TCP;
    case 17:
      return Protocol.UDP;
    case 1:
      return Protocol.ICMP;
    case 58:
      return Protocol.ICMPV6;
    case 47:
      return Protocol.GRE;
    default:
      return Protocol.OTHER;
  }
}

/** The network layer named by an EtherType: IPv4, IPv6 or ARP; anything else stays OTHER with its EtherType. */
export function decodeNetwork(packet: PacketSummary, view: DataView, etherType: number, at: number, end: number): void {
  packet.etherType = etherType;
  if (etherType === ETHERTYPE_IPV4) ipv4(packet, view, at, end);
  else if (etherType === ETHERTYPE_IPV6) ipv6(packet, view, at, end);
  else if (etherType === ETHERTYPE_ARP) arp(packet, view, at, end);
}

/** Raw IP: the version nibble says which. */
export function decodeNetworkByVersion(packet: PacketSummary, view: DataView, at: number, end: number): void {
  if (end - at < 1) {
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  const version = view.getUint8(at) >> 4;
  if (version === 4) decodeNetwork(packet, view, ETHERTYPE_IPV4, at, end);
  else if (version === 6) decodeNetwork(packet, view, ETHERTYPE_IPV6, at, end);
  else packet.problems |= Problem.MALFORMED;
}

function ipv4(packet: PacketSummary, view: DataView, at: number, end: number): void {
  if (end - at < 20) {
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  const versionAndLength = view.getUint8(at);
  const headerLength = (versionAndLength & 0x0f) * 4;
  if (versionAndLength >> 4 !== 4 || headerLength < 20) {
    packet.problems |= Problem.MALFORMED;
    return;
  }
  const ipProtocol = view.getUint8(at + 9);
  packet.netAt = at;
  packet.ipVersion = 4;
  packet.ipProtocol = ipProtocol;
  packet.protocol = protocolOf(ipProtocol);
  const fragment = view.getUint16(at + 6);
  const fragmentOffset = fragment & 0x1fff;
  if (fragmentOffset !== 0 || (fragment & 0x2000) !== 0) packet.fragment = true;
  // A total length of 0 is a segmentation offload's oversized packet: the captured bytes are all there is.
  let totalLength = view.getUint16(at + 2);
  if (totalLength === 0) totalLength = end - at;
  else if (totalLength < headerLength) {
    packet.problems |= Problem.MALFORMED;
    totalLength = end - at;
  }
  if (end - at < headerLength) {
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  if (fragmentOffset !== 0) return;
  // The link layer may pad a short packet: the IP length, not the capture, says where it ends.
  const declaredEnd = at + totalLength;
  decodeTransport(packet, view, ipProtocol, at + headerLength, Math.min(declaredEnd, end), totalLength - headerLength);
}

function ipv6(packet: PacketSummary, view: DataView, at: number, end: number): void {
  if (end - at < 40) {
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  if (view.getUint8(at) >> 4 !== 6) {
    packet.problems |= Problem.MALFORMED;
    return;
  }
  packet.netAt = at;
  packet.ipVersion = 6;
  const payloadLength = view.getUint16(at + 4);
  // A payload length of 0 is a jumbogram (or an offloaded packet): the captured bytes say where it ends.
  const declaredEnd = payloadLength === 0 ? end : at + 40 + payloadLength;
  const capturedEnd = Math.min(declaredEnd, end);
  let next = view.getUint8(at + 6);
  let offset = at + 40;
  for (;;) {
    if (next === HOP_BY_HOP || next === ROUTING || next === DESTINATION_OPTIONS || next === AUTHENTICATION) {
      if (capturedEnd - offset < 2) {
        cutShort(packet, next);
        return;
      }
      const length = next === AUTHENTICATION ? (view.getUint8(offset + 1) + 2) * 4 : (view.getUint8(offset + 1) + 1) * 8;
      next = view.getUint8(offset);
      offset += length;
    } else if (next === FRAGMENT) {
      if (capturedEnd - offset < 8) {
        cutShort(packet, next);
        return;
      }
      const fragment = view.getUint16(offset + 2);
      next = view.getUint8(offset);
      offset += 8;
      if (fragment !== 0) packet.fragment = true;
      if (fragment >> 3 !== 0) {
        packet.ipProtocol = next;
        packet.protocol = protocolOf(next);
        return;
      }
    } else break;
  }
  packet.ipProtocol = next;
  packet.protocol = protocolOf(next);
  if (offset > capturedEnd) {
    packet.problems |= offset > declaredEnd ? Problem.MALFORMED : Problem.TRUNCATED;
    return;
  }
  decodeTransport(packet, view, next, offset, capturedEnd, declaredEnd - offset);
}

/** An IPv6 extension header the capture cut: the upper layer is unknown. */
function cutShort(packet: PacketSummary, header: number): void {
  packet.ipProtocol = header;
  packet.problems |= Problem.TRUNCATED;
}

function arp(packet: PacketSummary, view: DataView, at: number, end: number): void {
  packet.protocol = Protocol.ARP;
  if (end - at < 8) {
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  packet.netAt = at;
  const addresses = 2 * (view.getUint8(at + 4) + view.getUint8(at + 5));
  if (end - at < 8 + addresses) packet.problems |= Problem.TRUNCATED;
}
