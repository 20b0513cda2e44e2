import type { EntityManager } from '@mikro-orm/postgresql';
import type { PortState, ProbeResult } from './engine/scanner.ts';
import type { PortCounts } from './scan.entity.ts';
import type { StoredResult } from './scan.topics.ts';
import { ScanResult } from './scan-result.entity.ts';

/** Named queries on scan results. */
export class ScanResultRepository {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  /**
   * Writes a batch: a retried job rewrites rows, never duplicates them.
   * Returns the rows that are new or changed, so a retry does not announce a
   * port twice, and how they change the scan's counts by state (a re-probed
   * port that changed state moves from one to the other). Exact only while no
   * one else writes this scan's results: call it holding the scan's row
   * (`ScanRepository.lockRunning`), in the same transaction.
   */
  async upsert(scanId: string, batch: readonly ProbeResult[], now: Date): Promise<{ stored: StoredResult[]; added: PortCounts }> {
    const added: PortCounts = { OPEN: 0, CLOSED: 0, FILTERED: 0 };
    // New rows first, in one insert: all of them on a first attempt, which then needs nothing more.
    const stored = await this.write(scanId, batch, now, 'new');
    for (const row of stored) added[row.state]++;
    if (stored.length === batch.length) return { stored, added };
    const inserted = new Set(stored.map(resultKey));
    const again = batch.filter((result) => !inserted.has(resultKey(result)));
    const before = await this.statesOf(scanId, again);
    for (const row of await this.write(scanId, again, now, 'changed')) {
      const was = before.get(resultKey(row));
      if (was) added[was]--;
      added[row.state]++;
      stored.push(row);
    }
    return { stored, added };
  }

  /** One multi-row insert of rows not stored yet (`new`), or an update of those stored whose finding changed (`changed`). */
  private write(scanId: string, batch: readonly ProbeResult[], now: Date, rows: 'new' | 'changed'): Promise<StoredResult[]> {
    if (batch.length === 0) return Promise.resolve([]);
    const insert = this.em
      .createQueryBuilder(ScanResult)
      .insert(
        batch.map((result) => ({
          scan: scanId,
          address: result.address,
          protocol: result.protocol,
          port: result.port,
          state: result.state,
          banner: result.banner ?? null,
          service: result.service ?? null,
          version: result.version ?? null,
          foundAt: now,
        })),
      )
      .onConflict(['scan', 'address', 'protocol', 'port']);
    const written =
      rows === 'new'
        ? insert.ignore()
        : insert
            .merge(['state', 'banner', 'service', 'version', 'foundAt'])
            .where(
              '(scan_results.state, scan_results.banner, scan_results.version) is distinct from (excluded.state, excluded.banner, excluded.version)',
            );
    return written
      .returning(['address', 'port', 'protocol', 'state', 'banner', 'service', 'version'])
      .execute<StoredResult[]>('all', false);
  }

  /** The states stored for the ports of `batch`, by `resultKey`. */
  private async statesOf(scanId: string, batch: readonly ProbeResult[]): Promise<Map<string, PortState>> {
    const keys = JSON.stringify(batch.map(({ address, protocol, port }) => ({ address, protocol, port })));
    const rows = await this.em.execute<Pick<StoredResult, 'address' | 'protocol' | 'port' | 'state'>[]>(
      `select r.address, r.protocol, r.port, r.state
       from scan_results r join jsonb_to_recordset(?::jsonb) as k(address text, protocol text, port integer) using (address, protocol, port)
       where r.scan_id = ?`,
      [keys, scanId],
    );
    return new Map(rows.map((row) => [resultKey(row), row.state]));
  }

  /** OPEN results of a scan after `afterId`, oldest first: what a late subscriber catches up on. */
  openAfter(scanId: string, afterId: string, limit: number): Promise<ScanResult[]> {
    return this.em.find(ScanResult, { scan: scanId, state: 'OPEN', id: { $gt: afterId } }, { orderBy: { id: 'asc' }, limit });
  }

  /** A scan's stored results counted by state, in one query. */
  async counts(scanId: string): Promise<PortCounts> {
    const rows = await this.em.execute<{ state: PortState; count: string }[]>(
      'select state, count(*) as count from scan_results where scan_id = ? group by state',
      [scanId],
    );
    const counts: PortCounts = { OPEN: 0, CLOSED: 0, FILTERED: 0 };
    for (const row of rows) counts[row.state] = Number(row.count);
    return counts;
  }
}

const resultKey = ({ address, protocol, port }: Pick<StoredResult, 'address' | 'protocol' | 'port'>) => `${address} ${protocol} ${port}`;
