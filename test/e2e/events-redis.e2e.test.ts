import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { redisSuite, type TestRedis, useRedis } from '../helpers/redis.ts';
import { type ServerProcess, startServer, subscribe } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const across = redisSuite('events across processes over Redis');

describe.skipIf(across.skipped)(across.title, () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let publisher: ServerProcess;
  let listener: ServerProcess;

  beforeAll(async () => {
    [database, redis] = await Promise.all([createTestDatabase(), useRedis()]);
    const env = { REDIS_URL: redis.url };
    [publisher, listener] = await Promise.all([
      startServer({ databaseUrl: database.url, env }),
      startServer({ databaseUrl: database.url, env }),
    ]);
  });

  afterAll(async () => {
    expect(await Promise.all([publisher?.stop(), listener?.stop()])).toEqual([0, 0]);
    await Promise.all([database?.drop(), redis?.stop()]);
  });

  it('delivers scanUpdated on one API instance for a scan created on another', async () => {
    const subscription = subscribe<{ scanUpdated: { id: string; ports: string } }>(listener.wsClient(), 'subscription { scanUpdated { id ports } }');
    await sleep(500);
    const { body } = await publisher.graphql<{ createScan: { scan: { id: string } } }>(
      'mutation { createScan(input: { targets: ["127.0.0.1"], ports: "6379" }) { scan { id } } }',
    );
    const [event] = await subscription.next(1);
    expect(event?.scanUpdated).toEqual({ id: body.data?.createScan.scan.id, ports: '6379' });
    expect(listener.output.join('\n')).toContain(redis.url);
    subscription.dispose();
  });
});
