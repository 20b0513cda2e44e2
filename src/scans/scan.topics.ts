import type { PortState, Protocol } from './engine/scanner.ts';
import type { ScanRecord } from './scan.view.ts';
import type { HostState } from './scan-host.entity.ts';
import type { ScanStatus } from './scan-status.ts';

/** A scan was created or changed state, and the scan as that change left it. Plain JSON: a Redis bus may carry it between processes. */
export type ScanUpdated = { scanId: string; status: ScanStatus; at: string; scan: ScanRecord };

/** How far a scan has come; published by the worker running it, at most ~10 times a second. */
export type ScanProgressed = {
  scanId: string;
  status: ScanStatus;
  probesTotal: number;
  /** Probes whose results are stored, as of the batch last written. */
  probesDone: number;
  openPorts: number;
  /** The engine's own estimate of probes done, at least `probesDone`. */
  probesEstimate: number;
  /** ISO time the scan started running, for the rate; `null` before. */
  startedAt: string | null;
  /** ISO time the scan ended: an ended scan's rate stops there. */
  finishedAt: string | null;
  at: string;
};

/** A result as written: what an event about it carries. */
export type StoredResult = {
  address: string;
  port: number;
  protocol: Protocol;
  state: PortState;
  banner: string | null;
  service: string | null;
  version: string | null;
};

/** An OPEN port as the worker stored it. */
export type PortFoundMessage = {
  type: 'PortFound';
  scanId: string;
  result: StoredResult;
  at: string;
};

/** A host turned UP (a port answered) or DOWN (the scan completed without an answer). */
export type HostStateChangedMessage = {
  type: 'HostStateChanged';
  scanId: string;
  host: { address: string; hostname: string | null; state: HostState };
  at: string;
};

export type ScanStatusChangedMessage = {
  type: 'ScanStatusChanged';
  scanId: string;
  status: ScanStatus;
  error: string | null;
  at: string;
  /** The scan as this change left it. */
  scan: ScanRecord;
};

/** What happens inside one scan, in the order it happened. */
export type ScanEventMessage = PortFoundMessage | HostStateChangedMessage | ScanStatusChangedMessage;
