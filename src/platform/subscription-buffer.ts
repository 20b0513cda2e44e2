import { RateLimitedError } from '../errors.ts';

/** Events kept for a subscriber that reads slower than they come; beyond, it is cut off (it can subscribe again and lose nothing). */
export const MAX_BUFFERED_EVENTS = 10_000;

/**
 * Starts listening at once (a yoga subscription attaches its listener only on
 * the first pull) and keeps every event until it is read: nothing published
 * while the caller reads the database is lost. A subscriber that falls
 * `MAX_BUFFERED_EVENTS` behind gets RATE_LIMITED instead of growing the
 * server's memory; as every feed starts with a replay, subscribing again
 * catches it up.
 */
export function listen<T>(subscription: AsyncIterable<T>, stopped: Promise<unknown>, limit = MAX_BUFFERED_EVENTS): AsyncIterable<T> {
  const source = subscription[Symbol.asyncIterator]();
  const queue: T[] = [];
  let ended = false;
  let overflowed = false;
  let wake: (() => void) | undefined;
  const pump = async () => {
    try {
      for (let next = await source.next(); !next.done; next = await source.next()) {
        if (queue.length >= limit) {
          overflowed = true;
          void source.return?.();
          break;
        }
        queue.push(next.value);
        wake?.();
      }
    } finally {
      ended = true;
      wake?.();
    }
  };
  void pump().catch(() => {});
  void stopped
    .then(() => {
      ended = true;
      wake?.();
      return source.return?.();
    })
    .catch(() => {});
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (overflowed)
          throw new RateLimitedError(`This subscriber fell ${limit} events behind; subscribe again: the replay sends what it missed.`, 0);
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) yield next;
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}
