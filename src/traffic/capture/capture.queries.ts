import type { Viewer } from '../../access/viewer.ts';
import { InvalidInputError } from '../../errors.ts';
import { Network } from '../../net/network.ts';
import type { Clock } from '../../platform/clock.ts';
import { type Connection, type PageArgs, parsePage, toConnection } from '../../platform/pagination.ts';
import { type ProtocolCount, rebucket, type Talker, type TrafficBucket } from '../flows/traffic-tally.ts';
import type { SensorRegistry, SensorView } from '../sensors/sensor-registry.ts';
import type { CaptureLoaders } from './capture.loaders.ts';
import type { CaptureFilter, CaptureReads, FlowFilter, FlowOrder } from './capture.reads.ts';
import type { CaptureStats } from './capture.topics.ts';
import { type CaptureView, captureStats, type FlowView } from './capture.view.ts';

/** The most buckets `series` returns: the latest ones. */
export const MAX_SERIES_BUCKETS = 3_600;
const MAX_TALKERS = 100;
const FIRST_SEEN: FlowOrder = { field: 'firstSeen', direction: 'ASC' };

export type CaptureQueriesDeps = { reads: CaptureReads; loaders: CaptureLoaders; viewer: Viewer; clock: Clock; sensors: SensorRegistry };

/** Reads of captures and their flows. A capture the viewer may not see is missing to them, and so are its flows. */
export class CaptureQueries {
  readonly #reads: CaptureReads;
  readonly #loaders: CaptureLoaders;
  readonly #viewer: Viewer;
  readonly #clock: Clock;
  readonly #sensors: SensorRegistry;

  constructor({ reads, loaders, viewer, clock, sensors }: CaptureQueriesDeps) {
    this.#sensors = sensors;
    this.#reads = reads;
    this.#loaders = loaders;
    this.#viewer = viewer;
    this.#clock = clock;
  }

  /** The sensors that registered, by name: everyone signed in may see where captures can run. */
  sensors(): Promise<SensorView[]> {
    this.#viewer.assert('capture:read');
    return this.#sensors.list();
  }

  sensor(name: string): Promise<SensorView | null> {
    this.#viewer.assert('capture:read');
    return this.#sensors.byName(name);
  }

  sensorById(id: string): Promise<SensorView | null> {
    this.#viewer.assert('capture:read');
    return this.#sensors.byId(id);
  }

  async get(id: string): Promise<CaptureView | null> {
    this.#viewer.assert('capture:read');
    const capture = await this.#loaders.byId.load(id);
    return capture && this.#viewer.mayAccess('capture:read', capture.ownerId) ? capture : null;
  }

  /** Captures the viewer may see, newest first: an ANALYST's own, everyone's for ADMIN and VIEWER. */
  page(args: PageArgs, filter: Omit<CaptureFilter, 'ownerId'>): Promise<Connection<CaptureView>> {
    const reach = this.#viewer.reach('capture:read');
    return this.#reads.page({ ...filter, ownerId: reach === 'own' ? this.#viewer.userId : null }, parsePage(args));
  }

  /** The captures of a scan the viewer already sees; first pages are batched across the request. */
  async ofScan(scanId: string, args: PageArgs): Promise<Connection<CaptureView>> {
    this.#viewer.assert('capture:read');
    const page = parsePage(args);
    const reach = this.#viewer.reach('capture:read');
    if (reach === 'own' || page.cursor !== undefined || page.direction === 'backward') {
      return this.#reads.page({ scanId, ownerId: reach === 'own' ? this.#viewer.userId : null }, page);
    }
    const { rows, total } = await this.#loaders.firstOfScan.load({ scanId, size: page.size });
    return toConnection(
      rows,
      page,
      (row) => [row.createdAt.toISOString(), row.id],
      async () => total,
    );
  }

  /** A flow of a capture the viewer may see (for `node`). */
  async flow(id: string): Promise<FlowView | null> {
    this.#viewer.assert('capture:read');
    const flow = await this.#loaders.flowById.load(id);
    return flow && (await this.get(flow.captureId)) ? flow : null;
  }

  /**
   * A page of the flows of a capture the viewer already sees, in the order
   * they were first seen unless `order` says otherwise. `filter.host` is an
   * address or a network.
   */
  flows(capture: CaptureView, args: PageArgs, filter: FlowFilter, order: FlowOrder | null = null): Promise<Connection<FlowView>> {
    const host = filter.host ? Network.parse(filter.host, 'filter.host').toString() : null;
    if (filter.port !== null && filter.port !== undefined && (filter.port < 0 || filter.port > 65_535)) {
      throw new InvalidInputError('filter.port', 'A port is 0 to 65535.');
    }
    return this.#reads.flows(capture.id, { ...filter, host }, order ?? FIRST_SEEN, parsePage(args));
  }

  stats(capture: CaptureView): CaptureStats {
    return captureStats(capture, this.#clock.now());
  }

  async protocols(capture: CaptureView): Promise<ProtocolCount[]> {
    return (await this.#loaders.tally.load(capture.id)).protocols;
  }

  async topTalkers(capture: CaptureView, first: number): Promise<Talker[]> {
    if (!Number.isInteger(first) || first < 0 || first > MAX_TALKERS) throw new InvalidInputError('first', `0 to ${MAX_TALKERS}.`);
    return (await this.#loaders.tally.load(capture.id)).talkers.slice(0, first);
  }

  /** Buckets of `bucketSeconds` of capture time, the latest `MAX_SERIES_BUCKETS` of them. */
  async series(capture: CaptureView, bucketSeconds: number): Promise<TrafficBucket[]> {
    if (!Number.isInteger(bucketSeconds) || bucketSeconds < 1 || bucketSeconds > 86_400) {
      throw new InvalidInputError('bucketSeconds', 'A whole number of seconds, 1 to 86400.');
    }
    return rebucket((await this.#loaders.tally.load(capture.id)).series, bucketSeconds, MAX_SERIES_BUCKETS);
  }
}
