import { ipv4At, ipv6At, macAt } from './address.ts';
import type { CaptureInterface } from './capture-reader.ts';
import { linkTypeName } from './link.ts';

/** The outermost protocol the decoder knows, as the API names it. */
export const Protocol = {
  TCP: 'TCP',
  UDP: 'UDP',
  ICMP: 'ICMP',
  ICMPV6: 'ICMPV6',
  ARP: 'ARP',
  GRE: 'GRE',
  OTHER: 'OTHER',
} as const;
export type Protocol = (typeof Protocol)[keyof typeof Protocol];

/** TCP's flag bits, as they sit in byte 13 of its header. */
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;
export type TcpFlag = keyof typeof TcpFlag;
const TCP_FLAGS = Object.entries(TcpFlag) as [TcpFlag, number][];

/** What went wrong in a layer: the capture cut it short, or its header cannot be right. */
export const Problem = { TRUNCATED: 1, MALFORMED: 2 } as const;

const ICMP_NAMES: Record<number, string> = {
  0: 'echo reply',
  3: 'destination unreachable',
  5: 'redirect',
  8: 'echo request',
  11: 'time exceeded',
  12: 'parameter problem',
  13: 'timestamp request',
  14: 'timestamp reply',
};
const ICMPV6_NAMES: Record<number, string> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded',
  4: 'parameter problem',
  128: 'echo request',
  129: 'echo reply',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
};

/**
 * One packet, decoded: what the API shows for it. The decoder fills the plain
 * fields; text (addresses, `info`, flag names) is built only when asked for,
 * from the record's bytes, which the summary keeps a view of (a source must not
 * reuse a buffer it has handed over; Node's streams never do).
 */
export class PacketSummary {
  /** Seconds since the epoch, as the capture gives it; -1 when the record carries no time (a pcapng simple packet). */
  seconds: number;
  /** Nanoseconds within that second, kept at the capture's own resolution. */
  nanos: number;
  readonly interface: CaptureInterface;
  /** Bytes of the packet on the wire, and of it that the capture kept. */
  readonly wireLength: number;
  readonly capturedLength: number;
  protocol: Protocol = Protocol.OTHER;
  /** EtherType of the network layer (after any VLAN tags), when the link layer has one. */
  etherType: number | null = null;
  /** 4 or 6 when an IP header was read, else 0. */
  ipVersion: 0 | 4 | 6 = 0;
  /** IP protocol number of the upper layer (after IPv6 extension headers). */
  ipProtocol: number | null = null;
  srcPort: number | null = null;
  dstPort: number | null = null;
  /** TCP flag bits (see `TcpFlag`), 0 when not TCP. */
  tcpFlags = 0;
  /** Bytes of the transport layer's payload (TCP or UDP), by its headers, whatever the capture kept. */
  payloadLength: number | null = null;
  /** 802.1Q VLAN ids, outer first; null when the frame has no tag. */
  vlans: number[] | null = null;
  /** An IP fragment (of IPv4, or with an IPv6 fragment header); only a first fragment has its ports read. */
  fragment = false;
  /** `Problem` bits: a layer cut short by the capture, or a header that cannot be right. */
  problems = 0;
  /**
   * The record's bytes: where its link header starts, its network header (IP
   * or ARP; -1 when none was read) and its transport header (-1 when none),
   * with the bytes of that header the capture holds. The rarely read fields
   * (sequence numbers, ICMP types, ARP operations) are read from there.
   */
  readonly view: DataView;
  readonly linkAt: number;
  netAt = -1;
  transportAt = -1;
  transportLength = 0;

  constructor(
    view: DataView,
    at: number,
    capturedLength: number,
    wireLength: number,
    seconds: number,
    nanos: number,
    iface: CaptureInterface,
  ) {
    this.view = view;
    this.linkAt = at;
    this.capturedLength = capturedLength;
    this.wireLength = wireLength;
    this.seconds = seconds;
    this.nanos = nanos;
    this.interface = iface;
  }

  get seq(): number | null {
    return this.tcpHeader() ? this.view.getUint32(this.transportAt + 4) : null;
  }

