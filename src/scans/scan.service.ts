import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { filter, map, pipe } from 'graphql-yoga';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import type { EventBus } from '../platform/events.ts';
import { type Connection, type PageArgs, parsePage } from '../platform/pagination.ts';
import type { Scope } from '../scope/scope.ts';
import { PortSpec } from './port-spec.ts';
import { Scan } from './scan.entity.ts';
import { type ScanFilter, type ScanOrder, ScanRepository } from './scan.repository.ts';
import { ScanType } from './scan-status.ts';
import { Target } from './target.ts';

export type ScanLimits = {
  /** Most target entries in one scan. */
  maxTargets: number;
  /** Most addresses all CIDR targets of one scan may expand to. */
  maxHosts: number;
};

export type ScanServiceDeps = {
  em: EntityManager;
  events: EventBus;
  scope: Scope;
  limits: ScanLimits;
  clock: Clock;
};

export type CreateScanInput = {
  targets: readonly string[];
  ports?: string | null;
  scanType?: ScanType | null;
};

export type ListScansInput = PageArgs & { filter?: ScanFilter | null; orderBy?: ScanOrder | null };

export const DEFAULT_PORTS = '1-1000';
const DEFAULT_ORDER: ScanOrder = { field: 'createdAt', direction: 'DESC' };

/** Use cases on scan records: validate, apply the rules, persist, then publish. */
export class ScanService {
  private readonly em: EntityManager;
  private readonly events: EventBus;
  private readonly scope: Scope;
  private readonly limits: ScanLimits;
  private readonly clock: Clock;
  private readonly repository: ScanRepository;
  /** Batches every by-ID lookup of one request (`scan`, `node`, aliases) into one query. */
  private readonly byId: DataLoader<string, Scan | null>;

  constructor({ em, events, scope, limits, clock }: ScanServiceDeps) {
    this.em = em;
    this.events = events;
    this.scope = scope;
    this.limits = limits;
    this.clock = clock;
    this.repository = new ScanRepository(em);
    this.byId = new DataLoader(async (ids) => {
      const scans = await this.repository.findByIds(ids);
      const found = new Map(scans.map((scan) => [scan.id, scan]));
      return ids.map((id) => found.get(id) ?? null);
    });
  }

  /** The scan, or `null` when there is none. */
  get(id: string): Promise<Scan | null> {
    return this.byId.load(id);
  }

  list({ filter, orderBy, ...pageArgs }: ListScansInput): Promise<Connection<Scan>> {
    return this.repository.findPage(filter ?? {}, orderBy ?? DEFAULT_ORDER, parsePage(pageArgs));
  }

  async create(input: CreateScanInput): Promise<Scan> {
    const targets = this.parseTargets(input.targets);
    const ports = PortSpec.parse(input.ports ?? DEFAULT_PORTS, 'ports');
    this.scope.assertAllows(targets, 'targets');
    const scan = Scan.create({ targets, ports, scanType: input.scanType ?? ScanType.CONNECT, now: this.clock.now() });
    await this.em.persist(scan).flush();
    await this.publishUpdated(scan);
    return scan;
  }

  async delete(id: string): Promise<string> {
    const scan = await this.get(id);
    if (!scan) throw new NotFoundError(`Scan not found.`);
    await this.em.remove(scan).flush();
    this.byId.clear(id);
    return id;
  }

  /**
   * Scans as they are created or change. Each event is re-read from the
   * database in a fresh context, so subscribers see committed state, never a
   * copy cached for the lifetime of their socket.
   */
  watch(): AsyncIterable<Scan> {
    return pipe(
      this.events.subscribe('scanUpdated'),
      map((event) => this.em.fork().findOne(Scan, { id: event.scanId })),
      filter((scan): scan is Scan => scan !== null),
    );
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

  private publishUpdated(scan: Scan): Promise<void> {
    return Promise.resolve(this.events.publish('scanUpdated', { scanId: scan.id, status: scan.status, at: scan.updatedAt.toISOString() }));
  }
}
