import type { FlowState } from '../flows/flow-table.ts';
import type { CaptureStats } from './capture.topics.ts';
import type { CaptureStatus } from './capture-status.ts';

/**
 * What the API shows of a capture, as a plain object: read for display,
 * made from the entity a command just changed, or carried by the event of a
 * change. Its tally (protocols, talkers, series) is read apart, when asked.
 */
export type CaptureView = {
  id: string;
  ownerId: string | null;
  scanId: string | null;
  sensor: string | null;
  interface: string | null;
  sourceEvidenceId: string | null;
  filter: string | null;
  effectiveFilter: string | null;
  snapLength: number;
  maxPackets: number;
  maxSeconds: number;
  maxBytes: number;
  speed: number;
  saveEvidence: boolean;
  waitForSubscribers: number;
  status: CaptureStatus;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  packets: number;
  bytes: number;
  capturedBytes: number;
  droppedByKernel: number;
  droppedForSubscribers: number;
  decodeErrors: number;
  savedEvidenceId: string | null;
};

export const CAPTURE_VIEW_COLUMNS =
  'id, owner_id, scan_id, sensor, interface, source_evidence_id, filter, effective_filter, snap_length, max_packets, ' +
  'max_seconds, max_bytes, speed, save_evidence, wait_for_subscribers, status, error, created_at, started_at, ended_at, packets, bytes, ' +
  'captured_bytes, dropped_by_kernel, dropped_for_subscribers, decode_errors, saved_evidence_id';

/** A row as `pg` gives it: bigint columns come as text. */
export type CaptureRow = {
  id: string;
  owner_id: string | null;
  scan_id: string | null;
  sensor: string | null;
  interface: string | null;
  source_evidence_id: string | null;
  filter: string | null;
  effective_filter: string | null;
  snap_length: number;
  max_packets: string | number;
  max_seconds: number;
  max_bytes: string | number;
  speed: number;
  save_evidence: boolean;
  wait_for_subscribers: number;
  status: CaptureStatus;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
  packets: string | number;
  bytes: string | number;
  captured_bytes: string | number;
  dropped_by_kernel: string | number;
  dropped_for_subscribers: string | number;
  decode_errors: string | number;
  saved_evidence_id: string | null;
};

export const captureViewOfRow = (row: CaptureRow): CaptureView => ({
  id: row.id,
  ownerId: row.owner_id,
  scanId: row.scan_id,
  sensor: row.sensor,
  interface: row.interface,
  sourceEvidenceId: row.source_evidence_id,
  filter: row.filter,
  effectiveFilter: row.effective_filter,
  snapLength: row.snap_length,
  maxPackets: Number(row.max_packets),
  maxSeconds: row.max_seconds,
  maxBytes: Number(row.max_bytes),
  speed: row.speed,
  saveEvidence: row.save_evidence,
  waitForSubscribers: row.wait_for_subscribers,
  status: row.status,
  error: row.error,
  createdAt: row.created_at,
  startedAt: row.started_at,
  endedAt: row.ended_at,
  packets: Number(row.packets),
  bytes: Number(row.bytes),
  capturedBytes: Number(row.captured_bytes),
  droppedByKernel: Number(row.dropped_by_kernel),
  droppedForSubscribers: Number(row.dropped_for_subscribers),
  decodeErrors: Number(row.decode_errors),
  savedEvidenceId: row.saved_evidence_id,
});

/** The same fields from an entity (a command's result) or an event's JSON (dates as ISO text). */
export function captureView(
  capture: {
    [K in keyof CaptureView]: unknown;
  },
): CaptureView {
  const date = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string | Date));
  return {
    ...(capture as CaptureView),
    createdAt: date(capture.createdAt) as Date,
    startedAt: date(capture.startedAt),
    endedAt: date(capture.endedAt),
  };
}

/** A capture's counts as the API shows them, its rates over its run until it ended (or `now`). */
export function captureStats(capture: CaptureView, now: Date): CaptureStats {
  const end = capture.endedAt ?? now;
  const seconds = capture.startedAt ? Math.max((end.getTime() - capture.startedAt.getTime()) / 1000, 0.001) : 0;
  const rate = (count: number) => (seconds ? Math.round((count / seconds) * 10) / 10 : 0);
  return {
    packets: capture.packets,
    bytes: capture.bytes,
    droppedByKernel: capture.droppedByKernel,
    droppedForSubscribers: capture.droppedForSubscribers,
    decodeErrors: capture.decodeErrors,
    packetsPerSecond: rate(capture.packets),
    bytesPerSecond: rate(capture.bytes),
  };
}

/** Tells a capture among the other nodes, for `Node.__resolveType`. */
export const isCaptureView = (value: unknown): value is CaptureView =>
  typeof value === 'object' && value !== null && 'snapLength' in value && 'saveEvidence' in value;

export type FlowView = {
  id: string;
  captureId: string;
  protocol: string;
  ipProtocol: number | null;
  src: string;
  srcPort: number | null;
  dst: string;
  dstPort: number | null;
  firstSeen: Date;
  lastSeen: Date;
  originatorPackets: number;
  originatorBytes: number;
  responderPackets: number;
  responderBytes: number;
  packets: number;
  bytes: number;
  state: FlowState;
  tcpFlags: number;
};

export const FLOW_VIEW_COLUMNS =
  'id, capture_id, protocol, ip_protocol, src, src_port, dst, dst_port, first_seen, last_seen, originator_packets, ' +
  'originator_bytes, responder_packets, responder_bytes, packets, bytes, state, tcp_flags';

export type FlowRow = {
  id: string;
  capture_id: string;
  protocol: string;
  ip_protocol: number | null;
  src: string;
  src_port: number | null;
  dst: string;
  dst_port: number | null;
  first_seen: Date;
  last_seen: Date;
  originator_packets: string | number;
  originator_bytes: string | number;
  responder_packets: string | number;
  responder_bytes: string | number;
  packets: string | number;
  bytes: string | number;
  state: FlowState;
  tcp_flags: number;
};

export const flowViewOfRow = (row: FlowRow): FlowView => ({
  id: row.id,
  captureId: row.capture_id,
  protocol: row.protocol,
  ipProtocol: row.ip_protocol,
  src: row.src,
  srcPort: row.src_port,
  dst: row.dst,
  dstPort: row.dst_port,
  firstSeen: row.first_seen,
  lastSeen: row.last_seen,
  originatorPackets: Number(row.originator_packets),
  originatorBytes: Number(row.originator_bytes),
  responderPackets: Number(row.responder_packets),
  responderBytes: Number(row.responder_bytes),
  packets: Number(row.packets),
  bytes: Number(row.bytes),
  state: row.state,
  tcpFlags: row.tcp_flags,
});

export const isFlowView = (value: unknown): value is FlowView =>
  typeof value === 'object' && value !== null && 'originatorPackets' in value && 'captureId' in value;
