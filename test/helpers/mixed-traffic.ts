import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { arp, ethernet, icmp, ipv4, ipv6, pcapHeader, TCP_FLAGS, tcp, udp } from './captures.ts';
import { seededRandom } from './random.ts';

/**
 * A seeded, deterministic mix of Ethernet traffic for the decoder's benches and
 * differential tests: TCP sessions (handshake, data, FIN or RST, a few refused),
 * UDP, ICMP and ICMPv6 echoes, ARP, IPv4 and IPv6 (some with a destination
 * options header), some frames 802.1Q-tagged and a few QinQ, over a fixed set
 * of flows. Every address is from a documentation or private range (RFC 5737,
 * RFC 1918, RFC 3849, RFC 4193, locally administered MACs); nothing is sent.
 *
 * Speed: each flow builds its two directions' headers once (with captures.ts);
 * a packet is that template copied into the caller's buffer, a few fields
 * patched (lengths, sequence numbers, flags) and payload copied from a fixed
 * block of noise, so a million packets stream to a file in a few seconds.
 */

export const MIXED_TRAFFIC_VERSION = 1;

export type FlowKind = 'tcp4' | 'udp4' | 'icmp4' | 'arp' | 'tcp6' | 'udp6' | 'icmp6';
export type ExpectedProtocol = 'TCP' | 'UDP' | 'ICMP' | 'ICMPV6' | 'ARP';

/** What the decoder (or tshark) should find in one generated packet. */
export interface ExpectedPacket {
  seconds: number;
  micros: number;
  protocol: ExpectedProtocol;
  src: string;
  dst: string;
  srcPort: number | null;
  dstPort: number | null;
  /** Frame length on the wire; the whole frame is captured. */
  wireLength: number;
  tcpFlags: number;
  vlans: number[] | null;
}

export interface MixedTrafficOptions {
  seed?: number;
  /** Distinct flows (5-tuples; an ARP pair counts as one). */
  flows?: number;
  startSeconds?: number;
}

/** A pcap record header (16 bytes) and the longest frame: what `next` may write at most. */
export const MAX_RECORD = 16 + 1522;

const KINDS: [FlowKind, number][] = [
  ['tcp4', 58],
  ['udp4', 18],
  ['icmp4', 4],
  ['arp', 2],
  ['tcp6', 10],
  ['udp6', 6],
  ['icmp6', 2],
];
const KIND_PROTOCOL: Record<FlowKind, ExpectedProtocol> = {
  tcp4: 'TCP',
  udp4: 'UDP',
  icmp4: 'ICMP',
  arp: 'ARP',
  tcp6: 'TCP',
  udp6: 'UDP',
  icmp6: 'ICMPV6',
};
const TCP_SERVICES = [80, 443, 443, 443, 22, 25, 993, 3306, 5432, 6379, 8080, 8443];
const UDP_SERVICES = [53, 53, 53, 123, 161, 514, 1194, 5060];
const ETHERNET_MIN = 60;
const { FIN, SYN, RST, PSH, ACK } = TCP_FLAGS;

interface Direction {
  template: Uint8Array;
  src: string;
  dst: string;
  srcPort: number | null;
  dstPort: number | null;
}

interface Flow {
  kind: FlowKind;
  /** Where the IP (or ARP) header and the transport header start in the templates. */
  ipAt: number;
  l4At: number;
  v6: boolean;
  vlans: number[] | null;
  /** Index 0: client to server; 1: back. */
  ways: [Direction, Direction];
  maxPayload: number;
  /** TCP: session phase and sequence numbers; others: packets sent. */
  phase: number;
  dataLeft: number;
  closer: number;
  seq: [number, number];
  counter: number;
}

const TCP_PHASE = { SYN: 0, SYN_ACK: 1, ACK: 2, DATA: 3, FIN1: 4, FIN2: 5, LAST_ACK: 6, RST: 7, REFUSED: 8 } as const;

