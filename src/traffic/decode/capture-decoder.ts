import { type CaptureInterface, CaptureReader } from './capture-reader.ts';
import { decodeLink } from './link.ts';
import { PacketSummary, Protocol } from './summary.ts';

const PROTOCOLS = Object.values(Protocol);

function protocolIndex(protocol: Protocol): number {
  switch (protocol) {
    case Protocol.TCP:
      return 0;
    case Protocol.UDP:
      return 1;
    case Protocol.ICMP:
      return 2;
    case Protocol.ICMPV6:
      return 3;
    case Protocol.ARP:
      return 4;
    case Protocol.GRE:
      return 5;
    default:
      return 6;
  }
}

/** What a decoder has seen so far. */
export interface DecodeStats {
  packets: number;
  /** Bytes on the wire, and of them captured. */
  wireBytes: number;
  capturedBytes: number;
  /** Records whose layers were cut short or malformed (decoded as far as they go). */
  decodeErrors: number;
  byProtocol: Record<Protocol, number>;
}

/**
 * A pcap or pcapng stream in, packet summaries out: `push` a chunk and get
 * the packets it completed, `end` when the stream ends. A capture whose framing
 * is broken throws one `CaptureFormatError`, then again on any later call;
 * bad bytes inside a packet never throw.
 */
export class CaptureDecoder {
  private readonly reader: CaptureReader;
  private batch: PacketSummary[] = [];
  private readonly counts = new Float64Array(PROTOCOLS.length);
  private packets = 0;
  private wireBytes = 0;
  private capturedBytes = 0;
  private decodeErrors = 0;
  private maxPackets = Number.POSITIVE_INFINITY;
  private maxCapturedBytes = Number.POSITIVE_INFINITY;

  constructor() {
    this.reader = new CaptureReader((view, at, capturedLength, wireLength, seconds, nanos, iface) =>
      this.record(view, at, capturedLength, wireLength, seconds, nanos, iface),
    );
  }

  get format(): 'pcap' | 'pcapng' | null {
    return this.reader.format;
  }

  /** The interfaces of the current section. */
  get interfaces(): readonly CaptureInterface[] {
    return this.reader.interfaces;
  }

  /** Bytes read so far. */
  get offset(): number {
    return this.reader.offset;
  }

  /** The largest unit the reader held across chunks. */
  get largestHeld(): number {
    return this.reader.largestHeld;
  }

  get stats(): DecodeStats {
    const byProtocol = Object.fromEntries(PROTOCOLS.map((protocol, index) => [protocol, this.counts[index] ?? 0])) as Record<
      Protocol,
      number
    >;
    const { packets, wireBytes, capturedBytes, decodeErrors } = this;
    return { packets, wireBytes, capturedBytes, decodeErrors, byProtocol };
  }

  /**
   * Stops before the record that would pass `packets` records or `capturedBytes`
   * captured bytes: `halted` turns true and `offset` is where that record
   * starts, so the bytes before it are exactly the packets decoded.
   */
  limit({
    packets = Number.POSITIVE_INFINITY,
    capturedBytes = Number.POSITIVE_INFINITY,
  }: {
    packets?: number;
    capturedBytes?: number;
  }): void {
    this.maxPackets = packets;
    this.maxCapturedBytes = capturedBytes;
  }

  /** A limit was reached: nothing more is decoded. */
  get halted(): boolean {
    return this.reader.halted;
  }

  /** Decodes what `chunk` completes; the packets come back in capture order. */
  push(chunk: Uint8Array): PacketSummary[] {
    this.reader.push(chunk);
    const batch = this.batch;
    this.batch = [];
    return batch;
  }

  /** The packets a `push` that threw decoded before the break (once): they are the capture's. */
  takeDecoded(): PacketSummary[] {
    const batch = this.batch;
    this.batch = [];
    return batch;
  }

  /** The stream ended: throws if it ended inside a record. */
  end(): void {
    this.reader.end();
  }

  private record(
    view: DataView,
    at: number,
    capturedLength: number,
    wireLength: number,
    seconds: number,
    nanos: number,
    iface: CaptureInterface,
  ): boolean {
    if (this.packets >= this.maxPackets || this.capturedBytes + capturedLength > this.maxCapturedBytes) return false;
    const packet = new PacketSummary(view, at, capturedLength, wireLength, seconds, nanos, iface);
    decodeLink(packet, view, iface.linkType, at, at + capturedLength);
    this.packets++;
    this.wireBytes += wireLength;
    this.capturedBytes += capturedLength;
    if (packet.problems !== 0) this.decodeErrors++;
    const index = protocolIndex(packet.protocol);
    this.counts[index] = (this.counts[index] as number) + 1;
    this.batch.push(packet);
    return true;
  }
}

/**
 * Decodes a capture from any async source of bytes (a file stream, tcpdump's
 * stdout, an upload), one batch of summaries per chunk that completed some;
 * `decoder` may be passed in to read its stats afterwards.
 */
export async function* decodeCapture(
  source: AsyncIterable<Uint8Array>,
  decoder: CaptureDecoder = new CaptureDecoder(),
): AsyncGenerator<PacketSummary[], DecodeStats, undefined> {
  for await (const chunk of source) {
    const batch = decoder.push(chunk);
    if (batch.length) yield batch;
  }
  decoder.end();
  return decoder.stats;
}
