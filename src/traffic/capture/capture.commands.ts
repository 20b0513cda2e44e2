import { type EntityManager, LockMode } from '@mikro-orm/postgresql';
import type { Viewer } from '../../access/viewer.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Config } from '../../config.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../../errors.ts';
import { Evidence } from '../../evidence/evidence.entity.ts';
import type { EvidenceReads } from '../../evidence/evidence.reads.ts';
import type { EventBus, JobQueue } from '../../module.ts';
import type { Scope } from '../../net/scope.ts';
import type { Clock } from '../../platform/clock.ts';
import { Scan } from '../../scans/scan.entity.ts';
import type { ScanReads } from '../../scans/scan.reads.ts';
import { currentScope } from '../../scope/scope.service.ts';
import { User } from '../../users/user.entity.ts';
import { MAX_RECORD_BYTES } from '../decode/capture-reader.ts';
import type { SensorRegistry } from '../sensors/sensor-registry.ts';
import { filterProblem, MAX_FILTER_LENGTH } from '../source/tcpdump-source.ts';
import { Capture } from './capture.entity.ts';
import { publishCaptureUpdated } from './capture.events.ts';
import type { CaptureLoaders } from './capture.loaders.ts';
import type { CaptureView } from './capture.view.ts';
import { CaptureStatus, isEnded } from './capture-status.ts';

export type StartCaptureInput = {
  sensor?: string | null;
  interface?: string | null;
  evidenceId?: string | null;
  scanId?: string | null;
  filter?: string | null;
  snapLength?: number | null;
  maxPackets?: number | null;
  maxSeconds?: number | null;
  maxBytes?: number | null;
  speed?: number | null;
  saveEvidence?: boolean | null;
  waitForSubscribers?: number | null;
};

export type CaptureCommandsDeps = {
  em: EntityManager;
  viewer: Viewer;
  audit: AuditLog;
  events: EventBus;
  jobs: JobQueue;
  /** The configured baseline; networks admins added are read from the database. */
  scope: Scope;
  limits: Config['traffic'];
  clock: Clock;
  loaders: CaptureLoaders;
  scans: ScanReads;
  evidence: EvidenceReads;
  sensors: SensorRegistry;
};

const NOT_FOUND = 'No capture with this ID.';
const CAPTURE_TYPES = new Set(['application/vnd.tcpdump.pcap', 'application/x-pcapng']);
/** How long `stopCapture` waits for the worker to end a running capture before it answers with the capture as it is. */
const STOP_WAIT_MS = 1_500;
const MAX_WAIT_FOR_SUBSCRIBERS = 1_000;

/** The queue of live captures of the sensor `name`: only that sensor's worker takes them. */
export const liveQueueOf = (sensor: string) => `capture.live.${sensor}` as const;
export const REPLAY_QUEUE = 'capture.replay';

/**
 * What starts and stops captures. Starting checks the viewer may, the input,
 * the scan, the evidence and the sensor, then queues the capture for its
 * sensor (live) or any worker (a replay). A capture the viewer may not see is
 * missing to them.
 */
export class CaptureCommands {
  readonly #deps: CaptureCommandsDeps;

  constructor(deps: CaptureCommandsDeps) {
    this.#deps = deps;
  }