export class MixedTraffic {
  /** The packets generated so far. */
  count = 0;
  private readonly rand: () => number;
  private readonly flows: Flow[] = [];
  private readonly noise: Buffer;
  private seconds: number;
  private micros = 0;
  /** The last packet, for `expected()`. */
  private lastFlow: Flow | undefined;
  private lastWay = 0;
  private lastLength = 0;
  private lastFlags = 0;

  constructor({ seed = 1, flows = 3000, startSeconds = 1_700_000_000 }: MixedTrafficOptions = {}) {
    this.rand = seededRandom(seed);
    this.seconds = startSeconds;
    this.noise = Buffer.alloc(1 << 16);
    for (let i = 0; i < this.noise.length; i++) this.noise[i] = (this.rand() * 256) | 0;
    const used = new Set<string>();
    for (let i = 0; i < flows; i++) this.flows.push(this.makeFlow(i, used));
  }

  /** The pcap file header for what `next` writes (Ethernet, microseconds). */
  header(): Uint8Array {
    return pcapHeader({ snapLength: 65535 });
  }

  /** Writes the next packet's pcap record (header and frame) into `out` at `at`, which must have `MAX_RECORD` bytes free; returns where it ends. */
  next(out: Buffer, at: number): number {
    const rand = this.rand;
    const flow = this.flows[(rand() * this.flows.length) | 0] as Flow;
    // Mostly back to back, now and then a pause: about 25 µs a packet on average.
    this.micros += rand() < 0.98 ? (rand() * 30) | 0 : (rand() * 600) | 0;
    if (this.micros >= 1_000_000) {
      this.seconds += (this.micros / 1_000_000) | 0;
      this.micros %= 1_000_000;
    }
    const frameAt = at + 16;
    let way: number;
    let payload: number;
    let flags = 0;
    switch (flow.kind) {
      case 'tcp4':
      case 'tcp6': {
        [way, flags, payload] = this.tcpStep(flow);
        break;
      }
      case 'udp4':
      case 'udp6':
        way = rand() < 0.5 ? 0 : 1;
        payload = flow.maxPayload <= 200 ? 20 + ((rand() * 180) | 0) : (rand() * flow.maxPayload) | 0;
        break;
      case 'icmp4':
      case 'icmp6':
        way = flow.counter & 1;
        payload = flow.maxPayload;
        break;
      default:
        way = flow.counter & 1;
        payload = 0;
    }
    const template = flow.ways[way as 0 | 1].template;
    out.set(template, frameAt);
    const headers = template.length;
    if (payload > 0) {
      const from = (rand() * (this.noise.length - payload)) | 0;
      this.noise.copy(out, frameAt + headers, from, from + payload);
    }
    let length = headers + payload;
    if (length < ETHERNET_MIN) {
      out.fill(0, frameAt + length, frameAt + ETHERNET_MIN);
      length = ETHERNET_MIN;
    }
    const ip = frameAt + flow.ipAt;
    const l4 = frameAt + flow.l4At;
    const ipLength = headers + payload - flow.ipAt;
    if (flow.kind !== 'arp') {
      if (flow.v6) out.writeUInt16BE(ipLength - 40, ip + 4);
      else {
        out.writeUInt16BE(ipLength, ip + 2);
        out.writeUInt16BE(this.count & 0xffff, ip + 4);
      }
    }
    switch (flow.kind) {
      case 'tcp4':
      case 'tcp6': {
        const back = 1 - way;
        out.writeUInt32BE(flow.seq[way] as number, l4 + 4);
        out.writeUInt32BE(flags & ACK ? (flow.seq[back] as number) : 0, l4 + 8);
        out[l4 + 13] = flags;
        flow.seq[way] = ((flow.seq[way] as number) + payload + (flags & (SYN | FIN) ? 1 : 0)) >>> 0;
        break;
      }
      case 'udp4':
      case 'udp6':
        out.writeUInt16BE(8 + payload, l4 + 4);
        break;
      case 'icmp4':
      case 'icmp6':
        out.writeUInt16BE((flow.counter >> 1) & 0xffff, l4 + 6);
        break;
    }
    flow.counter++;
    out.writeUInt32LE(this.seconds, at);
    out.writeUInt32LE(this.micros, at + 4);
    out.writeUInt32LE(length, at + 8);
    out.writeUInt32LE(length, at + 12);
    this.count++;
    this.lastFlow = flow;
    this.lastWay = way;
    this.lastLength = length;
    this.lastFlags = flags;
    return frameAt + length;
  }

