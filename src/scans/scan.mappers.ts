import type { Connection, Edge } from '../platform/pagination.ts';
import type { ScanResult } from './scan-result.entity.ts';
import type { Scan } from './scan.entity.ts';

/** What the scan resolvers return for connection types (codegen `mappers`). */
export type ScanConnection = Connection<Scan>;
export type ScanEdge = Edge<Scan>;
export type ScanResultConnection = Connection<ScanResult>;
export type ScanResultEdge = Edge<ScanResult>;
