import net from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { createLogger } from './logger.ts';
import { PgListener } from './pg-listen.ts';

let database: TestDatabase;
let other: pg.Client;
const listeners: PgListener[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  other = new pg.Client({ connectionString: database.url });
  await other.connect();
});

afterEach(async () => {
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
});

afterAll(async () => {
  await other.end();
  await database.drop();
});

function listen(channel: string, heartbeatMs?: number) {
  const listener = new PgListener({ url: database.url, channel, logger: createLogger('silent'), heartbeatMs });
  listeners.push(listener);
  const payloads: string[] = [];
  const health: boolean[] = [];
  listener.onNotification((payload) => payloads.push(payload));
  listener.onHealthChange((healthy) => health.push(healthy));
  return { listener, payloads, health };
}

/** Ends the listener's session from the server side, as a restart or an administrator would. */
async function terminate(channel: string): Promise<number> {
  const { rowCount } = await other.query(
    'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = $1',
    [`scanops listen ${channel}`],
  );
  return rowCount ?? 0;
}

describe('PgListener', () => {
  it('is healthy once it listens, and hears what another connection sends', async () => {
    const { listener, payloads, health } = listen('test_hears');
    expect(listener.healthy).toBe(false);
    await listener.start();
    expect(listener.healthy).toBe(true);
    expect(health).toEqual([true]);
    await other.query(`select pg_notify('test_hears', 'one'), pg_notify('test_hears', '')`);
    await other.query(`notify test_elsewhere, 'not ours'`);
    await expect.poll(() => payloads).toEqual(['one', '']);
  });

  it('turns unhealthy when its session is terminated, then listens again and hears again', async () => {
    const { listener, payloads, health } = listen('test_lost');
    await listener.start();
    expect(await terminate('test_lost')).toBe(1);
    await expect.poll(() => health.includes(false)).toBe(true);
    await expect.poll(() => listener.healthy, { timeout: 5_000 }).toBe(true);
    expect(health).toEqual([true, false, true]);
    await other.query(`notify test_lost, 'after'`);
    await expect.poll(() => payloads).toEqual(['after']);
  });

  it('stays unhealthy while the database refuses it, and listens once it accepts, without a new start', async () => {
    const url = new URL(database.url);
    const name = `${url.pathname.slice(1)}_later`;
    url.pathname = `/${name}`;
    const listener = new PgListener({ url: url.toString(), channel: 'test_refused', logger: createLogger('silent') });
    listeners.push(listener);
    try {
      await listener.start();
      expect(listener.healthy).toBe(false);
      await other.query(`create database ${name}`);
      await expect.poll(() => listener.healthy, { timeout: 8_000 }).toBe(true);
    } finally {
      await listener.close();
      await other.query(`drop database if exists ${name} with (force)`);
    }
  });

  it('turns unhealthy when its heartbeat goes unanswered on a connection that died silently, and recovers', async () => {
    const route = await blackHoleableRoute(new URL(database.url));
    try {
      const listener = new PgListener({ url: route.url, channel: 'test_beat', logger: createLogger('silent'), heartbeatMs: 200 });
      listeners.push(listener);
      const health: boolean[] = [];
      listener.onHealthChange((healthy) => health.push(healthy));
      await listener.start();
      expect(listener.healthy).toBe(true);
      route.blackHole(true);
      await expect.poll(() => listener.healthy, { timeout: 2_000 }).toBe(false);
      route.blackHole(false);
      await expect.poll(() => listener.healthy, { timeout: 5_000 }).toBe(true);
      expect(health).toEqual([true, false, true]);
    } finally {
      await route.close();
    }
  });

  it('stops for good on close: unhealthy, and no reconnection', async () => {
    const { listener, health } = listen('test_close');
    await listener.start();
    await listener.close();
    expect(listener.healthy).toBe(false);
    expect(health).toEqual([true, false]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await terminate('test_close')).toBe(0);
  });

  it('refuses a channel name that would need quoting', () => {
    expect(() => new PgListener({ url: database.url, channel: 'Bad"name', logger: createLogger('silent') })).toThrow(/channel/);
  });
});

/**
 * A TCP route to the database that can turn into a black hole: bytes sent
 * either way vanish, and nothing closes, as when a network path dies without
 * a word.
 */
async function blackHoleableRoute(target: URL) {
  let holed = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (data) => holed || to.write(data));
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url: url.toString(),
    blackHole(on: boolean) {
      holed = on;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
