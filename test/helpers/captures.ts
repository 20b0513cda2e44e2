/**
 * Capture bytes built by hand, for the decoder's tests and benches: frames
 * layer by layer (each builder takes the layer above as `payload`), and pcap or
 * pcapng files around them. Checksums are left zero: the decoder reads none.
 */

type Bytes = Uint8Array;

export function concat(...parts: Bytes[]): Bytes {
  return Buffer.concat(parts);
}

function bytes(length: number): { data: Buffer; view: DataView } {
  const data = Buffer.alloc(length);
  return { data, view: new DataView(data.buffer, data.byteOffset, length) };
}

export function ipv4Bytes(address: string): Bytes {
  return Uint8Array.from(address.split('.').map(Number));
}

export function ipv6Bytes(address: string): Bytes {
  const [head = '', tail] = address.split('::');
  const groups = (part: string) => (part ? part.split(':').map((group) => Number.parseInt(group, 16)) : []);
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
  const { data, view } = bytes(16);
  for (const [index, group] of all.entries()) view.setUint16(index * 2, group);
  return data;
}

export function macBytes(mac: string): Bytes {
  return Uint8Array.from(mac.split(':').map((pair) => Number.parseInt(pair, 16)));
}

export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

export interface EthernetOptions {
  src?: string;
  dst?: string;
  /** VLAN ids, outer first; the outer one is tagged 802.1ad (0x88a8) when `qinq`. */
  vlans?: number[];
  qinq?: boolean;
  type: number;
  payload: Bytes;
}

export function ethernet({
  src = '02:00:00:00:00:01',
  dst = '02:00:00:00:00:02',
  vlans = [],
  qinq = false,
  type,
  payload,
}: EthernetOptions): Bytes {
  const { data, view } = bytes(14 + vlans.length * 4);
  data.set(macBytes(dst), 0);
  data.set(macBytes(src), 6);
  let at = 12;
  vlans.forEach((id, index) => {
    view.setUint16(at, qinq && index === 0 ? 0x88a8 : 0x8100);
    view.setUint16(at + 2, id);
    at += 4;
  });
  view.setUint16(at, type);
  return concat(data, payload);
}

export function sll(type: number, payload: Bytes): Bytes {
  const { data, view } = bytes(16);
  view.setUint16(0, 0); // to us
  view.setUint16(2, 772); // ARPHRD_LOOPBACK
  view.setUint16(4, 6);
  view.setUint16(14, type);
  return concat(data, payload);
}

export function sll2(type: number, payload: Bytes): Bytes {
  const { data, view } = bytes(20);
  view.setUint16(0, type);
  view.setUint32(4, 1); // interface index
  view.setUint16(8, 1); // ARPHRD_ETHER
  data[10] = 4; // outgoing
  data[11] = 6;
  return concat(data, payload);
}

/** BSD loopback: the address family in the capturing host's byte order. */
export function nullLink(family: number, payload: Bytes, littleEndian = true): Bytes {
  const { data, view } = bytes(4);
  view.setUint32(0, family, littleEndian);
  return concat(data, payload);
}

export interface Ipv4Options {
  src: string;
  dst: string;
  protocol: number;
  payload: Bytes;
  ttl?: number;
  id?: number;
  /** Fragment offset in 8-byte units, and the more-fragments flag. */
  fragmentOffset?: number;
  moreFragments?: boolean;
  /** Option bytes (padded to 4 by the caller). */
  options?: Bytes;
  /** The total length to write, when a test wants it to lie. */
  totalLength?: number;
}

export function ipv4({
  src,
  dst,
  protocol,
  payload,
  ttl = 64,
  id = 1,
  fragmentOffset = 0,
  moreFragments = false,
  options = new Uint8Array(0),
  totalLength,
}: Ipv4Options): Bytes {
  const headerLength = 20 + options.length;
  const { data, view } = bytes(headerLength);
  data[0] = 0x40 | (headerLength / 4);
  view.setUint16(2, totalLength ?? headerLength + payload.length);
  view.setUint16(4, id);
  view.setUint16(6, (moreFragments ? 0x2000 : 0) | fragmentOffset);
  data[8] = ttl;
  data[9] = protocol;
  data.set(ipv4Bytes(src), 12);
  data.set(ipv4Bytes(dst), 16);
  data.set(options, 20);
  return concat(data, payload);
}

/** An IPv6 extension header: `next` is filled in by `ipv6`; `body` pads it to its unit (8 bytes, AH 4). */
export interface Ipv6Extension {
  type: number;
  body?: Bytes;
}

export interface Ipv6Options {
  src: string;
  dst: string;
  next: number;
  payload: Bytes;
  extensions?: Ipv6Extension[];
  hopLimit?: number;
}

