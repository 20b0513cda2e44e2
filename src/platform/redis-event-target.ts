import type { PubSubEventTarget } from 'graphql-yoga';
import type { Redis } from 'ioredis';

export type RedisEventTargetOptions = {
  publisher: Redis;
  /**
   * A connection of its own (SUBSCRIBE holds it), created with
   * `autoResubscribe: false`: this target subscribes again on every `ready`.
   */
  subscriber: Redis;
  /**
   * Publishes Redis has not answered yet, beyond which new ones are dropped.
   * While Redis is away they wait in ioredis's offline queue, which has no
   * bound of its own.
   * @default 10_000
   */
  maxPending?: number;
  /**
   * Told of the first event of each run that does not reach Redis, and why; a
   * run ends when no publish is left waiting.
   */
  onDropped(topic: string, reason: string): void;
  /** Told when Redis refuses a SUBSCRIBE; the next `ready` tries again. */
  onSubscribeFailed(topic: string, error: unknown): void;
};

type Listener = ((event: CustomEvent) => void) | { handleEvent(event: CustomEvent): void };

/**
 * A pubsub event target over Redis, the shape of
 * `@graphql-yoga/redis-event-target`'s. Ours because that one leaves the
 * promises of PUBLISH, SUBSCRIBE and UNSUBSCRIBE unhandled: any of them
 * refused (Redis away too long, a closing connection) would be an unhandled
 * rejection, which ends a Node process. It also subscribes only once per
 * topic and leaves the rest to ioredis's resubscription, which restores only
 * the channels the lost connection had confirmed; here the topics with
 * listeners are the truth, subscribed again whenever the connection is ready.
 */
export function createRedisEventTarget<Topics extends Record<string, [] | [unknown] | [number | string, unknown]>>(
  options: RedisEventTargetOptions,
): PubSubEventTarget<Topics> {
  const { publisher, subscriber, maxPending = 10_000, onDropped, onSubscribeFailed } = options;
  const listeners = new Map<string, Set<Listener>>();
  let pending = 0;
  let dropping = false;
  const drop = (topic: string, reason: string) => {
    if (!dropping) onDropped(topic, reason);
    dropping = true;
  };

  const subscribe = (topics: string[]) => {
    if (topics.length === 0 || subscriber.status !== 'ready') return;
    subscriber.subscribe(...topics).catch((error: unknown) => onSubscribeFailed(topics.join(' '), error));
  };
  subscriber.on('ready', () => subscribe([...listeners.keys()]));
  subscriber.on('message', (topic: string, message: string) => {
    let detail: unknown;
    try {
      detail = message === '' ? null : JSON.parse(message);
    } catch {
      return; // not one of ours: anyone on this Redis may publish on the channel
    }
    for (const listener of listeners.get(topic) ?? []) {
      const event = new CustomEvent(topic, { detail });
      if (typeof listener === 'function') listener(event);
      else listener.handleEvent(event);
    }
  });

  return {
    addEventListener(topic: string, listener: Listener | null) {
      if (!listener) return;
      const set = listeners.get(topic);
      if (set) return void set.add(listener);
      listeners.set(topic, new Set([listener]));
      subscribe([topic]);
    },
    removeEventListener(topic: string, listener: Listener | null) {
      const set = listeners.get(topic);
      if (!listener || !set?.delete(listener) || set.size > 0) return;
      listeners.delete(topic);
      // A connection that is not ready is gone or not yet subscribed: the next ready one never has the topic.
      if (subscriber.status === 'ready') subscriber.unsubscribe(topic).catch(() => {});
    },
    dispatchEvent(event: CustomEvent) {
      if (pending >= maxPending) {
        drop(event.type, `${maxPending} publishes already wait for Redis`);
        return true;
      }
      pending += 1;
      publisher
        .publish(event.type, event.detail === undefined ? '' : JSON.stringify(event.detail))
        .catch((error: unknown) => drop(event.type, error instanceof Error ? error.message : String(error)))
        .finally(() => {
          pending -= 1;
          if (pending === 0) dropping = false;
        });
      return true;
    },
  };
}
