import type { Viewer } from '../access/viewer.ts';
import { Network } from '../net/network.ts';
import type { Clock } from '../platform/clock.ts';
import { type Connection, type PageArgs, parsePage, toConnection } from '../platform/pagination.ts';
import type { ScanLoaders } from './scan.loaders.ts';
import type {
  HostView,
  ResultOwner,
  ResultView,
  ScanFilter,
  ScanHostFilter,
  ScanOrder,
  ScanReads,
  ScanResultFilter,
} from './scan.reads.ts';
import type { ScanView } from './scan.view.ts';
import { progressEvent, progressView, type ScanProgressView, type ScanSummaryView, summaryView } from './scan-progress.ts';

export type ScanQueriesDeps = { reads: ScanReads; viewer: Viewer; clock: Clock; loaders: ScanLoaders };

export type ListScansInput = PageArgs & { filter?: ScanFilter | null; orderBy?: ScanOrder | null };

const DEFAULT_ORDER: ScanOrder = { field: 'createdAt', direction: 'DESC' };

/**
 * Reads of scans: one scan, pages of scans, and the fields of a scan a
 * client reads (results, hosts, progress, summary), as read views. A scan the
 * viewer may not see is missing to them, never FORBIDDEN.
 */
export class ScanQueries {
  private readonly reads: ScanReads;
  private readonly viewer: Viewer;
  private readonly clock: Clock;
  private readonly loaders: ScanLoaders;

  constructor({ reads, viewer, clock, loaders }: ScanQueriesDeps) {
    this.reads = reads;
    this.viewer = viewer;
    this.clock = clock;
    this.loaders = loaders;
  }

  /** The scan, or `null` when there is none or the viewer may not see it. */
  async get(id: string): Promise<ScanView | null> {
    this.viewer.assert('scan:read');
    const scan = await this.loaders.byId.load(id);
    return scan && this.viewer.mayAccess('scan:read', scan.ownerId) ? scan : null;
  }

  /** Every scan for ADMIN and VIEWER; an ANALYST's own. */
  list({ filter, orderBy, ...pageArgs }: ListScansInput): Promise<Connection<ScanView>> {
    const ownerId = this.viewer.reach('scan:read') === 'own' ? this.viewer.userId : undefined;
    return this.reads.page({ ...filter, ownerId }, orderBy ?? DEFAULT_ORDER, parsePage(pageArgs));
  }

  /**
   * A page of the results of a scan, or of one of its hosts. First pages, what
   * lists of scans (or hosts) ask for, are batched across the request into one query.
   */
  async results(
    owner: ResultOwner,
    { filter, ...pageArgs }: PageArgs & { filter?: ScanResultFilter | null },
  ): Promise<Connection<ResultView>> {
    const page = parsePage(pageArgs);
    if (page.cursor !== undefined || page.direction === 'backward') return this.reads.results(owner, filter ?? {}, page);
    const { rows, total } = await this.loaders.firstResults.load({ owner, filter: filter ?? {}, size: page.size });
    return toConnection(
      rows,
      page,
      (row) => [row.id],
      async () => total,
    );
  }

  /** A page of the hosts a scan probes. */
  async hosts(scanId: string, { filter, ...pageArgs }: PageArgs & { filter?: ScanHostFilter | null }): Promise<Connection<HostView>> {
    const page = parsePage(pageArgs);
    const where = { ...filter };
    if (filter?.address) where.address = Network.parse(filter.address, 'filter.address').toString();
    return this.reads.hosts(scanId, where, page);
  }

  progress(scan: ScanView): ScanProgressView {
    return progressView(progressEvent(scan, this.clock.now()));
  }

  /** Result counts by state, from the same row as `progress`: the two agree at every read. */
  summary(scan: ScanView): ScanSummaryView {
    return summaryView(scan);
  }
}
