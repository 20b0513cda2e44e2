import { type PacketSummary, Problem } from './summary.ts';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;

/**
 * The transport layer at `at`: `end` is where its captured bytes end, `length`
 * how long the IP header says it is (the capture may hold less).
 */
export function decodeTransport(packet: PacketSummary, view: DataView, ipProtocol: number, at: number, end: number, length: number): void {
  if (ipProtocol === TCP) tcp(packet, view, at, end, length);
  else if (ipProtocol === UDP) udp(packet, view, at, end, length);
  else if (ipProtocol === ICMP) icmp(packet, view, at, end, 0, 8);
  else if (ipProtocol === ICMPV6) icmp(packet, view, at, end, 129, 128);
}

/** Source and destination ports, when at least those four bytes were captured. */
function ports(packet: PacketSummary, view: DataView, at: number, end: number): boolean {
  if (end - at < 4) return false;
  packet.srcPort = view.getUint16(at);
  packet.dstPort = view.getUint16(at + 2);
  return true;
}

/** Marks the transport header at `at` when its `length` bytes were captured; truncated, false, when not. */
function transportHeader(packet: PacketSummary, at: number, end: number, length: number): boolean {
  if (end - at < length) {
    packet.problems |= Problem.TRUNCATED;
    return false;
  }
  packet.transportAt = at;
  packet.transportLength = end - at;
  return true;
}

function tcp(packet: PacketSummary, view: DataView, at: number, end: number, length: number): void {
  // Ports are read as far as the capture goes; the rest needs the whole header.
  ports(packet, view, at, end);
  if (!transportHeader(packet, at, end, 20)) return;
  const headerLength = (view.getUint8(at + 12) >> 4) * 4;
  packet.tcpFlags = view.getUint8(at + 13);
  if (headerLength < 20 || headerLength > length) {
    packet.problems |= Problem.MALFORMED;
    packet.payloadLength = 0;
  } else packet.payloadLength = length - headerLength;
}

function udp(packet: PacketSummary, view: DataView, at: number, end: number, length: number): void {
  // Ports are read as far as the capture goes; the rest needs the whole header.
  ports(packet, view, at, end);
  if (!transportHeader(packet, at, end, 8)) return;
  const udpLength = view.getUint16(at + 4);
  if (udpLength < 8 || udpLength > length) {
    // 0 is a jumbogram's UDP length; the IP layer's then stands.
    if (udpLength !== 0) packet.problems |= Problem.MALFORMED;
    packet.payloadLength = length >= 8 ? length - 8 : 0;
  } else packet.payloadLength = udpLength - 8;
}

/** ICMP and ICMPv6 share a shape: type, code, checksum, and for an echo an identifier and a sequence number. */
function icmp(packet: PacketSummary, view: DataView, at: number, end: number, echoReply: number, echoRequest: number): void {
  if (!transportHeader(packet, at, end, 4)) return;
  const type = view.getUint8(at);
  // An echo's identifier and sequence number follow the checksum.
  if ((type === echoReply || type === echoRequest) && end - at < 8) packet.problems |= Problem.TRUNCATED;
}
