import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../access/viewer.ts';
import { Network } from '../net/network.ts';
import type { Clock } from '../platform/clock.ts';
import { type Connection, type PageArgs, parsePage, toConnection } from '../platform/pagination.ts';
import type { Scan } from './scan.entity.ts';
import type { ScanLoaders } from './scan.loaders.ts';
import { type ScanFilter, type ScanOrder, ScanRepository } from './scan.repository.ts';
import { hostView, type ScanHostView } from './scan-host.entity.ts';
import { type ScanHostFilter, ScanHostRepository } from './scan-host.repository.ts';
import { progressEvent, progressView, type ScanProgressView, type ScanSummaryView, summaryView } from './scan-progress.ts';
import type { ScanResult } from './scan-result.entity.ts';
import { type ResultOwner, type ScanResultFilter, ScanResultRepository } from './scan-result.repository.ts';

export type ScanQueriesDeps = { em: EntityManager; viewer: Viewer; clock: Clock; loaders: ScanLoaders };

export type ListScansInput = PageArgs & { filter?: ScanFilter | null; orderBy?: ScanOrder | null };

const DEFAULT_ORDER: ScanOrder = { field: 'createdAt', direction: 'DESC' };

/**
 * Reads of scans: one scan, pages of scans, and the fields of a scan a
 * client reads (results, hosts, progress, summary). A scan the viewer may
 * not see is missing to them, never FORBIDDEN.
 */
export class ScanQueries {
  private readonly viewer: Viewer;
  private readonly clock: Clock;
  private readonly loaders: ScanLoaders;
  private readonly scanRepository: ScanRepository;
  private readonly resultRepository: ScanResultRepository;
  private readonly hostRepository: ScanHostRepository;

  constructor({ em, viewer, clock, loaders }: ScanQueriesDeps) {
    this.viewer = viewer;
    this.clock = clock;
    this.loaders = loaders;
    this.scanRepository = new ScanRepository(em);
    this.resultRepository = new ScanResultRepository(em);
    this.hostRepository = new ScanHostRepository(em);
  }

  /** The scan, or `null` when there is none or the viewer may not see it. */
  async get(id: string): Promise<Scan | null> {
    this.viewer.assert('scan:read');
    const scan = await this.loaders.byId.load(id);
    return scan && this.viewer.mayAccess('scan:read', scan.ownerId) ? scan : null;
  }

  /** Every scan for ADMIN and VIEWER; an ANALYST's own. */
  list({ filter, orderBy, ...pageArgs }: ListScansInput): Promise<Connection<Scan>> {
    const ownerId = this.viewer.reach('scan:read') === 'own' ? this.viewer.userId : undefined;
    return this.scanRepository.findPage({ ...filter, ownerId }, orderBy ?? DEFAULT_ORDER, parsePage(pageArgs));
  }

  /**
   * A page of the results of a scan, or of one of its hosts. First pages, what
   * lists of scans (or hosts) ask for, are batched across the request into one query.
   */
  async results(
    owner: ResultOwner,
    { filter, ...pageArgs }: PageArgs & { filter?: ScanResultFilter | null },
  ): Promise<Connection<ScanResult>> {
    const page = parsePage(pageArgs);
    if (page.cursor !== undefined || page.direction === 'backward') return this.resultRepository.findPage(owner, filter ?? {}, page);
    const { rows, total } = await this.loaders.firstResults.load({ owner, filter: filter ?? {}, size: page.size });
    return toConnection(
      rows,
      page,
      (row) => [row.id],
      async () => total,
    );
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
}