  get ack(): number | null {
    return this.tcpHeader() ? this.view.getUint32(this.transportAt + 8) : null;
  }

  get window(): number | null {
    return this.tcpHeader() ? this.view.getUint16(this.transportAt + 14) : null;
  }

  get tcpHeaderLength(): number | null {
    return this.tcpHeader() ? (this.view.getUint8(this.transportAt + 12) >> 4) * 4 : null;
  }

  get icmpType(): number | null {
    return this.icmpHeader() ? this.view.getUint8(this.transportAt) : null;
  }

  get icmpCode(): number | null {
    return this.icmpHeader() ? this.view.getUint8(this.transportAt + 1) : null;
  }

  /** Identifier and sequence number of an ICMP or ICMPv6 echo. */
  get icmpId(): number | null {
    return this.echo() ? this.view.getUint16(this.transportAt + 4) : null;
  }

  get icmpSeq(): number | null {
    return this.echo() ? this.view.getUint16(this.transportAt + 6) : null;
  }

  get arpOperation(): number | null {
    return this.protocol === Protocol.ARP && this.netAt >= 0 ? this.view.getUint16(this.netAt + 6) : null;
  }

  /** Nanoseconds since the epoch, or null when the record has no time. */
  get time(): bigint | null {
    return this.seconds < 0 ? null : BigInt(this.seconds) * 1_000_000_000n + BigInt(this.nanos);
  }

  get linkType(): number {
    return this.interface.linkType;
  }

  get linkTypeName(): string {
    return linkTypeName(this.interface.linkType);
  }

  get truncated(): boolean {
    return (this.problems & Problem.TRUNCATED) !== 0;
  }

  get malformed(): boolean {
    return (this.problems & Problem.MALFORMED) !== 0;
  }

  /** Source IP address; for ARP the sender's IPv4 address. */
  get src(): string | null {
    return this.address(0);
  }

  /** Destination IP address; for ARP the target's IPv4 address. */
  get dst(): string | null {
    return this.address(1);
  }

  /**
   * The source address as a key for maps, without building text for IPv4: the
   * address as an unsigned 32-bit number (IPv4 and ARP), or its text (IPv6).
   * `addressOfKey` turns one back into text.
   */
  get srcKey(): number | string | null {
    return this.addressKey(0);
  }

  get dstKey(): number | string | null {
    return this.addressKey(1);
  }

  /** Ethernet addresses, when the link layer is Ethernet and was captured. */
  get srcMac(): string | null {
    return this.interface.linkType === 1 && this.capturedLength >= 12 ? macAt(this.view, this.linkAt + 6) : null;
  }

  get dstMac(): string | null {
    return this.interface.linkType === 1 && this.capturedLength >= 6 ? macAt(this.view, this.linkAt) : null;
  }

  get flags(): TcpFlag[] {
    return TCP_FLAGS.filter(([, bit]) => this.tcpFlags & bit).map(([name]) => name);
  }

  /** A short line for a person: `SYN seq=… win=…`, `echo request id=… seq=…`, `who-has 10.0.0.1 tell 10.0.0.2 (…)`. */
  get info(): string {
    const text = this.fragment && this.srcPort === null && this.protocol !== Protocol.OTHER ? 'fragment' : this.describe();
    const problems = [this.truncated ? 'truncated' : '', this.malformed ? 'malformed' : ''].filter(Boolean);
    return problems.length ? `${text} [${problems.join(', ')}]` : text;
  }

  toJSON() {
    return {
      time: this.time?.toString() ?? null,
      interfaceId: this.interface.id,
      interfaceName: this.interface.name,
      linkType: this.linkTypeName,
      src: this.src,
      dst: this.dst,
      srcPort: this.srcPort,
      dstPort: this.dstPort,
      protocol: this.protocol,
      ipProtocol: this.ipProtocol,
      wireLength: this.wireLength,
      capturedLength: this.capturedLength,
      tcpFlags: this.flags,
      vlans: this.vlans ?? [],
      fragment: this.fragment,
      truncated: this.truncated,
      malformed: this.malformed,
      info: this.info,
    };
  }

