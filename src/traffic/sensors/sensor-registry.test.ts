import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { type Orm, openDatabase } from '../../platform/db.ts';
import { createLogger } from '../../platform/logger.ts';
import { Reads } from '../../platform/reads.ts';
import { CreateCaptureSensors } from '../migrations/20261210000000-capture-sensors.ts';
import { CaptureSensorSchema } from './capture-sensor.entity.ts';
import type { SensorInterface } from './host-interfaces.ts';
import { isSensorView, ONLINE_SECONDS, SensorRegistry, startSensor } from './sensor-registry.ts';

/**
 * The registry on a database of its own holding only the sensors' table, made
 * by its migration (the traffic module, which lists it for the app, is wired
 * apart): what the rows say, and what a running sensor writes.
 */
let database: TestDatabase;
let orm: Orm;
let registry: SensorRegistry;
let now = new Date('2026-12-10T12:00:00.000Z');
const clock = { now: () => now };
const logger = createLogger('silent', false);

const lo: SensorInterface = { name: 'lo', addresses: ['127.0.0.1/8', '::1/128'], up: true, loopback: true };
const eth0: SensorInterface = { name: 'eth0', addresses: ['192.0.2.2/24'], up: true, loopback: false };

const count = async () => (await orm.em.fork().getConnection().execute<{ n: string }[]>('select count(*) as n from capture_sensors'))[0]?.n;

beforeAll(async () => {
  database = await createTestDatabase();
  orm = await openDatabase({
    url: database.url,
    logger,
    entities: [CaptureSensorSchema],
    migrations: [{ name: '20261210000000-capture-sensors', class: CreateCaptureSensors }],
  });
  registry = new SensorRegistry({ em: () => orm.em.fork(), reads: await Reads.of(orm), clock, logger });
});

afterAll(async () => {
  await orm?.close();
  await database?.drop();
});

beforeEach(async () => {
  now = new Date('2026-12-10T12:00:00.000Z');
  await orm.em.fork().getConnection().execute('delete from capture_sensors');
});

describe('the migration', () => {
  it('makes the table the entity maps', async () => {
    expect((await orm.schema.getUpdateSchemaSQL({ wrap: false })).trim()).toBe('');
  });
});

describe('the sensor registry', () => {
  it('registers a name once: a second registration takes the row over with its interfaces and times', async () => {
    const first = await registry.register('sensor-a', [lo]);
    expect(first).toMatchObject({ name: 'sensor-a', interfaces: [lo], startedAt: now, lastSeenAt: now, online: true });
    now = new Date(now.getTime() + 60_000);
    const second = await registry.register('sensor-a', [eth0, lo]);
    expect(second.id).toBe(first.id);
    expect(await count()).toBe('1');
    // Stored as a JSON array, not as a string of one: queries can look into it.
    const [stored] = await orm.em
      .fork()
      .getConnection()
      .execute<{ type: string; first: string }[]>(
        `select jsonb_typeof(interfaces) as type, interfaces->0->>'name' as first from capture_sensors`,
      );
    expect(stored).toEqual({ type: 'array', first: 'eth0' });
    expect(await registry.byName('sensor-a')).toEqual({
      id: first.id,
      name: 'sensor-a',
      interfaces: [eth0, lo],
      startedAt: now,
      lastSeenAt: now,
      online: true,
    });
  });

  it('lists every sensor by name, and tells those online by their last heartbeat', async () => {
    await registry.register('sensor-b', [lo]);
    now = new Date(now.getTime() + 20_000);
    await registry.register('sensor-a', [eth0]);
    expect((await registry.list()).map((sensor) => [sensor.name, sensor.online])).toEqual([
      ['sensor-a', true],
      ['sensor-b', true],
    ]);
    // sensor-b last seen ONLINE_SECONDS + 1 s ago, sensor-a 11 s ago.
    now = new Date(now.getTime() + (ONLINE_SECONDS - 20 + 1) * 1000);
    expect((await registry.list()).map((sensor) => [sensor.name, sensor.online])).toEqual([
      ['sensor-a', true],
      ['sensor-b', false],
    ]);
    expect((await registry.online()).map((sensor) => sensor.name)).toEqual(['sensor-a']);
    expect((await registry.byName('sensor-b'))?.online).toBe(false);
    expect(await registry.byName('nobody')).toBeNull();
  });

  it('goes offline 31 s after a heartbeat, and online again with the next', async () => {
    await registry.register('sensor-a', [lo]);
    now = new Date(now.getTime() + ONLINE_SECONDS * 1000);
    expect((await registry.byName('sensor-a'))?.online).toBe(true);
    now = new Date(now.getTime() + 1000);
    expect((await registry.byName('sensor-a'))?.online).toBe(false);
    expect(await registry.online()).toEqual([]);
    expect(await registry.heartbeat('sensor-a', [eth0, lo])).toBe(true);
    const sensor = await registry.byName('sensor-a');
    expect(sensor).toMatchObject({ online: true, lastSeenAt: now, interfaces: [eth0, lo] });
    expect(sensor?.startedAt.getTime()).toBe(now.getTime() - 31_000);
  });

  it('says when a heartbeat finds no sensor of that name', async () => {
    expect(await registry.heartbeat('nobody', [lo])).toBe(false);
    expect(await count()).toBe('0');
  });

  it('gives views the node resolver tells apart', async () => {
    const view = await registry.register('sensor-a', [lo]);
    expect(isSensorView(view)).toBe(true);
    expect(isSensorView({ id: 'x', sha256: 'y', scanId: 'z' })).toBe(false);
    expect(isSensorView(null)).toBe(false);
  });
});

