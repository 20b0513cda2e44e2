import type { EntityManager } from '@mikro-orm/postgresql';
import type { ProbeHost as Probed } from './engine/scanner.ts';
import { type HostState, ScanHost } from './scan-host.entity.ts';

export type HostChange = { address: string; hostname: string | null; state: HostState };

/** Rows per insert: 4 parameters each, well under PostgreSQL's 65,535. */
const INSERT_CHUNK = 5_000;

/** Named queries on the hosts of scans. */
export class ScanHostRepository {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  /** Records what a scan probes, once: a retried job finds its hosts there and keeps their states. */
  async record(scanId: string, hosts: readonly Probed[], now: Date): Promise<void> {
    for (let at = 0; at < hosts.length; at += INSERT_CHUNK) {
      await this.em
        .createQueryBuilder(ScanHost)
        .insert(
          hosts.slice(at, at + INSERT_CHUNK).map((host) => ({
            scan: scanId,
            address: host.address,
            hostname: host.hostname ?? null,
            state: 'UNKNOWN' as const,
            changedAt: now,
          })),
        )
        .onConflict(['scan', 'address'])
        .ignore()
        .execute('run');
    }
  }

  /** Marks hosts that answered UP; returns those that were not UP before. */
  markUp(scanId: string, addresses: readonly string[], now: Date): Promise<HostChange[]> {
    if (addresses.length === 0) return Promise.resolve([]);
    return this.em.execute<HostChange[]>(
      `update scan_hosts set state = 'UP', changed_at = ? where scan_id = ? and address in (?) and state <> 'UP'
       returning address, hostname, state`,
      [now, scanId, [...addresses]],
    );
  }

  /** When a scan completes, the hosts that never answered are DOWN. */
  markSilentDown(scanId: string, now: Date): Promise<HostChange[]> {
    return this.em.execute<HostChange[]>(
      `update scan_hosts set state = 'DOWN', changed_at = ? where scan_id = ? and state = 'UNKNOWN' returning address, hostname, state`,
      [now, scanId],
    );
  }

  /** Hosts that changed state, oldest first: what a late subscriber catches up on. */
  findChanged(scanId: string): Promise<ScanHost[]> {
    return this.em.find(ScanHost, { scan: scanId, state: { $ne: 'UNKNOWN' } }, { orderBy: { id: 'asc' } });
  }
}
