import type { EventBus } from '../module.ts';
import type { Scan } from './scan.entity.ts';
import type { HostStateChangedMessage, PortFoundMessage } from './scan.topics.ts';
import { scanRecord, scanView } from './scan.view.ts';

/**
 * Tells subscribers a scan was created or changed state, on both the global
 * feed and the scan's own event stream; call after the change is committed.
 * Each event carries the scan as this change left it: subscribers show that,
 * not whatever the row holds by the time the event reaches them.
 */
export async function publishScanUpdated(events: EventBus, scan: Scan): Promise<void> {
  const record = scanRecord(scanView(scan));
  const at = record.updatedAt;
  await Promise.all([
    events.publish('scanUpdated', { scanId: scan.id, status: scan.status, at, scan: record }),
    events.publish('scanEvents', scan.id, {
      type: 'ScanStatusChanged',
      scanId: scan.id,
      status: scan.status,
      error: scan.error ?? null,
      at,
      scan: record,
    }),
  ]);
}

/** OPEN ports, once written: a subscriber that queries on receipt finds them. */
export async function publishPortsFound(
  events: EventBus,
  scanId: string,
  results: readonly PortFoundMessage['result'][],
  at: Date,
): Promise<void> {
  await Promise.all(
    results
      .filter((result) => result.state === 'OPEN')
      .map((result) => events.publish('scanEvents', scanId, { type: 'PortFound', scanId, result, at: at.toISOString() })),
  );
}

export async function publishHostStates(
  events: EventBus,
  scanId: string,
  hosts: readonly HostStateChangedMessage['host'][],
  at: Date,
): Promise<void> {
  await Promise.all(
    hosts.map((host) => events.publish('scanEvents', scanId, { type: 'HostStateChanged', scanId, host, at: at.toISOString() })),
  );
}