export function ipv6({ src, dst, next, payload, extensions = [], hopLimit = 64 }: Ipv6Options): Bytes {
  const headers: Bytes[] = extensions.map((extension, index) => {
    const following = extensions[index + 1]?.type ?? next;
    if (extension.type === 44) {
      const { data } = bytes(8);
      data[0] = following;
      if (extension.body) data.set(extension.body.subarray(0, 6), 2);
      return data;
    }
    const unit = extension.type === 51 ? 4 : 8;
    const body = extension.body ?? new Uint8Array(6);
    const length = Math.ceil((body.length + 2) / unit) * unit;
    const { data } = bytes(length);
    data[0] = following;
    data[1] = extension.type === 51 ? length / 4 - 2 : length / 8 - 1;
    data.set(body, 2);
    return data;
  });
  const rest = concat(...headers, payload);
  const { data, view } = bytes(40);
  view.setUint32(0, 0x60000000);
  view.setUint16(4, rest.length);
  data[6] = extensions[0]?.type ?? next;
  data[7] = hopLimit;
  data.set(ipv6Bytes(src), 8);
  data.set(ipv6Bytes(dst), 24);
  return concat(data, rest);
}

/** The body of an IPv6 fragment header: offset in 8-byte units, more-fragments flag, identification. */
export function fragmentBody(offset: number, more: boolean, id = 1): Bytes {
  const { data, view } = bytes(6);
  view.setUint16(0, (offset << 3) | (more ? 1 : 0));
  view.setUint32(2, id);
  return data;
}

export interface TcpOptions {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  flags: number;
  window?: number;
  payload?: Bytes;
  /** Option bytes (padded to 4 by the caller). */
  options?: Bytes;
}

export function tcp({
  srcPort,
  dstPort,
  seq = 0,
  ack = 0,
  flags,
  window = 65535,
  payload = new Uint8Array(0),
  options = new Uint8Array(0),
}: TcpOptions): Bytes {
  const headerLength = 20 + options.length;
  const { data, view } = bytes(headerLength);
  view.setUint16(0, srcPort);
  view.setUint16(2, dstPort);
  view.setUint32(4, seq);
  view.setUint32(8, ack);
  data[12] = (headerLength / 4) << 4;
  data[13] = flags;
  view.setUint16(14, window);
  data.set(options, 20);
  return concat(data, payload);
}

export function udp(srcPort: number, dstPort: number, payload: Bytes = new Uint8Array(0)): Bytes {
  const { data, view } = bytes(8);
  view.setUint16(0, srcPort);
  view.setUint16(2, dstPort);
  view.setUint16(4, 8 + payload.length);
  return concat(data, payload);
}

/** ICMP or ICMPv6: type, code, and for an echo its identifier and sequence number. */
export function icmp(type: number, code: number, id = 0, seq = 0, payload: Bytes = new Uint8Array(0)): Bytes {
  const { data, view } = bytes(8);
  data[0] = type;
  data[1] = code;
  view.setUint16(4, id);
  view.setUint16(6, seq);
  return concat(data, payload);
}

export interface ArpOptions {
  operation: number;
  senderMac: string;
  senderIp: string;
  targetMac?: string;
  targetIp: string;
}

export function arp({ operation, senderMac, senderIp, targetMac = '00:00:00:00:00:00', targetIp }: ArpOptions): Bytes {
  const { data, view } = bytes(28);
  view.setUint16(0, 1);
  view.setUint16(2, 0x0800);
  data[4] = 6;
  data[5] = 4;
  view.setUint16(6, operation);
  data.set(macBytes(senderMac), 8);
  data.set(ipv4Bytes(senderIp), 14);
  data.set(macBytes(targetMac), 18);
  data.set(ipv4Bytes(targetIp), 24);
  return data;
}

/** A record: its frame, its time, and (when the capture cut it) how long it was on the wire. */
export interface CaptureRecord {
  frame: Bytes;
  seconds?: number;
  /** Microseconds, or nanoseconds in a nanosecond pcap. */
  fraction?: number;
  wireLength?: number;
}

export interface PcapOptions {
  linkType?: number;
  nanoseconds?: boolean;
  bigEndian?: boolean;
  snapLength?: number;
}

export function pcapHeader({ linkType = 1, nanoseconds = false, bigEndian = false, snapLength = 262144 }: PcapOptions = {}): Bytes {
  const { data, view } = bytes(24);
  const le = !bigEndian;
  view.setUint32(0, nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, le);
  view.setUint16(4, 2, le);
  view.setUint16(6, 4, le);
  view.setUint32(16, snapLength, le);
  view.setUint32(20, linkType, le);
  return data;
}

