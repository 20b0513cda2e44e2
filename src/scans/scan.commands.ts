import { type EntityManager, LockMode } from '@mikro-orm/postgresql';
import type { Viewer } from '../access/viewer.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import type { EventBus, JobQueue } from '../module.ts';
import type { Scope } from '../net/scope.ts';
import { Target, TargetRefusedError } from '../net/target.ts';
import type { Clock } from '../platform/clock.ts';
import type { Resolve } from '../platform/dns.ts';
import type { Logger } from '../platform/logger.ts';
import { currentScope } from '../scope/scope.service.ts';
import { User } from '../users/user.entity.ts';
import { PortSpec } from './port-spec.ts';
import { Scan } from './scan.entity.ts';
import { publishScanUpdated } from './scan.events.ts';
import type { ScanLoaders } from './scan.loaders.ts';
import { assertHostnamesInScope } from './scan-hosts.ts';
import { ScanOptions, type ScanOptionsInput } from './scan-options.ts';
import { isFinished, ScanStatus, ScanType } from './scan-status.ts';

export type ScanLimits = {
  /** Most target entries in one scan. */
  maxTargets: number;
  /** Most addresses all CIDR targets of one scan may expand to. */
  maxHosts: number;
};

export type ScanCommandsDeps = {
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
  /** The request's loaders: the scans a request changes are loaded together, and read again after a change. */
  loaders: ScanLoaders;
};

export type CreateScanInput = {
  targets: readonly string[];
  ports?: string | null;
  scanType?: ScanType | null;
  options?: ScanOptionsInput | null;
  /** Queue it at once. */
  start?: boolean | null;
};

export const DEFAULT_PORTS = '1-1000';

const NOT_FOUND = 'Scan not found.';

/**
 * What changes scans: create, start, cancel, delete. Each checks the viewer
 * may, validates into value objects, applies the entity's rules, persists,
 * audits, then publishes. A scan the viewer may not see is missing to them.
 */
export class ScanCommands {
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
  private readonly loaders: ScanLoaders;

  constructor({ em, viewer, audit, events, jobs, scope, limits, clock, resolve, logger, loaders }: ScanCommandsDeps) {
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
    this.loaders = loaders;
  }

  async create(input: CreateScanInput): Promise<Scan> {
    this.viewer.assert('scan:create');
    // Spelling first, every field, as before any lookup: a malformed request costs no DNS query and no audit entry of scope.
    const parsed = await this.refusalsAudited(async () => parseTargets(input.targets, this.limits));
    const ports = PortSpec.parse(input.ports ?? DEFAULT_PORTS, 'ports');
    const options = ScanOptions.parse(input.options).toJSON();
    const targets = await this.refusalsAudited(() => this.inScope(parsed));
    const owner = this.em.getReference(User, this.viewer.userId);
    const scan = Scan.create({ owner, targets, ports, scanType: input.scanType ?? ScanType.CONNECT, options, now: this.clock.now() });
    await this.em.persist(scan).flush();
    await this.audit.record({
      action: 'SCAN_CREATED',
      target: { type: 'Scan', id: scan.id },
      details: { targets: scan.targets.map(String), ports: scan.ports.toString(), scanType: scan.scanType },
    });
    await publishScanUpdated(this.events, scan);
    return input.start ? this.enqueue(scan) : scan;
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
    this.loaders.byId.clear(scan.id);
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
    this.loaders.forget(id);
    await this.audit.record({ action: 'SCAN_DELETED', target: { type: 'Scan', id: id } });
    return id;
  }

  /** A scan the viewer may change: NOT_FOUND when they may not see it, FORBIDDEN when they only may see it. */
  private async getToChange(id: string): Promise<Scan> {
    this.viewer.assert('scan:write');
    this.viewer.assert('scan:read');
    const scan = await this.loaders.entities.load(id);
    if (!scan) throw new NotFoundError(NOT_FOUND);
    // Also NOT_FOUND for a scan the viewer may not read, as `scan(id)` would have found none.
    this.viewer.assertOn('scan:write', 'scan:read', scan.ownerId, NOT_FOUND);
    return scan;
  }

  /** The targets parsed within the limits, each in the scope as it is now. */
  private async inScope(targets: Target[]): Promise<Target[]> {
    const scope = await currentScope(this.em, this.scope);
    scope.assertAllows(targets, 'targets');
    // Names are checked now so a bad one is refused to whoever typed it; the check at start stays authoritative.
    await assertHostnamesInScope(targets, scope, this.resolve, 'targets');
    return targets;
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

  private async enqueue(scan: Scan): Promise<Scan> {
    await this.em.transactional(async (em) => {
      // Read again under the row lock: of two concurrent starts, the second finds it QUEUED (CONFLICT) and sends no job.
      await em.refresh(scan, { lockMode: LockMode.PESSIMISTIC_WRITE });
      scan.queue(this.clock.now());
    });
    this.loaders.byId.clear(scan.id);
    // Told before the job exists, so the worker's RUNNING can only come after it, whichever bus carries them.
    await publishScanUpdated(this.events, scan);
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
    return scan;
  }
}

/** Distinct targets, within the count and host limits. */
function parseTargets(raw: readonly string[], limits: ScanLimits): Target[] {
  if (raw.length === 0) throw new InvalidInputError('targets', 'Give at least one target.');
  if (raw.length > limits.maxTargets) {
    throw new InvalidInputError('targets', `At most ${limits.maxTargets} targets per scan; got ${raw.length}.`);
  }
  const unique = new Map<string, Target>();
  for (const text of raw) {
    const target = Target.parse(text, 'targets');
    unique.set(target.toString(), target);
  }
  const targets = [...unique.values()];
  const hosts = targets.reduce((sum, target) => sum + (target.hostCount ?? 1n), 0n);
  if (hosts > BigInt(limits.maxHosts)) {
    throw new InvalidInputError('targets', `Targets cover ${hosts} addresses; at most ${limits.maxHosts} per scan.`);
  }
  return targets;
}
