import type { EventBus } from '../platform/events.ts';
import type { Scan } from './scan.entity.ts';

/** Tells subscribers a scan was created or changed state; call after the change is committed. */
export async function publishScanUpdated(events: EventBus, scan: Scan): Promise<void> {
  await events.publish('scanUpdated', { scanId: scan.id, status: scan.status, at: scan.updatedAt.toISOString() });
}
