import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { type ServerProcess, startServer, subscribe } from '../helpers/server.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<boolean> {
  const { hostname, port } = new URL(REDIS_URL);
  const socket = new Socket();
  const reachable = await new Promise<boolean>((resolve) => {
    socket.setTimeout(1_000);
    socket.once('connect', () => resolve(true)).once('error', () => resolve(false)).once('timeout', () => resolve(false));
    socket.connect(Number(port || 6379), hostname);
  });
  socket.destroy();
  return reachable;
}

// CI has Redis; a laptop without it skips this file rather than failing.
const available = Boolean(process.env.CI) || (await redisReachable());

describe.skipIf(!available)('events across processes over Redis', () => {
  let database: TestDatabase;
  let publisher: ServerProcess;
  let listener: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = { REDIS_URL };
    [publisher, listener] = await Promise.all([
      startServer({ databaseUrl: database.url, env }),
      startServer({ databaseUrl: database.url, env }),
    ]);
  });

  afterAll(async () => {
    expect(await Promise.all([publisher?.stop(), listener?.stop()])).toEqual([0, 0]);
    await database?.drop();
  });

  it('delivers scanUpdated on one API instance for a scan created on another', async () => {
    const subscription = subscribe<{ scanUpdated: { id: string; ports: string } }>(listener.wsClient(), 'subscription { scanUpdated { id ports } }');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { body } = await publisher.graphql<{ createScan: { scan: { id: string } } }>(
      'mutation { createScan(input: { targets: ["127.0.0.1"], ports: "6379" }) { scan { id } } }',
    );
    const [event] = await subscription.next(1);
    expect(event?.scanUpdated).toEqual({ id: body.data?.createScan.scan.id, ports: '6379' });
    expect(listener.output.join('\n')).toContain('redis://127.0.0.1:6379');
    subscription.dispose();
  });
});
