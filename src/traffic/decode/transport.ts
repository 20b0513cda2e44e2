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

function tcp(packet: PacketSummary, view: DataView, at: number, end: number, length: number): void {
  if (end - at < 20) {
    ports(packet, view, at, end);
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  ports(packet, view, at, end);
  packet.transportAt = at;
  packet.transportLength = end - at;
  const headerLength = (view.getUint8(at + 12) >> 4) * 4;
  packet.tcpFlags = view.getUint8(at + 13);
  if (headerLength < 20 || headerLength > length) {
    packet.problems |= Problem.MALFORMED;
    packet.payloadLength = 0;
  } else packet.payloadLength = length - headerLength;
}

function udp(packet: PacketSummary, view: DataView, at: number, end: number, length: number): void {
  if (end - at < 8) {
    ports(packet, view, at, end);
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  ports(packet, view, at, end);
  packet.transportAt = at;
  packet.transportLength = end - at;
  const udpLength = view.getUint16(at + 4);
  if (udpLength < 8 || udpLength > length) {
    // 0 is a jumbogram's UDP length; the IP layer's then stands.
    if (udpLength !== 0) packet.problems |= Problem.MALFORMED;
    packet.payloadLength = length >= 8 ? length - 8 : 0;
  } else packet.payloadLength = udpLength - 8;
}

/** ICMP and ICMPv6 share a shape: type, code, checksum, and for an echo an identifier and a sequence number. */
function icmp(packet: PacketSummary, view: DataView, at: number, end: number, echoReply: number, echoRequest: number): void {
  if (end - at < 4) {
    packet.problems |= Problem.TRUNCATED;
    return;
  }
  packet.transportAt = at;
  packet.transportLength = end - at;
  const type = view.getUint8(at);
  // An echo's identifier and sequence number follow the checksum.
  if ((type === echoReply || type === echoRequest) && end - at < 8) packet.problems |= Problem.TRUNCATED;
}
