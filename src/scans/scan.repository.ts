import type { EntityManager } from '@mikro-orm/postgresql';
import { type PortCounts, Scan } from './scan.entity.ts';
import { ScanStatus } from './scan-status.ts';

/** A scan's counts as written. */
export type ScanCounts = Pick<Scan, 'probesDone' | 'openPorts' | 'closedPorts' | 'filteredPorts' | 'probesEstimate'>;
type CountsRow = { probes_done: number; open_ports: number; closed_ports: number; filtered_ports: number; probes_estimate: number };
const COUNTS = 'probes_done, open_ports, closed_ports, filtered_ports, probes_estimate';
const countsOf = (row: CountsRow): ScanCounts => ({
  probesDone: row.probes_done,
  openPorts: row.open_ports,
  closedPorts: row.closed_ports,
  filteredPorts: row.filtered_ports,
  probesEstimate: row.probes_estimate,
});

/** Named queries on scans; no rules, no authorization. */
export class ScanRepository {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  async isCancelled(id: string): Promise<boolean> {
    return (await this.em.count(Scan, { id, status: ScanStatus.CANCELLED })) > 0;
  }

  /**
   * Locks a RUNNING scan's row until the transaction ends; false, locking
   * nothing, once it is not RUNNING (cancelled, ended, deleted). Whoever
   * writes a scan's results or counts takes its row first (each batch, a
   * cancel, the finish, a retry's recount), so the counts move in the same
   * commit as the rows they count, and nothing is written after a cancel.
   */
  async lockRunning(id: string): Promise<boolean> {
    const rows = await this.em.execute('select 1 from scans where id = ? and status = ? for update', [id, ScanStatus.RUNNING]);
    return rows.length > 0;
  }

  /** Adds a written batch to the counts, under `lockRunning`; the estimate only ever rises. */
  async addCounts(id: string, added: PortCounts, estimate: number): Promise<ScanCounts> {
    const done = added.OPEN + added.CLOSED + added.FILTERED;
    const [row] = await this.em.execute<CountsRow[]>(
      `update scans set probes_done = probes_done + ?, open_ports = open_ports + ?, closed_ports = closed_ports + ?,
         filtered_ports = filtered_ports + ?, probes_estimate = greatest(probes_estimate, probes_done + ?, ?)
       where id = ? returning ${COUNTS}`,
      [done, added.OPEN, added.CLOSED, added.FILTERED, done, estimate, id],
    );
    if (!row) throw new Error(`Scan ${id} is gone while its counts were written.`);
    return countsOf(row);
  }

  /** Raises the engine's estimate of a RUNNING scan, between batches; never lowers it. */
  async raiseEstimate(id: string, estimate: number): Promise<void> {
    await this.em.execute(
      'update scans set probes_estimate = least(probes_total, ?) where id = ? and status = ? and probes_estimate < least(probes_total, ?)',
      [estimate, id, ScanStatus.RUNNING, estimate],
    );
  }

  /**
   * Counts a scan's stored results again, in a transaction holding its row:
   * a retry starts from what the last attempt stored. The estimate restarts
   * from the count. `null` for a scan that is gone.
   */
  recount(id: string): Promise<ScanCounts | null> {
    return this.em.transactional(async (em) => {
      // Locked first, so the count below sees every batch committed before it and none after.
      await em.execute('select 1 from scans where id = ? for update', [id]);
      const [row] = await em.execute<CountsRow[]>(
        `update scans s set (probes_done, open_ports, closed_ports, filtered_ports, probes_estimate) = (
           select count(*), count(*) filter (where state = 'OPEN'), count(*) filter (where state = 'CLOSED'),
             count(*) filter (where state = 'FILTERED'), count(*)
           from scan_results where scan_id = s.id)
         where id = ? returning ${COUNTS}`,
        [id],
      );
      return row ? countsOf(row) : null;
    });
  }
}
