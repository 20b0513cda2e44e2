import { type CaptureInterface, CaptureReader } from './capture-reader.ts';
import { decodeLink } from './link.ts';
import { PacketSummary, Protocol } from './summary.ts';

const PROTOCOLS = Object.values(Protocol);
const PROTOCOL_INDEX = new Map<Protocol, number>(PROTOCOLS.map((protocol, index) => [protocol, index]));

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

  /** Decodes what `chunk` completes; the packets come back in capture order. */
  push(chunk: Uint8Array): PacketSummary[] {
    this.reader.push(chunk);
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
  ): void {
    const packet = new PacketSummary(view, at, capturedLength, wireLength, seconds, nanos, iface);
    decodeLink(packet, view, iface.linkType, at, at + capturedLength);
    this.packets++;
    this.wireBytes += wireLength;
    this.capturedBytes += capturedLength;
    if (packet.problems !== 0) this.decodeErrors++;
    const index = PROTOCOL_INDEX.get(packet.protocol) as number;
    this.counts[index] = (this.counts[index] as number) + 1;
    this.batch.push(packet);
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
