import type { Connection, Edge } from '../platform/pagination.ts';
import type { Scan } from './scan.entity.ts';
import type { ScanHostView } from './scan-host.entity.ts';
import type { ScanProgressView } from './scan-progress.ts';
import type { ScanResultView } from './scan-result.entity.ts';
import type { ScanStatus } from './scan-status.ts';

/**
 * What the scan resolvers return for each GraphQL type `X`, as `XMapper`:
 * codegen maps every `*Mapper` an area's `*.mappers.ts` exports (see codegen.ts).
 */
export type ScanMapper = Scan;
export type ScanProgressMapper = ScanProgressView;
export type ScanResultMapper = ScanResultView;
export type ScanHostMapper = ScanHostView;
export type ScanConnectionMapper = Connection<Scan>;
export type ScanEdgeMapper = Edge<Scan>;
export type ScanResultConnectionMapper = Connection<ScanResultView>;
export type ScanResultEdgeMapper = Edge<ScanResultView>;
export type ScanHostConnectionMapper = Connection<ScanHostView>;
export type ScanHostEdgeMapper = Edge<ScanHostView>;

/** `scanId` is the local one; resolvers make it global. */
export type PortFoundMapper = { type: 'PortFound'; scanId: string; at: Date; result: ScanResultView };
export type HostStateChangedMapper = { type: 'HostStateChanged'; scanId: string; at: Date; host: ScanHostView };
export type ScanStatusChangedMapper = {
  type: 'ScanStatusChanged';
  scanId: string;
  at: Date;
  status: ScanStatus;
  error: string | null;
  scan: Scan;
};
export type ScanEventMapper = PortFoundMapper | HostStateChangedMapper | ScanStatusChangedMapper;