  private address(which: 0 | 1): string | null {
    const { view, netAt } = this;
    if (this.ipVersion === 4) return ipv4At(view, netAt + 12 + which * 4);
    if (this.ipVersion === 6) return ipv6At(view, netAt + 8 + which * 16);
    if (this.protocol === Protocol.ARP && this.arpAddresses()) {
      const hardware = view.getUint8(netAt + 4);
      return ipv4At(view, netAt + 8 + hardware + which * (hardware + 4));
    }
    return null;
  }

  private tcpHeader(): boolean {
    return this.protocol === Protocol.TCP && this.transportLength >= 20;
  }

  private icmpHeader(): boolean {
    return (this.protocol === Protocol.ICMP || this.protocol === Protocol.ICMPV6) && this.transportLength >= 4;
  }

  private echo(): boolean {
    if (!this.icmpHeader() || this.transportLength < 8) return false;
    const type = this.view.getUint8(this.transportAt);
    return this.protocol === Protocol.ICMP ? type === 0 || type === 8 : type === 128 || type === 129;
  }

  private addressKey(which: 0 | 1): number | string | null {
    const { view, netAt } = this;
    if (this.ipVersion === 4) return view.getUint32(netAt + 12 + which * 4);
    if (this.ipVersion === 6) return ipv6At(view, netAt + 8 + which * 16);
    if (this.protocol === Protocol.ARP && this.arpAddresses()) {
      const hardware = view.getUint8(netAt + 4);
      return view.getUint32(netAt + 8 + hardware + which * (hardware + 4));
    }
    return null;
  }

  /** An ARP packet for IPv4 whose addresses were all captured. */
  private arpAddresses(): boolean {
    const { view, netAt } = this;
    return (
      this.arpOperation !== null &&
      view.getUint16(netAt + 2) === 0x0800 &&
      view.getUint8(netAt + 5) === 4 &&
      (this.problems & Problem.TRUNCATED) === 0
    );
  }

  private arpMac(which: 0 | 1): string {
    const hardware = this.view.getUint8(this.netAt + 4);
    return macAt(this.view, this.netAt + 8 + which * (hardware + 4), hardware);
  }

  private describe(): string {
    switch (this.protocol) {
      case Protocol.TCP: {
        if (this.seq === null) return 'tcp';
        const flags = this.flags.join(',') || 'none';
        const ack = this.tcpFlags & TcpFlag.ACK ? ` ack=${this.ack}` : '';
        return `${flags} seq=${this.seq}${ack} win=${this.window} len=${this.payloadLength}`;
      }
      case Protocol.UDP:
        return this.payloadLength === null ? 'udp' : `len=${this.payloadLength}`;
      case Protocol.ICMP:
      case Protocol.ICMPV6: {
        if (this.icmpType === null) return this.protocol.toLowerCase();
        const names = this.protocol === Protocol.ICMP ? ICMP_NAMES : ICMPV6_NAMES;
        const name = names[this.icmpType] ?? `type=${this.icmpType}`;
        if (this.icmpId !== null) return `${name} id=${this.icmpId} seq=${this.icmpSeq}`;
        return this.icmpCode ? `${name} code=${this.icmpCode}` : name;
      }
      case Protocol.ARP: {
        if (!this.arpAddresses()) return this.arpOperation === null ? 'arp' : `arp op=${this.arpOperation}`;
        const [sender, target] = [this.src, this.dst];
        if (this.arpOperation === 1) return `who-has ${target} tell ${sender} (${this.arpMac(0)})`;
        if (this.arpOperation === 2) return `${sender} is-at ${this.arpMac(0)}`;
        return `arp op=${this.arpOperation} ${sender} (${this.arpMac(0)}) > ${target} (${this.arpMac(1)})`;
      }
      case Protocol.GRE:
        return 'gre';
      default:
        if (this.ipProtocol !== null) return `ip proto ${this.ipProtocol}`;
        if (this.etherType !== null) return `ethertype 0x${this.etherType.toString(16).padStart(4, '0')}`;
        return this.capturedLength === 0 ? 'empty' : `link ${this.linkTypeName}`;
    }
  }
}