  /** What the packet `next` wrote last should decode to. */
  expected(): ExpectedPacket {
    const flow = this.lastFlow;
    if (!flow) throw new Error('no packet yet');
    const way = flow.ways[this.lastWay as 0 | 1];
    return {
      seconds: this.seconds,
      micros: this.micros,
      protocol: KIND_PROTOCOL[flow.kind],
      src: way.src,
      dst: way.dst,
      srcPort: way.srcPort,
      dstPort: way.dstPort,
      wireLength: this.lastLength,
      tcpFlags: this.lastFlags,
      vlans: flow.vlans,
    };
  }

  /** The protocol of the packet `next` wrote last, without building its strings. */
  lastProtocol(): ExpectedProtocol {
    if (!this.lastFlow) throw new Error('no packet yet');
    return KIND_PROTOCOL[this.lastFlow.kind];
  }

  /** One TCP step of a flow's session: which way, which flags, how much payload; sessions start again on the same 5-tuple. */
  private tcpStep(flow: Flow): [number, number, number] {
    const rand = this.rand;
    switch (flow.phase) {
      case TCP_PHASE.SYN:
        flow.seq = [(rand() * 0x100000000) >>> 0, (rand() * 0x100000000) >>> 0];
        flow.dataLeft = 2 + ((rand() * 40) | 0);
        flow.phase = rand() < 0.04 ? TCP_PHASE.REFUSED : TCP_PHASE.SYN_ACK;
        return [0, SYN, 0];
      case TCP_PHASE.REFUSED:
        flow.phase = TCP_PHASE.SYN;
        return [1, RST | ACK, 0];
      case TCP_PHASE.SYN_ACK:
        flow.phase = TCP_PHASE.ACK;
        return [1, SYN | ACK, 0];
      case TCP_PHASE.ACK:
        flow.phase = TCP_PHASE.DATA;
        return [0, ACK, 0];
      case TCP_PHASE.DATA: {
        if (--flow.dataLeft <= 0) {
          flow.phase = rand() < 0.85 ? TCP_PHASE.FIN1 : TCP_PHASE.RST;
          flow.closer = rand() < 0.6 ? 0 : 1;
        }
        // Downloads mostly: the server sends full segments, the client small requests and acks.
        const way = rand() < 0.65 ? 1 : 0;
        const size = rand();
        const payload =
          way === 1
            ? size < 0.7
              ? flow.maxPayload
              : (size * flow.maxPayload) | 0
            : size < 0.5
              ? 0
              : size < 0.9
                ? (rand() * 400) | 0
                : (rand() * flow.maxPayload) | 0;
        return [way, payload ? PSH | ACK : ACK, payload];
      }
      case TCP_PHASE.FIN1:
        flow.phase = TCP_PHASE.FIN2;
        return [flow.closer, FIN | ACK, 0];
      case TCP_PHASE.FIN2:
        flow.phase = TCP_PHASE.LAST_ACK;
        return [1 - flow.closer, FIN | ACK, 0];
      case TCP_PHASE.LAST_ACK:
        flow.phase = TCP_PHASE.SYN;
        return [flow.closer, ACK, 0];
      default:
        flow.phase = TCP_PHASE.SYN;
        return [rand() < 0.5 ? 0 : 1, RST | ACK, 0];
    }
  }

  private pick<T>(items: readonly T[]): T {
    return items[(this.rand() * items.length) | 0] as T;
  }