describe('a running sensor', () => {
  it('registers, heartbeats with its interfaces listed again, and stops', async () => {
    let current = [lo];
    const interfaces = vi.fn(async ({ netns }: { netns?: string }) => {
      expect(netns).toBe('ns-1');
      return current;
    });
    const sensor = await startSensor({ registry, name: 'sensor-a', netns: 'ns-1', logger, intervalMs: 20, interfaces });
    const registered = await registry.byName('sensor-a');
    expect(registered).toMatchObject({ interfaces: [lo], startedAt: now });
    current = [eth0, lo];
    now = new Date(now.getTime() + 5_000);
    await vi.waitFor(async () => expect(await registry.byName('sensor-a')).toMatchObject({ lastSeenAt: now, interfaces: [eth0, lo] }), {
      timeout: 5_000,
    });
    await sensor.stop();
    const calls = interfaces.mock.calls.length;
    now = new Date(now.getTime() + 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(interfaces.mock.calls.length).toBe(calls);
    expect((await registry.byName('sensor-a'))?.lastSeenAt.getTime()).toBe(now.getTime() - 5_000);
  });

  it('logs a failed heartbeat and keeps going, and registers again when its row is gone', async () => {
    const warn = vi.spyOn(logger, 'warn');
    let fail = false;
    const interfaces = async () => {
      if (fail) throw new Error('ip is gone');
      return [lo];
    };
    const sensor = await startSensor({ registry, name: 'sensor-a', logger, intervalMs: 20, interfaces });
    try {
      fail = true;
      await vi.waitFor(() =>
        expect(warn).toHaveBeenCalledWith(expect.objectContaining({ sensor: 'sensor-a' }), 'capture sensor heartbeat failed'),
      );
      await orm.em.fork().getConnection().execute('delete from capture_sensors');
      // The time first: a sensor that registers again at once does so at the new one.
      now = new Date(now.getTime() + 1_000);
      fail = false;
      await vi.waitFor(async () => expect((await registry.byName('sensor-a'))?.startedAt).toEqual(now), { timeout: 5_000 });
    } finally {
      await sensor.stop();
      warn.mockRestore();
    }
  });

  it('does not start when it cannot list its interfaces', async () => {
    await expect(
      startSensor({ registry, name: 'sensor-a', logger, interfaces: () => Promise.reject(new Error('no such namespace')) }),
    ).rejects.toThrow('no such namespace');
    expect(await count()).toBe('0');
  });
});
