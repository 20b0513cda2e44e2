import { createPubSub } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../errors.ts';
import { listen } from './subscription-buffer.ts';

describe('listen', () => {
  it('keeps what is published before the first read, in order', async () => {
    const bus = createPubSub<{ tick: [n: number] }>();
    const stopped = Promise.withResolvers<void>();
    const events = listen(bus.subscribe('tick'), stopped.promise)[Symbol.asyncIterator]();
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (const n of [1, 2, 3]) bus.publish('tick', n);
    expect([(await events.next()).value, (await events.next()).value, (await events.next()).value]).toEqual([1, 2, 3]);
    stopped.resolve();
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });

  it('cuts off a subscriber that falls too far behind, instead of buffering without end', async () => {
    const bus = createPubSub<{ tick: [n: number] }>();
    const events = listen(bus.subscribe('tick'), new Promise(() => {}), 3)[Symbol.asyncIterator]();
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (let n = 0; n < 5; n++) bus.publish('tick', n);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(events.next()).rejects.toThrow(RateLimitedError);
  });
});
