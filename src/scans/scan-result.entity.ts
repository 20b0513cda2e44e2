import { defineEntity, p } from '@mikro-orm/core';
import type { PortState, Protocol } from './engine/scanner.ts';
import { Scan } from './scan.entity.ts';

const ScanResultSchema = defineEntity({
  name: 'ScanResult',
  tableName: 'scan_results',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    scan: () => p.manyToOne(Scan).deleteRule('cascade'),
    address: p.text(),
    protocol: p.enum(['TCP', 'UDP'] as const satisfies readonly Protocol[]),
    port: p.integer(),
    state: p.enum(['OPEN', 'CLOSED', 'FILTERED'] as const satisfies readonly PortState[]),
    banner: p.text().nullable(),
    /** The service nmap named (VERSION scans probe for it); `null` leaves the well-known-ports guess. */
    service: p.text().nullable(),
    /** Product and version nmap's service detection identified. */
    version: p.text().nullable(),
    foundAt: p.datetime(3),
  },
  uniques: [{ properties: ['scan', 'address', 'protocol', 'port'], name: 'scan_results_scan_id_address_protocol_port_unique' }],
  indexes: [{ properties: ['scan', 'state'], name: 'scan_results_scan_id_state_index' }],
  checks: [{ name: 'scan_results_port_check', expression: '(port >= 1) AND (port <= 65535)' }],
});

/** What one probe found on one port of one host; unique per scan, host, protocol and port. */
export class ScanResult extends ScanResultSchema.class {}

ScanResultSchema.setClass(ScanResult);

/** What the API shows of a result: an entity, or one carried by an event. */
export type ScanResultView = Pick<ScanResult, 'address' | 'port' | 'protocol' | 'state' | 'banner' | 'service' | 'version'>;
export { ScanResultSchema };