  async start(input: StartCaptureInput): Promise<CaptureView> {
    const { viewer, em, audit, events, jobs, clock, limits } = this.#deps;
    viewer.assert('capture:create');
    const live = Boolean(input.interface);
    if (live === Boolean(input.evidenceId)) {
      throw new InvalidInputError('input', 'Give exactly one of `interface` (a live capture) and `evidenceId` (a recorded one).');
    }
    const scan = input.scanId ? await this.#scan(input.scanId) : null;
    if (input.saveEvidence && !scan)
      throw new InvalidInputError('saveEvidence', 'Saving the capture as evidence needs a `scanId`: evidence belongs to a scan.');
    if (input.saveEvidence && !live) throw new InvalidInputError('saveEvidence', 'A recorded capture is evidence already.');
    const settings = {
      snapLength: bounded('snapLength', input.snapLength, MAX_RECORD_BYTES, MAX_RECORD_BYTES),
      maxPackets: bounded('maxPackets', input.maxPackets, limits.maxPackets, limits.maxPackets),
      maxSeconds: bounded('maxSeconds', input.maxSeconds, limits.maxSeconds, limits.maxSeconds),
      maxBytes: bounded('maxBytes', input.maxBytes, limits.maxBytes, limits.maxBytes),
      speed: this.#speed(input.speed, live),
    };
    const filter = input.filter?.trim() || null;
    if (filter && live) await this.#checkFilter(filter);
    const source = live
      ? await this.#liveSource(input.sensor ?? null, input.interface as string, filter)
      : await this.#recordedSource(input);
    const capture = Capture.create({
      owner: em.getReference(User, viewer.userId),
      scan: scan ? em.getReference(Scan, scan.id) : null,
      ...source,
      filter,
      ...settings,
      saveEvidence: Boolean(input.saveEvidence),
      waitForSubscribers: this.#waitFor(input.waitForSubscribers),
      now: clock.now(),
    });
    await em.persist(capture).flush();
    await audit.record({
      action: 'CAPTURE_STARTED',
      target: { type: 'Capture', id: capture.id },
      details: live ? { sensor: source.sensor, interface: source.interface, filter } : { evidenceId: input.evidenceId, filter },
    });
    const view = await this.#view(capture.id);
    await publishCaptureUpdated(events, view);
    await jobs.send(live ? liveQueueOf(source.sensor as string) : REPLAY_QUEUE, { captureId: capture.id });
    return view;
  }

  /**
   * Stops a capture: one still queued ends STOPPED at once; a running one is
   * asked to stop, which its worker does within a second (the answer waits for
   * it a moment). An ended capture stays as it ended.
   */
  async stop(id: string): Promise<CaptureView> {
    const { viewer, em, audit, events, clock, loaders } = this.#deps;
    viewer.assert('capture:write');
    const found = await loaders.byId.load(id);
    if (!found) throw new NotFoundError(NOT_FOUND);
    viewer.assertOn('capture:write', 'capture:read', found.ownerId, NOT_FOUND);
    if (isEnded(found.status)) throw new ConflictError(`The capture has ended already (${found.status}).`);
    const stopped = await em.transactional(async (tx) => {
      const capture = await tx.findOne(Capture, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!capture || isEnded(capture.status)) return null;
      const now = clock.now();
      capture.stopRequestedAt = now;
      if (capture.status === CaptureStatus.QUEUED) capture.end(CaptureStatus.STOPPED, now);
      return capture.status;
    });
    if (stopped === null) return this.#view(id);
    await audit.record({ action: 'CAPTURE_STOPPED', target: { type: 'Capture', id } });
    loaders.byId.clear(id);
    if (stopped === CaptureStatus.STOPPED) {
      const view = await this.#view(id);
      await publishCaptureUpdated(events, view);
      return view;
    }
    return this.#waitForEnd(id);
  }

  async #waitForEnd(id: string): Promise<CaptureView> {
    const deadline = Date.now() + STOP_WAIT_MS;
    for (;;) {
      this.#deps.loaders.byId.clear(id);
      const view = await this.#view(id);
      if (isEnded(view.status) || Date.now() >= deadline) return view;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async #view(id: string): Promise<CaptureView> {
    this.#deps.loaders.byId.clear(id);
    const view = await this.#deps.loaders.byId.load(id);
    if (!view) throw new NotFoundError(NOT_FOUND);
    return view;
  }

