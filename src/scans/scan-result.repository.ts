import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { InvalidInputError } from '../errors.ts';
import { type Connection, type Page, toConnection } from '../platform/pagination.ts';
import type { PortState, ProbeResult, Protocol } from './engine/scanner.ts';
import { ScanResult } from './scan-result.entity.ts';

export type ScanResultFilter = { state?: readonly PortState[] | null; protocol?: readonly Protocol[] | null };

/** Named queries on scan results. */
export class ScanResultRepository {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  /** One multi-row upsert per batch: a retried job rewrites rows, never duplicates them. */
  async upsert(scanId: string, batch: readonly ProbeResult[], now: Date): Promise<void> {
    if (batch.length === 0) return;
    await this.em.createQueryBuilder(ScanResult)
      .insert(batch.map((result) => ({
        scan: scanId,
        address: result.address,
        protocol: result.protocol,
        port: result.port,
        state: result.state,
        banner: result.banner ?? null,
        foundAt: now,
      })))
      .onConflict(['scan', 'address', 'protocol', 'port'])
      .merge(['state', 'banner', 'foundAt'])
      .execute();
  }

  async counts(scanId: string): Promise<{ probed: number; open: number }> {
    const [probed, open] = await Promise.all([
      this.em.count(ScanResult, { scan: scanId }),
      this.em.count(ScanResult, { scan: scanId, state: 'OPEN' }),
    ]);
    return { probed, open };
  }

  /**
   * The first page of results of many scans in one query (a window per scan),
   * with each scan's total: what a dashboard listing scans with their first
   * open ports needs, at a cost that does not grow with the number of scans.
   */
  async firstPages(scanIds: readonly string[], filter: ScanResultFilter, size: number): Promise<Map<string, { rows: ScanResult[]; total: number }>> {
    const params: unknown[] = [[...scanIds]];
    let conditions = 'scan_id in (?)';
    if (filter.state?.length) {
      conditions += ' and state in (?)';
      params.push([...filter.state]);
    }
    if (filter.protocol?.length) {
      conditions += ' and protocol in (?)';
      params.push([...filter.protocol]);
    }
    params.push(size + 1);
    const rows = await this.em.getConnection().execute<(Record<string, unknown> & { total: string })[]>(
      `select * from (
         select r.*, row_number() over (partition by scan_id order by id) as position, count(*) over (partition by scan_id) as total
         from scan_results r where ${conditions}
       ) ranked where position <= ? order by scan_id, id`,
      params,
    );
    const pages = new Map<string, { rows: ScanResult[]; total: number }>(scanIds.map((id) => [id, { rows: [], total: 0 }]));
    for (const row of rows) {
      const page = pages.get(String(row.scan_id));
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

  /** Results of a scan in the order found, keyset-paged by id. */
  async findPage(scanId: string, filter: ScanResultFilter, page: Page): Promise<Connection<ScanResult>> {
    const where: FilterQuery<ScanResult>[] = [this.where(scanId, filter)];
    const forward = page.direction === 'forward';
    if (page.cursor) {
      const [id] = page.cursor;
      if (typeof id !== 'string' || !/^\d+$/.test(id)) throw new InvalidInputError(forward ? 'after' : 'before', 'Not a cursor of this list.');
      where.push({ id: { [forward ? '$gt' : '$lt']: id } });
    }
    const rows = await this.em.find(ScanResult, { $and: where }, { orderBy: { id: forward ? 'asc' : 'desc' }, limit: page.size + 1 });
    return toConnection(rows, page, (row) => [row.id], () => this.em.count(ScanResult, this.where(scanId, filter)));
  }

  private where(scanId: string, filter: ScanResultFilter): FilterQuery<ScanResult> {
    const where: FilterQuery<ScanResult> & Record<string, unknown> = { scan: scanId };
    if (filter.state?.length) where.state = { $in: [...filter.state] };
    if (filter.protocol?.length) where.protocol = { $in: [...filter.protocol] };
    return where;
  }
}
