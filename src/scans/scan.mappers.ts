import type { Connection, Edge } from '../platform/pagination.ts';
import type { HostView, ResultView } from './scan.reads.ts';
import type { ScanView } from './scan.view.ts';
import type { ScanHostView } from './scan-host.entity.ts';
import type { ScanProgressView } from './scan-progress.ts';
import type { ScanResultView } from './scan-result.entity.ts';
import type { ScanStatus } from './scan-status.ts';

/**
 * What the scan resolvers return for each GraphQL type `X`, as `XMapper`:
 * codegen maps every `*Mapper` an area's `*.mappers.ts` exports (see codegen.ts).
 */
export type ScanMapper = ScanView;
export type ScanProgressMapper = ScanProgressView;
export type ScanResultMapper = ScanResultView;
export type ScanHostMapper = ScanHostView;
export type ScanConnectionMapper = Connection<ScanView>;
export type ScanEdgeMapper = Edge<ScanView>;
export type ScanResultConnectionMapper = Connection<ResultView>;
export type ScanResultEdgeMapper = Edge<ResultView>;
export type ScanHostConnectionMapper = Connection<HostView>;
export type ScanHostEdgeMapper = Edge<HostView>;

/** `scanId` is the local one; resolvers make it global. */
export type PortFoundMapper = { type: 'PortFound'; scanId: string; at: Date; result: ScanResultView };
export type HostStateChangedMapper = { type: 'HostStateChanged'; scanId: string; at: Date; host: ScanHostView };
export type ScanStatusChangedMapper = {
  type: 'ScanStatusChanged';
  scanId: string;
  at: Date;
  status: ScanStatus;
  error: string | null;
  scan: ScanView;
};
export type ScanEventMapper = PortFoundMapper | HostStateChangedMapper | ScanStatusChangedMapper;
