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

  /** Results of a scan in (address, protocol, port) order, keyset-paged by id. */
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