  private makeFlow(index: number, used: Set<string>): Flow {
    const rand = this.rand;
    let roll = rand() * 100;
    let kind: FlowKind = 'tcp4';
    for (const [name, weight] of KINDS) {
      if (roll < weight) {
        kind = name;
        break;
      }
      roll -= weight;
    }
    const tag = rand();
    const vlans = tag < 0.02 ? [100 + ((rand() * 50) | 0), 10 + ((rand() * 90) | 0)] : tag < 0.17 ? [10 + ((rand() * 4000) | 0)] : null;
    const clientMac = `02:00:5e:${hex(index >> 8)}:${hex(index)}:01`;
    const serverMac = `02:00:5e:${hex(index >> 8)}:${hex(index)}:02`;
    const v6 = kind.endsWith('6');
    let client: string;
    let server: string;
    let clientPort: number | null = null;
    let serverPort: number | null = null;
    let key: string;
    do {
      if (v6) {
        client = `fd00:5ca0:${hex16(rand() * 0x10000)}::${hex16(1 + rand() * 0xfffe)}`;
        server = `2001:db8:${hex16(rand() * 0x10000)}:${hex16(rand() * 0x10000)}::${hex16(1 + rand() * 0xfffe)}`;
      } else {
        const lan = rand();
        client =
          lan < 0.5
            ? `10.${(rand() * 256) | 0}.${(rand() * 256) | 0}.${1 + ((rand() * 254) | 0)}`
            : lan < 0.8
              ? `192.168.${(rand() * 256) | 0}.${1 + ((rand() * 254) | 0)}`
              : `172.${16 + ((rand() * 16) | 0)}.${(rand() * 256) | 0}.${1 + ((rand() * 254) | 0)}`;
        const nets = ['192.0.2', '198.51.100', '203.0.113'];
        server =
          kind === 'arp'
            ? `${client.slice(0, client.lastIndexOf('.'))}.${1 + ((rand() * 254) | 0)}`
            : `${this.pick(nets)}.${1 + ((rand() * 254) | 0)}`;
      }
      if (kind.startsWith('tcp') || kind.startsWith('udp')) {
        clientPort = 32768 + ((rand() * 28232) | 0);
        serverPort = this.pick(kind.startsWith('tcp') ? TCP_SERVICES : UDP_SERVICES);
      }
      key = `${kind} ${client} ${clientPort} ${server} ${serverPort}`;
    } while (used.has(key) || client === server);
    used.add(key);

    const ip = (src: string, dst: string, protocol: number, payload: Uint8Array, extensions: boolean) =>
      v6
        ? ipv6({ src, dst, next: protocol, payload, extensions: extensions ? [{ type: 60 }] : [] })
        : ipv4({ src, dst, protocol, payload });
    const withOptions = v6 && rand() < 0.1;
    const ipHeader = v6 ? 40 + (withOptions ? 8 : 0) : 20;
    const ethernetHeader = 14 + (vlans?.length ?? 0) * 4;
    const frame = (srcMac: string, dstMac: string, type: number, payload: Uint8Array) =>
      ethernet({ src: srcMac, dst: dstMac, vlans: vlans ?? [], qinq: vlans?.length === 2, type, payload });
    const etherType = v6 ? 0x86dd : 0x0800;
    const templates: [Uint8Array, Uint8Array] = [new Uint8Array(0), new Uint8Array(0)];
    const ends: [string, string][] = [
      [client, server],
      [server, client],
    ];
    const macs: [string, string][] = [
      [clientMac, serverMac],
      [serverMac, clientMac],
    ];
    let maxPayload = 0;
    ends.forEach(([src, dst], way) => {
      const [srcMac, dstMac] = macs[way] as [string, string];
      let upper: Uint8Array;
      let protocol: number;
      if (kind === 'arp') {
        const request = way === 0;
        const body = arp({
          operation: request ? 1 : 2,
          senderMac: srcMac,
          senderIp: src,
          targetMac: request ? '00:00:00:00:00:00' : dstMac,
          targetIp: dst,
        });
        templates[way] = frame(srcMac, request ? 'ff:ff:ff:ff:ff:ff' : dstMac, 0x0806, body);
        return;
      }
      if (kind.startsWith('tcp')) {
        protocol = 6;
        upper = tcp({
          srcPort: way ? (serverPort as number) : (clientPort as number),
          dstPort: way ? (clientPort as number) : (serverPort as number),
          flags: 0,
        });
      } else if (kind.startsWith('udp')) {
        protocol = 17;
        upper = udp(way ? (serverPort as number) : (clientPort as number), way ? (clientPort as number) : (serverPort as number));
      } else {
        protocol = v6 ? 58 : 1;
        const type = v6 ? (way ? 129 : 128) : way ? 0 : 8;
        upper = icmp(type, 0, (index * 7) & 0xffff, 0);
      }
      templates[way] = frame(srcMac, dstMac, etherType, ip(src, dst, protocol, upper, withOptions));
    });
    const headers = templates[0].length;
    if (kind.startsWith('tcp')) maxPayload = 1514 - headers + (vlans ? 4 * vlans.length : 0);
    else if (kind.startsWith('udp')) maxPayload = serverPort === 53 || serverPort === 123 || serverPort === 161 ? 200 : 1400 - headers;
    else if (kind.startsWith('icmp')) maxPayload = rand() < 0.8 ? 56 : 100 + ((rand() * 1300) | 0);
    const [client0, server0] = [client, server];
    return {
      kind,
      ipAt: ethernetHeader,
      l4At: ethernetHeader + ipHeader,
      v6,
      vlans,
      ways: [
        { template: templates[0], src: client0, dst: server0, srcPort: clientPort, dstPort: serverPort },
        { template: templates[1], src: server0, dst: client0, srcPort: serverPort, dstPort: clientPort },
      ],
      maxPayload: Math.min(maxPayload, 1522 - headers),
      phase: 0,
      dataLeft: 0,
      closer: 0,
      seq: [0, 0],
      counter: 0,
    };
  }
}

