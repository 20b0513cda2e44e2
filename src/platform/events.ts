import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis, type RedisOptions } from 'ioredis';
import { type Logger, withoutPassword } from './logger.ts';
import { createRedisEventTarget } from './redis-event-target.ts';
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

export type EventBusOptions = {
  /** Unset: in memory, for this process alone. */
  redisUrl?: string;
  logger: Logger;
  /**
   * Publishes that may wait for an unreachable Redis. They are held and sent
   * in order once it answers, so a blip loses no event; past the bound the
   * newest are dropped (ioredis's offline queue cannot shed its oldest), so a
   * long outage cannot grow memory. Events are news, PostgreSQL the record:
   * a subscriber 10,000 events behind is cut off anyway.
   * @default 10_000
   */
  maxPendingPublishes?: number;
};

/**
 * In memory for a single node; over Redis when `redisUrl` is set, so an event
 * published by any process (a worker, another API instance) reaches every
 * subscriber. Redis needs two connections: one is held by SUBSCRIBE.
 *
 * Nothing waits for Redis: a process whose Redis is away starts and serves
 * everything but events between processes, says so once, and reconnects
 * with backoff until it answers.
 */
export function createEventBus({ redisUrl, logger, maxPendingPublishes }: EventBusOptions): EventBusHandle {
  if (!redisUrl) return { bus: createPubSub<Topics>(), close: async () => {} };
  const redis = withoutPassword(redisUrl);
  // No per-command retry limit: held publishes are bounded by count instead, and a
  // SUBSCRIBE is only sent on a ready connection.
  const options = { retryStrategy: reconnectDelay, maxRetriesPerRequest: null } satisfies RedisOptions;
  const publisher = new Redis(redisUrl, options);
  const subscriber = new Redis(redisUrl, { ...options, autoResubscribe: false });
  const clients = [publisher, subscriber];
  let unreachable = false;
  let closing = false;
  for (const client of clients) {
    // ioredis emits 'error' on every failed attempt; the first one of an outage is news.
    client.on('error', (error: Error & { code?: string }) => {
      if (unreachable || closing) return;
      unreachable = true;
      const reason = error.code ?? error.message;
      logger.error({ redis, reason }, `Redis unreachable at ${redis} (${reason}); retrying with backoff. Until it answers, no events arrive from other processes, and ours wait to be sent`);
    });
    client.on('ready', () => {
      if (!unreachable || !clients.every((c) => c.status === 'ready')) return;
      unreachable = false;
      logger.info({ redis }, `Redis reachable again at ${redis}`);
    });
  }
  const eventTarget = createRedisEventTarget<Topics>({
    publisher,
    subscriber,
    maxPending: maxPendingPublishes,
    onDropped(topic, reason) {
      if (!closing) logger.warn({ redis, topic, reason }, `Events are being dropped until Redis answers: ${reason}`);
    },
    onSubscribeFailed: (topic, error) => logger.warn({ redis, topic, err: error }, 'Redis refused a SUBSCRIBE; it is tried again on reconnection'),
  });
  return {
    bus: createPubSub<Topics>({ eventTarget }),
    async close() {
      closing = true;
      // QUIT waits for the replies still due; a connection that is not ready has
      // none coming, and its QUIT would sit in the offline queue.
      await Promise.all(clients.map((client) => (client.status === 'ready' ? client.quit().catch(() => client.disconnect()) : client.disconnect())));
    },
  };
}

/** 100 ms, doubling, at most 5 s between attempts: quick after a blip, gentle on a long outage. */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** attempt, 5_000);
}
