import { type EntityManager, LockMode } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import type { Resolve } from '../platform/dns.ts';
import type { EventBus } from '../module.ts';
import { byIdLoader } from '../platform/loaders.ts';
import type { JobQueue } from '../module.ts';
import type { Logger } from '../platform/logger.ts';
import { type Connection, type PageArgs, parsePage, toConnection } from '../platform/pagination.ts';
import type { Scope } from '../net/scope.ts';
import { currentScope } from '../scope/scope.service.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { User } from '../users/user.entity.ts';
import type { Viewer } from '../access/viewer.ts';
import { PortSpec } from './port-spec.ts';
import { Scan } from './scan.entity.ts';
import { publishScanUpdated } from './scan.events.ts';
import { type ScanFilter, type ScanOrder, ScanRepository } from './scan.repository.ts';
import { isFinished, ScanStatus, ScanType } from './scan-status.ts';
import type { ScanResult } from './scan-result.entity.ts';
import { ownerKey, type ResultOwner, type ScanResultFilter, ScanResultRepository } from './scan-result.repository.ts';
import { hostView, type ScanHostView } from './scan-host.entity.ts';
import { type ScanHostFilter, ScanHostRepository } from './scan-host.repository.ts';
import { Network } from '../net/network.ts';
import { ScanOptions, type ScanOptionsInput } from './scan-options.ts';
import { progressEvent, progressView, type ScanProgressView, type ScanSummaryView, summaryView } from './scan-progress.ts';
import { assertHostnamesInScope } from './scan-hosts.ts';
import { Target, TargetRefusedError } from '../net/target.ts';

export type ScanLimits = {
  /** Most target entries in one scan. */
  maxTargets: number;
  /** Most addresses all CIDR targets of one scan may expand to. */
  maxHosts: number;
};

export type ScanServiceDeps = {
  em: EntityManager;
  viewer: Viewer;
  audit: AuditLog;
  events: EventBus;
  jobs: JobQueue;
  /** The configured baseline; networks admins added are read from the database. */
  scope: Scope;
  limits: ScanLimits;
  clock: Clock;
  /** Hostname lookups for the check at creation, bounded in time. */
  resolve: Resolve;
  /** The request's logger (its lines carry the request id). */
  logger: Logger;
};

export type CreateScanInput = {
  targets: readonly string[];
  ports?: string | null;
  scanType?: ScanType | null;
  options?: ScanOptionsInput | null;
  /** Queue it at once. */
  start?: boolean | null;
};

export type ListScansInput = PageArgs & { filter?: ScanFilter | null; orderBy?: ScanOrder | null };

export const DEFAULT_PORTS = '1-1000';
const DEFAULT_ORDER: ScanOrder = { field: 'createdAt', direction: 'DESC' };

const NOT_FOUND = 'Scan not found.';

/**
 * Use cases on scan records: check the viewer may, validate, apply the rules,
 * persist, then publish. A scan the viewer may not see is missing to them.
 */
export class ScanService {
  private readonly em: EntityManager;
  private readonly viewer: Viewer;
  private readonly audit: AuditLog;
  private readonly events: EventBus;
  private readonly jobs: JobQueue;
  private readonly scope: Scope;
  private readonly limits: ScanLimits;
  private readonly clock: Clock;
  private readonly resolve: Resolve;
  private readonly logger: Logger;
  private readonly repository: ScanRepository;
  private readonly resultRepository: ScanResultRepository;
  /** Batches every by-ID lookup of one request (`scan`, `node`, aliases) into one query. */
  private readonly byId: DataLoader<string, Scan | null>;
  private readonly hostRepository: ScanHostRepository;
  private readonly firstResults: DataLoader<FirstResultsKey, { rows: ScanResult[]; total: number }, string>;