  /** A scan the viewer may change: captures attach to it as evidence does. */
  async #scan(scanId: string) {
    const [scan] = await this.#deps.scans.byIds([scanId]);
    const notFound = 'No scan with this ID.';
    if (!scan) throw new NotFoundError(notFound);
    this.#deps.viewer.assertOn('scan:write', 'scan:read', scan.ownerId, notFound);
    return scan;
  }

  #waitFor(count: number | null | undefined): number {
    if (count === null || count === undefined) return 0;
    if (!Number.isInteger(count) || count < 0 || count > MAX_WAIT_FOR_SUBSCRIBERS) {
      throw new InvalidInputError('waitForSubscribers', `0 to ${MAX_WAIT_FOR_SUBSCRIBERS}.`);
    }
    return count;
  }

  #speed(speed: number | null | undefined, live: boolean): number {
    if (speed === null || speed === undefined) return 0;
    if (live && speed !== 0) throw new InvalidInputError('speed', 'A live capture has no speed: it runs as the traffic comes.');
    if (!Number.isFinite(speed) || speed < 0 || speed > 1_000) {
      throw new InvalidInputError('speed', '0 (as fast as it goes) or a factor of the recorded speed up to 1000.');
    }
    return speed;
  }

  async #checkFilter(filter: string): Promise<void> {
    if (filter.length > MAX_FILTER_LENGTH) throw new InvalidInputError('filter', `At most ${MAX_FILTER_LENGTH} characters.`);
    const problem = await filterProblem(filter, [this.#deps.limits.tcpdumpPath]);
    if (problem) throw new InvalidInputError('filter', `The filter does not compile: ${problem}`);
  }

  /** The sensor (the only one online when not named) and its interface; an ANALYST's filter kept to their allowed networks. */
  async #liveSource(name: string | null, iface: string, filter: string | null) {
    const { sensors, viewer, em, scope } = this.#deps;
    let sensor = name ? await sensors.byName(name) : null;
    if (name && !sensor) throw new InvalidInputError('sensor', `No sensor is named "${name}".`);
    if (!name) {
      const online = await sensors.online();
      if (online.length === 0) throw new InvalidInputError('sensor', 'No sensor is online: start a worker (`npm run worker`).');
      if (online.length > 1) {
        throw new InvalidInputError('sensor', `Several sensors are online (${online.map((s) => s.name).join(', ')}): say which.`);
      }
      sensor = online[0] ?? null;
    }
    if (!sensor) throw new InvalidInputError('sensor', 'No sensor is online.');
    if (!sensor.online)
      throw new InvalidInputError('sensor', `Sensor "${sensor.name}" is offline (last seen ${sensor.lastSeenAt.toISOString()}).`);
    if (!sensor.interfaces.some((known) => known.name === iface)) {
      const names = sensor.interfaces.map((known) => known.name).join(', ') || 'none';
      throw new InvalidInputError('interface', `Sensor "${sensor.name}" has no interface "${iface}" (it has: ${names}).`);
    }
    let effectiveFilter = filter;
    // An ADMIN sees everything on the interface; anyone else only traffic that involves networks they may scan.
    if (viewer.identity.role !== 'ADMIN') {
      const networks = (await currentScope(em, scope)).networks.map((network) => `net ${network}`).join(' or ');
      effectiveFilter = networks ? (filter ? `(${filter}) and (${networks})` : networks) : 'less 0';
    }
    return { sensor: sensor.name, interface: iface, sourceEvidence: null, effectiveFilter };
  }

  /** A pcap or pcapng evidence file the viewer may see. */
  async #recordedSource(input: StartCaptureInput) {
    const [owned] = await this.#deps.evidence.byIds([input.evidenceId as string]);
    if (!owned || !this.#deps.viewer.mayAccess('evidence:read', owned.scanOwnerId)) throw new NotFoundError('No evidence with this ID.');
    const { evidence } = owned;
    if (!CAPTURE_TYPES.has(evidence.contentType)) {
      throw new InvalidInputError('evidenceId', `Only a pcap or pcapng file can be replayed; this one is ${evidence.contentType}.`);
    }
    if (input.sensor) throw new InvalidInputError('sensor', 'A recorded capture runs on any worker; it takes no sensor.');
    if (input.filter?.trim())
      throw new InvalidInputError('filter', 'A recorded capture is replayed whole: filter its `trafficEvents` or flows instead.');
    return { sensor: null, interface: null, sourceEvidence: this.#deps.em.getReference(Evidence, evidence.id), effectiveFilter: null };
  }
}

/** An optional positive limit: its default, or what was asked up to `ceiling`. */
function bounded(field: string, value: number | null | undefined, fallback: number, ceiling: number): number {
  if (value === null || value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(field, 'A whole number of at least 1.');
  if (value > ceiling) throw new InvalidInputError(field, `At most ${ceiling} (the configured ceiling).`);
  return value;
}