const hex = (byte: number) => (byte & 0xff).toString(16).padStart(2, '0');
const hex16 = (value: number) => (value & 0xffff).toString(16);

/** A whole capture in memory, and what each of its packets should decode to: for tests. */
export function mixedPcap(packets: number, options: MixedTrafficOptions = {}): { bytes: Buffer; expected: ExpectedPacket[] } {
  const traffic = new MixedTraffic(options);
  const header = traffic.header();
  const out = Buffer.alloc(header.length + packets * MAX_RECORD);
  out.set(header, 0);
  let at = header.length;
  const expected: ExpectedPacket[] = [];
  for (let i = 0; i < packets; i++) {
    at = traffic.next(out, at);
    expected.push(traffic.expected());
  }
  return { bytes: out.subarray(0, at), expected };
}

/** Streams `packets` packets to a pcap file through one reusable buffer; resolves to the file's size and the packets per protocol. */
export async function writeMixedPcap(
  path: string,
  packets: number,
  options: MixedTrafficOptions = {},
): Promise<{ bytes: number; byProtocol: Record<ExpectedProtocol, number> }> {
  const traffic = new MixedTraffic(options);
  const byProtocol: Record<ExpectedProtocol, number> = { TCP: 0, UDP: 0, ICMP: 0, ICMPV6: 0, ARP: 0 };
  const stream = createWriteStream(path);
  const failed = once(stream, 'error').then(([error]) => {
    throw error;
  });
  const chunk = 4 << 20;
  let bytes = 0;
  const write = async (data: Uint8Array) => {
    bytes += data.length;
    if (!stream.write(data)) await Promise.race([once(stream, 'drain'), failed]);
  };
  await write(traffic.header());
  // Each chunk is a fresh buffer: the stream holds what it was given until written.
  let out = Buffer.allocUnsafe(chunk);
  let at = 0;
  for (let i = 0; i < packets; i++) {
    if (at + MAX_RECORD > chunk) {
      await write(out.subarray(0, at));
      out = Buffer.allocUnsafe(chunk);
      at = 0;
    }
    at = traffic.next(out, at);
    byProtocol[traffic.lastProtocol()]++;
  }
  if (at) await write(out.subarray(0, at));
  stream.end();
  await Promise.race([once(stream, 'finish'), failed]);
  return { bytes, byProtocol };
}
