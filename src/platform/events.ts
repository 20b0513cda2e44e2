import { createPubSub, type PubSub, type PubSubEventTarget } from 'graphql-yoga';
import type { ScanStatus } from '../scans/scan-status.ts';

/** A scan was created or changed state. Plain JSON: a Redis bus may carry it between processes. */
export type ScanUpdated = { scanId: string; status: ScanStatus; at: string };

/** Every topic and its payload; publishers and subscribers are checked against it. */
export type Topics = {
  scanUpdated: [event: ScanUpdated];
};

export type EventBus = PubSub<Topics>;

/** In-memory by default; pass a Redis event target to reach other processes. */
export function createEventBus(eventTarget?: PubSubEventTarget<Topics>): EventBus {
  return createPubSub<Topics>(eventTarget ? { eventTarget } : undefined);
}
