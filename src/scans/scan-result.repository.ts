import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { findPageById } from '../platform/keyset.ts';
import type { Connection, Page } from '../platform/pagination.ts';
import type { PortState, ProbeResult, Protocol } from './engine/scanner.ts';
import { ScanResult } from './scan-result.entity.ts';

export type ScanResultFilter = { state?: readonly PortState[] | null; protocol?: readonly Protocol[] | null };

/** Whose results: a whole scan's, or one host's of it. */
export type ResultOwner = { scanId: string; address?: string };

/** A result as written: what an event about it carries. */
export type StoredResult = {
  address: string;
  port: number;
  protocol: Protocol;
  state: PortState;
  banner: string | null;
  service: string | null;
  version: string | null;
};

/** Named queries on scan results. */
export class ScanResultRepository {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  /**
   * One multi-row upsert per batch: a retried job rewrites rows, never
   * duplicates them. Returns the rows that are new or changed, so a retry does
   * not announce a port twice.
   */
  async upsert(scanId: string, batch: readonly ProbeResult[], now: Date): Promise<StoredResult[]> {
    if (batch.length === 0) return [];
    return this.em.createQueryBuilder(ScanResult)
      .insert(batch.map((result) => ({
        scan: scanId,
        address: result.address,
        protocol: result.protocol,
        port: result.port,
        state: result.state,
        banner: result.banner ?? null,
        service: result.service ?? null,
        version: result.version ?? null,
        foundAt: now,
      })))
      .onConflict(['scan', 'address', 'protocol', 'port'])
      .merge(['state', 'banner', 'service', 'version', 'foundAt'])
      .where('(scan_results.state, scan_results.banner, scan_results.version) is distinct from (excluded.state, excluded.banner, excluded.version)')
      .returning(['address', 'port', 'protocol', 'state', 'banner', 'service', 'version'])
      .execute<StoredResult[]>('all', false);
  }

  /** OPEN results of a scan after `afterId`, oldest first: what a late subscriber catches up on. */
  openAfter(scanId: string, afterId: string, limit: number): Promise<ScanResult[]> {
    return this.em.find(ScanResult, { scan: scanId, state: 'OPEN', id: { $gt: afterId } }, { orderBy: { id: 'asc' }, limit });
  }

  async counts(scanId: string): Promise<{ probed: number; open: number }> {
    const [probed, open] = await Promise.all([
      this.em.count(ScanResult, { scan: scanId }),
      this.em.count(ScanResult, { scan: scanId, state: 'OPEN' }),
    ]);
    return { probed, open };
  }

  /**
   * The first page of results of many scans (or hosts) in one query, a window
   * per owner, with each owner's total: what a dashboard listing scans with
   * their first open ports needs, at a cost that does not grow with the list.
   * Owners of one call are all scans or all hosts; keys are `ownerKey`.
   */
  async firstPages(owners: readonly ResultOwner[], filter: ScanResultFilter, size: number): Promise<Map<string, { rows: ScanResult[]; total: number }>> {
    const byHost = owners.some((owner) => owner.address !== undefined);
    const params: unknown[] = [];
    let conditions: string;
    if (byHost) {
      conditions = `(scan_id, address) in (${owners.map(() => '(?, ?)').join(', ')})`;
      for (const owner of owners) params.push(owner.scanId, owner.address ?? '');
    } else {
      conditions = 'scan_id in (?)';
      params.push(owners.map((owner) => owner.scanId));
    }
    if (filter.state?.length) {
      conditions += ' and state in (?)';
      params.push([...filter.state]);
    }
    if (filter.protocol?.length) {
      conditions += ' and protocol in (?)';
      params.push([...filter.protocol]);
    }
    params.push(size + 1);
    const partition = byHost ? 'scan_id, address' : 'scan_id';
    const rows = await this.em.getConnection().execute<(Record<string, unknown> & { total: string })[]>(
      `select * from (
         select r.*, row_number() over (partition by ${partition} order by id) as position, count(*) over (partition by ${partition}) as total
         from scan_results r where ${conditions}
       ) ranked where position <= ? order by ${partition}, id`,
      params,
    );
    const pages = new Map<string, { rows: ScanResult[]; total: number }>(owners.map((owner) => [ownerKey(owner), { rows: [], total: 0 }]));
    for (const row of rows) {
      const page = pages.get(ownerKey({ scanId: String(row.scan_id), address: byHost ? String(row.address) : undefined }));
      if (!page) continue;
      page.total = Number(row.total);
      page.rows.push(this.em.map(ScanResult, row));
    }
    return pages;
  }

  /** Result counts by state for many scans, in one query. */
  async summaries(scanIds: readonly string[]): Promise<Map<string, Record<PortState, number>>> {
    const rows = await this.em.getConnection().execute<{ scan_id: string; state: PortState; count: string }[]>(
      'select scan_id, state, count(*) as count from scan_results where scan_id in (?) group by scan_id, state',
      [[...scanIds]],
    );
    const summaries = new Map(scanIds.map((id) => [id, { OPEN: 0, CLOSED: 0, FILTERED: 0 }]));
    for (const row of rows) {
      const summary = summaries.get(row.scan_id);
      if (summary) summary[row.state] = Number(row.count);
    }
    return summaries;
  }

  /** Results of a scan (or one host of it) in the order found, keyset-paged by id. */
  findPage(owner: ResultOwner, filter: ScanResultFilter, page: Page): Promise<Connection<ScanResult>> {
    return findPageById(this.em, ScanResult, () => this.where(owner, filter), page);
  }

  private where({ scanId, address }: ResultOwner, filter: ScanResultFilter): FilterQuery<ScanResult> {
    const where: FilterQuery<ScanResult> & Record<string, unknown> = { scan: scanId };
    if (address !== undefined) where.address = address;
    if (filter.state?.length) where.state = { $in: [...filter.state] };
    if (filter.protocol?.length) where.protocol = { $in: [...filter.protocol] };
    return where;
  }
}

/** `scanId`, or `scanId address` for a host's results. */
export const ownerKey = ({ scanId, address }: ResultOwner) => (address === undefined ? scanId : `${scanId} ${address}`);