  constructor({ em, viewer, audit, events, jobs, scope, limits, clock, resolve, logger }: ScanServiceDeps) {
    this.em = em;
    this.viewer = viewer;
    this.audit = audit;
    this.events = events;
    this.jobs = jobs;
    this.scope = scope;
    this.limits = limits;
    this.clock = clock;
    this.resolve = resolve;
    this.logger = logger;
    this.repository = new ScanRepository(em);
    this.byId = byIdLoader(em, Scan);
    this.resultRepository = new ScanResultRepository(em);
    this.hostRepository = new ScanHostRepository(em);
    this.firstResults = new DataLoader(async (keys) => {
      // One query per distinct filter and size: a dashboard asks the same of every scan.
      const groups = Map.groupBy(keys, (key) => resultsShape(key));
      const pages = new Map<string, { rows: ScanResult[]; total: number }>();
      for (const group of groups.values()) {
        const [{ filter, size }] = group as [FirstResultsKey];
        const found = await this.resultRepository.firstPages(group.map((key) => key.owner), filter, size);
        for (const key of group) pages.set(resultsKey(key), found.get(ownerKey(key.owner)) ?? { rows: [], total: 0 });
      }
      return keys.map((key) => pages.get(resultsKey(key)) ?? { rows: [], total: 0 });
    }, { cacheKeyFn: resultsKey });
  }

  /** The scan, or `null` when there is none or the viewer may not see it. */
  async get(id: string): Promise<Scan | null> {
    this.viewer.assert('scan:read');
    const scan = await this.byId.load(id);
    return scan && this.viewer.mayAccess('scan:read', scan.ownerId) ? scan : null;
  }

  /** Every scan for ADMIN and VIEWER; an ANALYST's own. */
  list({ filter, orderBy, ...pageArgs }: ListScansInput): Promise<Connection<Scan>> {
    const ownerId = this.viewer.reach('scan:read') === 'own' ? this.viewer.userId : undefined;
    return this.repository.findPage({ ...filter, ownerId }, orderBy ?? DEFAULT_ORDER, parsePage(pageArgs));
  }

  async create(input: CreateScanInput): Promise<Scan> {
    this.viewer.assert('scan:create');
    const targets = await this.refusalsAudited(async () => {
      const parsed = this.parseTargets(input.targets);
      const scope = await currentScope(this.em, this.scope);
      scope.assertAllows(parsed, 'targets');
      // Names are checked now so a bad one is refused to whoever typed it; the check at start stays authoritative.
      await assertHostnamesInScope(parsed, scope, this.resolve, 'targets');
      return parsed;
    });
    const ports = PortSpec.parse(input.ports ?? DEFAULT_PORTS, 'ports');
    const options = ScanOptions.parse(input.options).toJSON();
    const owner = this.em.getReference(User, this.viewer.userId);
    const scan = Scan.create({ owner, targets, ports, scanType: input.scanType ?? ScanType.CONNECT, options, now: this.clock.now() });
    await this.em.persist(scan).flush();
    await this.audit.record({ action: 'SCAN_CREATED', target: { type: 'Scan', id: scan.id }, details: { targets: scan.targets.map(String), ports: scan.ports.toString(), scanType: scan.scanType } });
    await publishScanUpdated(this.events, scan);
    return input.start ? this.enqueue(scan) : scan;
  }

  /** Runs the target checks; a target refused for where it leads is written to the audit log and the log. */
  private async refusalsAudited<T>(check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (error) {
      if (!(error instanceof TargetRefusedError)) throw error;
      const details = { target: error.target, reason: error.reason, stage: 'CREATE' };
      this.logger.warn(details, 'scan target refused');
      await this.audit.record({ action: 'SCAN_REFUSED', details });
      throw error;
    }
  }

  /** PENDING → QUEUED, and a job for a worker. CONFLICT in any other state. */
  async start(id: string): Promise<Scan> {
    return this.enqueue(await this.getToChange(id));
  }

  /** Stops a scan that has not ended; a worker running it stops within a second. CONFLICT once it has ended. */
  async cancel(id: string): Promise<Scan> {
    const scan = await this.getToChange(id);
    await this.em.transactional(async (em) => {
      // Read again under the row lock a worker takes to write each batch: these counts are final, no batch comes after.
      await em.refresh(scan, { lockMode: LockMode.PESSIMISTIC_WRITE });
      scan.cancel(this.clock.now());
    });
    await this.audit.record({ action: 'SCAN_CANCELLED', target: { type: 'Scan', id: scan.id } });
    this.logger.info({ scanId: scan.id, probesDone: scan.probesDone, probesTotal: scan.probesTotal }, 'scan cancelled');
    await publishScanUpdated(this.events, scan);
    return scan;
  }

