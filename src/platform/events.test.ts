import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisDoor, redisDoor, redisSuite, type TestRedis, useRedis } from '../../test/helpers/redis.ts';
import type { Topics } from '../module.ts';
import type { ScanEventMessage } from '../scans/scan.topics.ts';
import { createEventBus, type EventBusHandle } from './events.ts';

type Line = { level: number; msg: string; redis?: string; reason?: string };

/** A logger whose lines land in `lines`, parsed. */
function capturingLogger() {
  const lines: Line[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
  return { logger, said: (text: string) => lines.filter((line) => line.msg.includes(text)) };
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// A channel of its own per test: a shared TEST_REDIS_URL carries other tests' scans too.
const found = (scanId: string, port: number): ScanEventMessage => ({
  type: 'PortFound',
  scanId,
  result: { address: '127.0.0.1', port, protocol: 'TCP', state: 'OPEN', banner: null, service: null, version: null },
  at: new Date(0).toISOString(),
});

const suite = redisSuite('the event bus over a Redis that goes away');

describe.skipIf(suite.skipped)(suite.title, () => {
  let redis: TestRedis;
  let door: RedisDoor;
  let bus: EventBusHandle<Topics> | undefined;
  /** A connection straight to Redis, past the door, to see what reached it. */
  let direct: Redis;

  beforeAll(async () => {
    redis = await useRedis();
    direct = new Redis(redis.url);
  });

  afterEach(async () => {
    await bus?.close();
    await door?.shut();
  });

  afterAll(async () => {
    direct?.disconnect();
    await redis?.stop();
  });

  it('subscribes again once Redis is back, and says once when it went and once when it came back', async () => {
    door = await redisDoor(redis);
    await door.open();
    const { logger, said } = capturingLogger();
    bus = createEventBus<Topics>({ redisUrl: door.url, logger });
    const scanId = randomUUID();
    const channel = `scanEvents:${scanId}`;
    const subscribed = async () => (await direct.pubsub('NUMSUB', channel))[1] === 1;
    const iterator = bus.bus.subscribe('scanEvents', scanId)[Symbol.asyncIterator]();
    const received = iterator.next(); // a Repeater starts listening on its first pull
    await eventually(subscribed, 'the first SUBSCRIBE');

    await door.shut();
    await eventually(async () => !(await subscribed()), 'the subscription gone with its connection');
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // several reconnection attempts
    await door.open();
    await eventually(() => said('Redis reachable again').length > 0, 'the reachable line');
    await eventually(subscribed, 'the SUBSCRIBE again');
    await direct.publish(channel, JSON.stringify(found(scanId, 22)));
    expect((await received).value).toEqual(found(scanId, 22));
    expect(said('Redis unreachable')).toHaveLength(1);
    expect(said('Redis unreachable')[0]).toMatchObject({ level: 50, redis: door.url, reason: expect.any(String) });
    expect(said('Redis reachable again')).toHaveLength(1);
    await iterator.return?.();
  });

  it('holds publishes while Redis is away, up to its bound, and sends them in order once it answers', async () => {
    door = await redisDoor(redis);
    const { logger, said } = capturingLogger();
    bus = createEventBus<Topics>({ redisUrl: door.url, logger, maxPendingPublishes: 3 });
    await eventually(() => said('Redis unreachable').length > 0, 'the unreachable line');
    expect(said('Redis unreachable')[0]).toMatchObject({ level: 50, redis: door.url, reason: 'ECONNREFUSED' });
    const scanId = randomUUID();
    const heard: unknown[] = [];
    const listener = direct.duplicate();
    listener.on('message', (_channel: string, message: string) => heard.push(JSON.parse(message)));
    await listener.subscribe(`scanEvents:${scanId}`);
    try {
      for (const port of [1, 2, 3, 4, 5]) bus.bus.publish('scanEvents', scanId, found(scanId, port));
      expect(said('Events are being dropped')).toHaveLength(1);
      await door.open();
      await eventually(() => heard.length >= 3, 'the held events');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(heard).toEqual([1, 2, 3].map((port) => found(scanId, port)));
    } finally {
      listener.disconnect();
    }
  });
});
