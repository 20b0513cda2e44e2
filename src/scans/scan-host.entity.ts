import { defineEntity, p } from '@mikro-orm/core';
import { Scan } from './scan.entity.ts';

export const HostState = { UNKNOWN: 'UNKNOWN', UP: 'UP', DOWN: 'DOWN' } as const;
export type HostState = (typeof HostState)[keyof typeof HostState];

const ScanHostSchema = defineEntity({
  name: 'ScanHost',
  tableName: 'scan_hosts',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    scan: () => p.manyToOne(Scan).deleteRule('cascade'),
    /** The address probed: a target address, one of a network's, or what a hostname resolved to at the start. */
    address: p.text(),
    /** The hostname target that resolved to this address, if any. */
    hostname: p.text().nullable(),
    state: p.enum(['UNKNOWN', 'UP', 'DOWN'] as const satisfies readonly HostState[]),
    changedAt: p.datetime(3),
  },
  uniques: [{ properties: ['scan', 'address'], name: 'scan_hosts_scan_id_address_unique' }],
});

/**
 * One address a scan probes, recorded when the scan starts. UP once any port
 * answered (open or closed); DOWN when the scan completed without an answer.
 */
export class ScanHost extends ScanHostSchema.class {}

ScanHostSchema.setClass(ScanHost);

/** What the API shows of a host: from a row, or carried by an event. */
export type ScanHostView = { scanId: string; address: string; hostname: string | null; state: HostState };

export const hostView = (host: ScanHost): ScanHostView => ({
  scanId: host.scan.id,
  address: host.address,
  hostname: host.hostname ?? null,
  state: host.state,
});
export { ScanHostSchema };
