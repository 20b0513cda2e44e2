import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { PortState, Protocol } from '../scans/engine/scanner.ts';
import type { HostState } from '../scans/scan-host.entity.ts';
import type { ScanStatus } from '../scans/scan-status.ts';

/** A scan was created or changed state. Plain JSON: a Redis bus may carry it between processes. */
export type ScanUpdated = { scanId: string; status: ScanStatus; at: string };

/** How far a scan has come; published by the worker running it, at most ~10 times a second. */
export type ScanProgressed = {
  scanId: string;
  status: ScanStatus;
  probesTotal: number;
  /** Probes whose results are stored, as of the batch last written. */
  probesDone: number;
  openPorts: number;
  /** The engine's own estimate of probes done, at least `probesDone`. */
  probesEstimate: number;
  /** ISO time the scan started running, for the rate; `null` before. */
  startedAt: string | null;
  /** ISO time the scan ended: an ended scan's rate stops there. */
  finishedAt: string | null;
  at: string;
};

/** An OPEN port as the worker stored it. */
export type PortFound = {
  type: 'PortFound';
  scanId: string;
  result: { address: string; port: number; protocol: Protocol; state: PortState; banner: string | null; service: string | null; version: string | null };
  at: string;
};

/** A host turned UP (a port answered) or DOWN (the scan completed without an answer). */
export type HostStateChanged = {
  type: 'HostStateChanged';
  scanId: string;
  host: { address: string; hostname: string | null; state: HostState };
  at: string;
};

export type ScanStatusChanged = { type: 'ScanStatusChanged'; scanId: string; status: ScanStatus; error: string | null; at: string };

/** What happens inside one scan, in the order it happened. */
export type ScanEventMessage = PortFound | HostStateChanged | ScanStatusChanged;

/**
 * Credentials stopped working before their time, or changed: a logout or a
 * reused refresh token (`sessionId`), a revoked API token (`apiTokenId`), a
 * deactivated user, a new password or role (`userId` alone). Open streams of
 * that user re-check their identity at once.
 */
export type IdentityRevoked = { userId: string; sessionId?: string; apiTokenId?: string; reason: 'REVOKED' | 'DEACTIVATED'; at: string };

/** Every topic and its payload; publishers and subscribers are checked against it. */
export type Topics = {
  scanUpdated: [event: ScanUpdated];
  scanProgress: [scanId: string, event: ScanProgressed];
  scanEvents: [scanId: string, event: ScanEventMessage];
  identityRevoked: [event: IdentityRevoked];
};

export type EventBus = PubSub<Topics>;

export type EventBusHandle = { bus: EventBus; close(): Promise<void> };

/**
 * In memory for a single node; over Redis when `redisUrl` is set, so an event
 * published by any process (a worker, another API instance) reaches every
 * subscriber. Redis needs two connections: one is held by SUBSCRIBE.
 */
export async function createEventBus(redisUrl?: string): Promise<EventBusHandle> {
  if (!redisUrl) return { bus: createPubSub<Topics>(), close: async () => {} };
  const publishClient = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  const subscribeClient = new Redis(redisUrl, { lazyConnect: true });
  await Promise.all([publishClient.connect(), subscribeClient.connect()]);
  return {
    bus: createPubSub<Topics>({ eventTarget: createRedisEventTarget({ publishClient, subscribeClient }) }),
    async close() {
      await Promise.all([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}