  /** A scan the viewer may change: NOT_FOUND when they may not see it, FORBIDDEN when they only may see it. */
  private async getToChange(id: string): Promise<Scan> {
    this.viewer.assert('scan:write');
    const scan = await this.get(id);
    if (!scan) throw new NotFoundError(NOT_FOUND);
    this.viewer.assertOn('scan:write', 'scan:read', scan.ownerId, NOT_FOUND);
    return scan;
  }

  /**
   * A page of the results of a scan, or of one of its hosts. First pages, what
   * lists of scans (or hosts) ask for, are batched across the request into one query.
   */
  async results(owner: ResultOwner, { filter, ...pageArgs }: PageArgs & { filter?: ScanResultFilter | null }): Promise<Connection<ScanResult>> {
    const page = parsePage(pageArgs);
    if (page.cursor !== undefined || page.direction === 'backward') return this.resultRepository.findPage(owner, filter ?? {}, page);
    const { rows, total } = await this.firstResults.load({ owner, filter: filter ?? {}, size: page.size });
    return toConnection(rows, page, (row) => [row.id], async () => total);
  }

  /** A page of the hosts a scan probes. */
  async hosts(scanId: string, { filter, ...pageArgs }: PageArgs & { filter?: ScanHostFilter | null }): Promise<Connection<ScanHostView>> {
    const page = parsePage(pageArgs);
    const where = { ...filter };
    if (filter?.address) where.address = Network.parse(filter.address, 'filter.address').toString();
    const found = await this.hostRepository.findPage(scanId, where, page);
    return { ...found, edges: found.edges.map((edge) => ({ ...edge, node: hostView(edge.node) })) };
  }

  progress(scan: Scan): ScanProgressView {
    return progressView(progressEvent(scan, this.clock.now()));
  }

  /** Result counts by state, from the same row as `progress`: the two agree at every read. */
  summary(scan: Scan): ScanSummaryView {
    return summaryView(scan);
  }

  private async enqueue(scan: Scan): Promise<Scan> {
    scan.queue(this.clock.now());
    await this.em.flush();
    try {
      await this.jobs.send('scan.run', { scanId: scan.id });
    } catch (error) {
      // Without its job the scan would wait forever: end it, and say why.
      scan.fail(this.clock.now(), 'Could not queue the scan.');
      await this.em.flush();
      await publishScanUpdated(this.events, scan);
      throw error;
    }
    await this.audit.record({ action: 'SCAN_STARTED', target: { type: 'Scan', id: scan.id } });
    this.logger.info({ scanId: scan.id, scanType: scan.scanType }, 'scan queued');
    await publishScanUpdated(this.events, scan);
    return scan;
  }

  /**
   * Deletes a scan and its results; one queued or running is cancelled first,
   * so its worker stops. A PENDING one has no worker: it is only deleted.
   */
  async delete(id: string): Promise<string> {
    const scan = await this.getToChange(id);
    if (scan.status !== ScanStatus.PENDING && !isFinished(scan.status)) await this.cancel(id);
    await this.em.remove(scan).flush();
    this.byId.clear(id);
    await this.audit.record({ action: 'SCAN_DELETED', target: { type: 'Scan', id: id } });
    return id;
  }

  private parseTargets(raw: readonly string[]): Target[] {
    if (raw.length === 0) throw new InvalidInputError('targets', 'Give at least one target.');
    if (raw.length > this.limits.maxTargets) {
      throw new InvalidInputError('targets', `At most ${this.limits.maxTargets} targets per scan; got ${raw.length}.`);
    }
    const unique = new Map<string, Target>();
    for (const text of raw) {
      const target = Target.parse(text, 'targets');
      unique.set(target.toString(), target);
    }
    const targets = [...unique.values()];
    const hosts = targets.reduce((sum, target) => sum + (target.hostCount ?? 1n), 0n);
    if (hosts > BigInt(this.limits.maxHosts)) {
      throw new InvalidInputError('targets', `Targets cover ${hosts} addresses; at most ${this.limits.maxHosts} per scan.`);
    }
    return targets;
  }
}

type FirstResultsKey = { owner: ResultOwner; filter: ScanResultFilter; size: number };
/** Keys of one shape are loaded in one query: same filter, same size, all scans or all hosts. */
const resultsShape = ({ owner, filter, size }: FirstResultsKey) =>
  JSON.stringify([owner.address === undefined, filter.state ?? null, filter.protocol ?? null, size]);
const resultsKey = (key: FirstResultsKey) => `${ownerKey(key.owner)}:${resultsShape(key)}`;
