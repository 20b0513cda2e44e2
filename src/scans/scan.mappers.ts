import type { Connection, Edge } from '../platform/pagination.ts';
import type { Scan } from './scan.entity.ts';
import type { ScanHostView } from './scan-host.entity.ts';
import type { ScanResultView } from './scan-result.entity.ts';
import type { ScanStatus } from './scan-status.ts';

/**
 * What the scan resolvers return for each GraphQL type, named as the type:
 * codegen maps every type an area's `*.mappers.ts` exports (see codegen.ts).
 */
export type { Scan } from './scan.entity.ts';
export type { ScanProgressView as ScanProgress } from './scan-progress.ts';
export type ScanResult = ScanResultView;
export type ScanHost = ScanHostView;
export type ScanConnection = Connection<Scan>;
export type ScanEdge = Edge<Scan>;
export type ScanResultConnection = Connection<ScanResultView>;
export type ScanResultEdge = Edge<ScanResultView>;
export type ScanHostConnection = Connection<ScanHostView>;
export type ScanHostEdge = Edge<ScanHostView>;

/** `scanId` is the local one; resolvers make it global. */
export type PortFound = { type: 'PortFound'; scanId: string; at: Date; result: ScanResultView };
export type HostStateChanged = { type: 'HostStateChanged'; scanId: string; at: Date; host: ScanHostView };
export type ScanStatusChanged = {
  type: 'ScanStatusChanged';
  scanId: string;
  at: Date;
  status: ScanStatus;
  error: string | null;
  scan: Scan;
};
export type ScanEvent = PortFound | HostStateChanged | ScanStatusChanged;
