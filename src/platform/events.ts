import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis, type RedisOptions } from 'ioredis';
import { type Logger, withoutPassword } from './logger.ts';
import { createRedisEventTarget } from './redis-event-target.ts';

/**
 * Topics and their payloads, `name: [payload]` or `name: [id, payload]` for a
 * topic per object, from an interface the areas fill (see `module.ts`), as
 * the map `PubSub` takes: an interface has no index signature of its own.
 * Payloads are plain JSON: a Redis bus carries them between processes.
 */
export type TopicsOf<T> = { [K in keyof T]: T[K] extends [] | [unknown] | [number | string, unknown] ? T[K] : never };

export type EventBus<T> = PubSub<TopicsOf<T>>;

export type EventBusHandle<T> = { bus: EventBus<T>; close(): Promise<void> };

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
export function createEventBus<T>({ redisUrl, logger, maxPendingPublishes }: EventBusOptions): EventBusHandle<T> {
  if (!redisUrl) {
    // One listener per subscription (or per shared stream) of a topic: many are the norm here, not a leak.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    return { bus: createPubSub<TopicsOf<T>>({ eventTarget }), close: async () => {} };
  }
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
      logger.error(
        { redis, reason },
        `Redis unreachable at ${redis} (${reason}); retrying with backoff. Until it answers, no events arrive from other processes, and ours wait to be sent`,
      );
    });
    client.on('ready', () => {
      if (!unreachable || !clients.every((c) => c.status === 'ready')) return;
      unreachable = false;
      logger.info({ redis }, `Redis reachable again at ${redis}`);
    });
  }
  const eventTarget = createRedisEventTarget<TopicsOf<T>>({
    publisher,
    subscriber,
    maxPending: maxPendingPublishes,
    onDropped(topic, reason) {
      if (!closing) logger.warn({ redis, topic, reason }, `Events are being dropped until Redis answers: ${reason}`);
    },
    onSubscribeFailed: (topic, error) =>
      logger.warn({ redis, topic, err: error }, 'Redis refused a SUBSCRIBE; it is tried again on reconnection'),
  });
  return {
    bus: createPubSub<TopicsOf<T>>({ eventTarget }),
    async close() {
      closing = true;
      // QUIT waits for the replies still due; a connection that is not ready has
      // none coming, and its QUIT would sit in the offline queue.
      await Promise.all(
        clients.map((client) => (client.status === 'ready' ? client.quit().catch(() => client.disconnect()) : client.disconnect())),
      );
    },
  };
}

/** 100 ms, doubling, at most 5 s between attempts: quick after a blip, gentle on a long outage. */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** attempt, 5_000);
}
