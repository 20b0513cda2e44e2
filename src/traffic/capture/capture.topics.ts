import type { Protocol, TcpFlag } from '../decode/summary.ts';
import type { CaptureView } from './capture.view.ts';
import type { CaptureStatus } from './capture-status.ts';

/** A capture as JSON (dates as ISO text): what its events carry. */
export type CaptureRecord = {
  [K in keyof CaptureView]: CaptureView[K] extends Date ? string : CaptureView[K] extends Date | null ? string | null : CaptureView[K];
};

/** A capture was created or changed status, as that change left it. */
export type CaptureUpdated = { captureId: string; status: CaptureStatus; at: string; capture: CaptureRecord };

/** One packet as subscribers get it: `PacketSummary` with its text built, once for every subscriber. */
export type TrafficPacket = {
  at: string;
  timeNs: string;
  interface: string | null;
  src: string;
  dst: string;
  srcPort: number | null;
  dstPort: number | null;
  protocol: Protocol;
  ipProtocol: number | null;
  length: number;
  capturedLength: number;
  tcpFlags: TcpFlag[];
  vlan: number[];
  info: string;
  /** IPv4 addresses as numbers (null otherwise), so that each subscriber's filter need not parse `src` and `dst`; not in the API. */
  srcV4: number | null;
  dstV4: number | null;
};

/** Packets of a capture as decoded, about every 100 ms. */
export type TrafficPackets = { captureId: string; packets: TrafficPacket[] };

/** A capture's counts as the API shows them. */
export type CaptureStats = {
  packets: number;
  bytes: number;
  droppedByKernel: number;
  droppedForSubscribers: number;
  decodeErrors: number;
  packetsPerSecond: number;
  bytesPerSecond: number;
};

/** The stats about once a second while a capture runs, and once more, `final`, when it ended. */
export type TrafficStatsMessage = { captureId: string; stats: CaptureStats; final: boolean; at: string };
