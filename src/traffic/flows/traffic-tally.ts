import { addressOfKey } from '../decode/address.ts';
import { type PacketSummary, Protocol } from '../decode/summary.ts';

/** One address's share of a capture. */
export interface Talker {
  address: string;
  packets: number;
  bytes: number;
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
}

export interface TrafficBucket {
  /** Start of the bucket, seconds since the epoch. */
  at: number;
  packets: number;
  bytes: number;
}

export interface ProtocolCount {
  protocol: Protocol;
  packets: number;
  bytes: number;
}

/** What a tally keeps, as plain JSON (a capture row's columns). */
export interface TallyRecord {
  protocols: ProtocolCount[];
  talkers: Talker[];
  /** Per-second buckets, oldest first. */
  series: TrafficBucket[];
}

type Counts = { packetsSent: number; bytesSent: number; packetsReceived: number; bytesReceived: number };

export interface TrafficTallyOptions {
  /** Addresses counted at most (later ones are not); seconds of series kept at most (the oldest go). */
  maxTalkers?: number;
  maxSeconds?: number;
  /** Talkers kept in a record. */
  recordTalkers?: number;
}

/**
 * A capture's counts while it runs: packets and bytes per protocol, per address
 * (sent and received) and per second of capture time, each bounded whatever
 * the traffic.
 */
export class TrafficTally {
  private readonly protocols = new Map<Protocol, { packets: number; bytes: number }>(
    Object.values(Protocol).map((protocol) => [protocol, { packets: 0, bytes: 0 }]),
  );
  private readonly talkers = new Map<number | string, Counts>();
  private readonly seconds = new Map<number, TrafficBucket>();
  private readonly maxTalkers: number;
  private readonly maxSeconds: number;
  private readonly recordTalkers: number;

  constructor({ maxTalkers = 50_000, maxSeconds = 86_400, recordTalkers = 100 }: TrafficTallyOptions = {}) {
    this.maxTalkers = maxTalkers;
    this.maxSeconds = maxSeconds;
    this.recordTalkers = recordTalkers;
  }

  add(packet: PacketSummary): void {
    const bytes = packet.wireLength;
    const protocol = this.protocols.get(packet.protocol);
    if (protocol) {
      protocol.packets++;
      protocol.bytes += bytes;
    }
    const src = packet.srcKey;
    if (src !== null) {
      const sender = this.talker(src);
      if (sender) {
        sender.packetsSent++;
        sender.bytesSent += bytes;
      }
      const receiver = this.talker(packet.dstKey as number | string);
      if (receiver) {
        receiver.packetsReceived++;
        receiver.bytesReceived += bytes;
      }
    }
    if (packet.seconds >= 0) {
      let bucket = this.seconds.get(packet.seconds);
      if (!bucket) {
        if (this.seconds.size >= this.maxSeconds) this.dropOldestSecond();
        bucket = { at: packet.seconds, packets: 0, bytes: 0 };
        this.seconds.set(packet.seconds, bucket);
      }
      bucket.packets++;
      bucket.bytes += bytes;
    }
  }

  protocolCounts(): ProtocolCount[] {
    return [...this.protocols]
      .filter(([, counts]) => counts.packets > 0)
      .map(([protocol, counts]) => ({ protocol, ...counts }))
      .sort((a, b) => b.packets - a.packets);
  }

  /** The `first` addresses by bytes, sent and received together. */
  topTalkers(first: number): Talker[] {
    const ranked: [number | string, Counts, number][] = [];
    for (const [key, counts] of this.talkers) ranked.push([key, counts, counts.bytesSent + counts.bytesReceived]);
    ranked.sort((a, b) => b[2] - a[2]);
    return ranked.slice(0, first).map(([key, counts]) => ({
      address: addressOfKey(key),
      packets: counts.packetsSent + counts.packetsReceived,
      bytes: counts.bytesSent + counts.bytesReceived,
      ...counts,
    }));
  }

  /** Per-second buckets, oldest first. */
  series(): TrafficBucket[] {
    return [...this.seconds.values()].sort((a, b) => a.at - b.at).map((bucket) => ({ ...bucket }));
  }

  record(): TallyRecord {
    return { protocols: this.protocolCounts(), talkers: this.topTalkers(this.recordTalkers), series: this.series() };
  }

  private talker(key: number | string): Counts | undefined {
    let counts = this.talkers.get(key);
    if (!counts && this.talkers.size < this.maxTalkers) {
      counts = { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0 };
      this.talkers.set(key, counts);
    }
    return counts;
  }

  private dropOldestSecond(): void {
    let oldest = Number.POSITIVE_INFINITY;
    for (const second of this.seconds.keys()) if (second < oldest) oldest = second;
    this.seconds.delete(oldest);
  }
}

/**
 * Buckets of `bucketSeconds` from per-second ones (`at` aligned to the epoch),
 * the last `maxBuckets` of them.
 */
export function rebucket(series: readonly TrafficBucket[], bucketSeconds: number, maxBuckets = 3600): TrafficBucket[] {
  const buckets = new Map<number, TrafficBucket>();
  for (const { at, packets, bytes } of series) {
    const start = at - (at % bucketSeconds);
    const bucket = buckets.get(start) ?? { at: start, packets: 0, bytes: 0 };
    bucket.packets += packets;
    bucket.bytes += bytes;
    buckets.set(start, bucket);
  }
  return [...buckets.values()].sort((a, b) => a.at - b.at).slice(-maxBuckets);
}
