import type { Scan } from './scan.entity.ts';
import type { ScanStatus, ScanType } from './scan-status.ts';

/**
 * What the API shows of a scan, as a plain object: read for display (no
 * entity, nothing tracked), made from an entity a command just changed, or
 * carried by the event of a change, as it was at that change.
 */
export type ScanView = {
  id: string;
  ownerId: string | null;
  /** Normalized, as stored. */
  targets: readonly string[];
  /** The normalized port spec, as stored. */
  ports: string;
  scanType: ScanType;
  status: ScanStatus;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  probesTotal: number;
  probesDone: number;
  openPorts: number;
  closedPorts: number;
  filteredPorts: number;
  probesEstimate: number;
};

/** The columns a view is read from: all but the options, which no read shows. */
export const SCAN_VIEW_COLUMNS =
  'id, owner_id, targets, ports, scan_type, status, created_at, updated_at, started_at, finished_at, error, ' +
  'probes_total, probes_done, open_ports, closed_ports, filtered_ports, probes_estimate';

export type ScanRow = {
  id: string;
  owner_id: string | null;
  targets: string[];
  ports: string;
  scan_type: ScanType;
  status: ScanStatus;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  error: string | null;
  probes_total: number;
  probes_done: number;
  open_ports: number;
  closed_ports: number;
  filtered_ports: number;
  probes_estimate: number;
};

export const scanViewOfRow = (row: ScanRow): ScanView => ({
  id: row.id,
  ownerId: row.owner_id,
  targets: row.targets,
  ports: row.ports,
  scanType: row.scan_type,
  status: row.status,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  error: row.error,
  probesTotal: row.probes_total,
  probesDone: row.probes_done,
  openPorts: row.open_ports,
  closedPorts: row.closed_ports,
  filteredPorts: row.filtered_ports,
  probesEstimate: row.probes_estimate,
});

export const scanView = (scan: Scan): ScanView => ({
  id: scan.id,
  ownerId: scan.ownerId,
  targets: scan.targets.map(String),
  ports: scan.ports.toString(),
  scanType: scan.scanType,
  status: scan.status,
  createdAt: scan.createdAt,
  updatedAt: scan.updatedAt,
  startedAt: scan.startedAt ?? null,
  finishedAt: scan.finishedAt ?? null,
  error: scan.error ?? null,
  probesTotal: scan.probesTotal,
  probesDone: scan.probesDone,
  openPorts: scan.openPorts,
  closedPorts: scan.closedPorts,
  filteredPorts: scan.filteredPorts,
  probesEstimate: scan.probesEstimate,
});

/** A view as an event carries it: plain JSON, times as ISO strings, so a Redis bus can take it between processes. */
export type ScanRecord = Omit<ScanView, 'createdAt' | 'updatedAt' | 'startedAt' | 'finishedAt'> & {
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};

export const scanRecord = (view: ScanView): ScanRecord => ({
  ...view,
  createdAt: view.createdAt.toISOString(),
  updatedAt: view.updatedAt.toISOString(),
  startedAt: view.startedAt?.toISOString() ?? null,
  finishedAt: view.finishedAt?.toISOString() ?? null,
});

export const scanViewOfRecord = (record: ScanRecord): ScanView => ({
  ...record,
  createdAt: new Date(record.createdAt),
  updatedAt: new Date(record.updatedAt),
  startedAt: record.startedAt === null ? null : new Date(record.startedAt),
  finishedAt: record.finishedAt === null ? null : new Date(record.finishedAt),
});

/** Tells a scan's view among the other nodes (entities of other areas), for `Node.__resolveType`. */
export const isScanView = (value: unknown): value is ScanView =>
  typeof value === 'object' && value !== null && 'scanType' in value && 'probesEstimate' in value;
