import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Reads } from '../../platform/reads.ts';
import { isUuid } from '../../platform/uuid.ts';
import { CaptureSensor } from './capture-sensor.entity.ts';
import { listInterfaces, type SensorInterface } from './host-interfaces.ts';

/** A sensor is online while its last heartbeat is at most this old. */
export const ONLINE_SECONDS = 30;

/** How often a running sensor says it is alive. */
export const HEARTBEAT_MS = 10_000;

/** A capture sensor as the API shows it: a plain row, with whether it is online now. */
export type SensorView = {
  id: string;
  name: string;
  interfaces: SensorInterface[];
  lastSeenAt: Date;
  startedAt: Date;
  online: boolean;
};

type SensorRow = { id: string; name: string; interfaces: SensorInterface[]; started_at: Date; last_seen_at: Date };

const COLUMNS = 'id, name, interfaces, started_at, last_seen_at';

/** Tells sensors among the other nodes, for `Node.__resolveType`. */
export const isSensorView = (value: unknown): value is SensorView =>
  typeof value === 'object' && value !== null && 'lastSeenAt' in value && 'interfaces' in value && 'online' in value;

export type SensorRegistryOptions = {
  /** A fresh EntityManager per change, e.g. `() => orm.em.fork()`. */
  em: () => EntityManager;
  reads: Reads;
  clock: Clock;
  logger: Logger;
};

/**
 * The sensors in PostgreSQL: workers register and heartbeat through it, the
 * API lists them. Online is a heartbeat within `ONLINE_SECONDS` of the
 * clock's now, so a worker that dies simply goes offline.
 */
export class SensorRegistry {
  readonly #em: () => EntityManager;
  readonly #reads: Reads;
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor({ em, reads, clock, logger }: SensorRegistryOptions) {
    this.#em = em;
    this.#reads = reads;
    this.#clock = clock;
    this.#logger = logger;
  }

  /** Registers `name` as started now: a new row, or the name's row taken over (its id kept) with these interfaces. */
  async register(name: string, interfaces: readonly SensorInterface[]): Promise<SensorView> {
    const now = this.#clock.now();
    const [row] = await this.#em()
      .createQueryBuilder(CaptureSensor)
      .insert({ id: randomUUID(), name, interfaces: [...interfaces], startedAt: now, lastSeenAt: now })
      .onConflict(['name'])
      .merge(['interfaces', 'startedAt', 'lastSeenAt'])
      .returning(['id'])
      .execute<{ id: string }[]>('all', false);
    if (!row) throw new Error(`registering sensor ${name} returned no row`);
    this.#logger.info({ sensor: name, sensorId: row.id, interfaces: interfaces.map((found) => found.name) }, 'registered capture sensor');
    return { id: row.id, name, interfaces: [...interfaces], startedAt: now, lastSeenAt: now, online: true };
  }

  /** Says `name` is alive now, with its interfaces as they are; `false` if it is not registered (any more). */
  async heartbeat(name: string, interfaces: readonly SensorInterface[]): Promise<boolean> {
    const updated = await this.#em()
      .createQueryBuilder(CaptureSensor)
      .update({ interfaces: [...interfaces], lastSeenAt: this.#clock.now() })
      .where({ name })
      .execute('run');
    return updated.affectedRows > 0;
  }

  /** Every sensor, by name. */
  async list(): Promise<SensorView[]> {
    const rows = await this.#reads.rows<SensorRow>({ sql: `select ${COLUMNS} from capture_sensors order by name`, params: [] });
    return this.#views(rows);
  }

  async byName(name: string): Promise<SensorView | null> {
    const rows = await this.#reads.rows<SensorRow>({ sql: `select ${COLUMNS} from capture_sensors where name = ?`, params: [name] });
    return this.#views(rows)[0] ?? null;
  }

  async byId(id: string): Promise<SensorView | null> {
    if (!isUuid(id)) return null;
    const rows = await this.#reads.rows<SensorRow>({ sql: `select ${COLUMNS} from capture_sensors where id = ?::uuid`, params: [id] });
    return this.#views(rows)[0] ?? null;
  }

  /** The sensors online now, by name. */
  async online(): Promise<SensorView[]> {
    const rows = await this.#reads.rows<SensorRow>({
      sql: `select ${COLUMNS} from capture_sensors where last_seen_at >= ? order by name`,
      params: [onlineSince(this.#clock.now())],
    });
    return this.#views(rows);
  }

  #views(rows: readonly SensorRow[]): SensorView[] {
    const since = onlineSince(this.#clock.now()).getTime();
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      interfaces: row.interfaces,
      startedAt: row.started_at,
      lastSeenAt: row.last_seen_at,
      online: row.last_seen_at.getTime() >= since,
    }));
  }
}

const onlineSince = (now: Date) => new Date(now.getTime() - ONLINE_SECONDS * 1000);

export type SensorOptions = {
  registry: SensorRegistry;
  /** `config.traffic.sensorName`. */
  name: string;
  /** `config.traffic.sensorNetns`: the namespace whose interfaces are the sensor's. */
  netns?: string | undefined;
  logger: Logger;
  /** @default HEARTBEAT_MS */
  intervalMs?: number;
  /** What it lists its interfaces with. @default listInterfaces */
  interfaces?: (options: { netns?: string }) => Promise<SensorInterface[]>;
};

export type RunningSensor = {
  /** Stops the heartbeats, after the one under way if any. */
  stop(): Promise<void>;
};

/**
 * Runs this worker as a sensor: registers it (a failure, like a namespace
 * that does not exist, is thrown, so the worker does not start as a sensor
 * it is not), then heartbeats every `intervalMs` with its interfaces listed
 * again. A failed heartbeat is logged and the next one tries again; one that
 * finds the row gone registers anew. The timer never keeps the process alive.
 */
export async function startSensor({
  registry,
  name,
  netns,
  logger,
  intervalMs = HEARTBEAT_MS,
  interfaces = listInterfaces,
}: SensorOptions): Promise<RunningSensor> {
  const list = () => interfaces(netns === undefined ? {} : { netns });
  await registry.register(name, await list());
  let stopped = false;
  let beating: Promise<void> | undefined;
  const beat = async () => {
    try {
      const found = await list();
      if (stopped) return;
      if (!(await registry.heartbeat(name, found))) await registry.register(name, found);
    } catch (error) {
      logger.warn({ err: error, sensor: name }, 'capture sensor heartbeat failed');
    }
  };
  const timer = setInterval(() => {
    // One at a time: a slow database skips beats rather than piling them up.
    if (beating || stopped) return;
    beating = beat().finally(() => {
      beating = undefined;
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await beating;
    },
  };
}