export function pcapRecord(
  { frame, seconds = 1_700_000_000, fraction = 0, wireLength = frame.length }: CaptureRecord,
  { bigEndian = false }: PcapOptions = {},
): Bytes {
  const { data, view } = bytes(16);
  const le = !bigEndian;
  view.setUint32(0, seconds, le);
  view.setUint32(4, fraction, le);
  view.setUint32(8, frame.length, le);
  view.setUint32(12, wireLength, le);
  return concat(data, frame);
}

export function pcap(records: CaptureRecord[], options: PcapOptions = {}): Bytes {
  return concat(pcapHeader(options), ...records.map((record) => pcapRecord(record, options)));
}

/** pcapng blocks, each built whole (type, length, body, options, trailing length) in one byte order. */
export class PcapngWriter {
  private readonly parts: Bytes[] = [];
  private littleEndian = true;

  /** Starts a section in a byte order of its own; its interfaces start again at 0. */
  section(bigEndian = false): this {
    this.littleEndian = !bigEndian;
    const { data, view } = bytes(16);
    view.setUint32(0, 0x1a2b3c4d, this.littleEndian);
    view.setUint16(4, 1, this.littleEndian);
    view.setUint16(6, 0, this.littleEndian);
    view.setBigInt64(8, -1n, this.littleEndian);
    return this.block(0x0a0d0d0a, data);
  }

  /** An interface description: `tsresol` is the raw if_tsresol byte (6 = microseconds, 9 = nanoseconds, 0x80|n = 2^-n). */
  iface({
    linkType = 1,
    snapLength = 262144,
    name,
    tsresol,
    tsoffset,
  }: {
    linkType?: number;
    snapLength?: number;
    name?: string;
    tsresol?: number;
    tsoffset?: number;
  } = {}): this {
    const { data, view } = bytes(8);
    view.setUint16(0, linkType, this.littleEndian);
    view.setUint32(4, snapLength, this.littleEndian);
    const options: Bytes[] = [];
    if (name !== undefined) options.push(this.option(2, Buffer.from(name)));
    if (tsresol !== undefined) options.push(this.option(9, Uint8Array.of(tsresol)));
    if (tsoffset !== undefined) {
      const offset = bytes(8);
      offset.view.setBigInt64(0, BigInt(tsoffset), this.littleEndian);
      options.push(this.option(14, offset.data));
    }
    if (options.length) options.push(this.option(0, new Uint8Array(0)));
    return this.block(1, concat(data, ...options));
  }

  /** An enhanced packet block; `time` is in the interface's units. */
  packet(iface: number, time: bigint, frame: Bytes, wireLength = frame.length): this {
    const { data, view } = bytes(20);
    view.setUint32(0, iface, this.littleEndian);
    view.setUint32(4, Number(time >> 32n), this.littleEndian);
    view.setUint32(8, Number(time & 0xffffffffn), this.littleEndian);
    view.setUint32(12, frame.length, this.littleEndian);
    view.setUint32(16, wireLength, this.littleEndian);
    return this.block(6, concat(data, this.padded(frame)));
  }

  simplePacket(frame: Bytes, wireLength = frame.length): this {
    const { data, view } = bytes(4);
    view.setUint32(0, wireLength, this.littleEndian);
    return this.block(3, concat(data, this.padded(frame)));
  }

  /** The obsolete packet block: a 16-bit interface id and a drops count before the timestamp. */
  obsoletePacket(iface: number, time: bigint, frame: Bytes): this {
    const { data, view } = bytes(20);
    view.setUint16(0, iface, this.littleEndian);
    view.setUint32(4, Number(time >> 32n), this.littleEndian);
    view.setUint32(8, Number(time & 0xffffffffn), this.littleEndian);
    view.setUint32(12, frame.length, this.littleEndian);
    view.setUint32(16, frame.length, this.littleEndian);
    return this.block(2, concat(data, this.padded(frame)));
  }

  /** Any other block (name resolution 4, statistics 5, decryption secrets 10, or an unknown type), body as given. */
  other(type: number, body: Bytes = new Uint8Array(8)): this {
    return this.block(type, this.padded(body));
  }

  bytes(): Bytes {
    return concat(...this.parts);
  }

  private option(code: number, value: Bytes): Bytes {
    const { data, view } = bytes(4);
    view.setUint16(0, code, this.littleEndian);
    view.setUint16(2, value.length, this.littleEndian);
    return concat(data, this.padded(value));
  }

  private padded(value: Bytes): Bytes {
    const padding = (4 - (value.length % 4)) % 4;
    return padding ? concat(value, new Uint8Array(padding)) : value;
  }

  private block(type: number, body: Bytes): this {
    const length = 12 + body.length;
    const head = bytes(8);
    head.view.setUint32(0, type, this.littleEndian);
    head.view.setUint32(4, length, this.littleEndian);
    const tail = bytes(4);
    tail.view.setUint32(0, length, this.littleEndian);
    this.parts.push(head.data, body, tail.data);
    return this;
  }
}
