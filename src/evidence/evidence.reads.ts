import { Keyset } from '../platform/keyset.ts';
import type { Connection, Page } from '../platform/pagination.ts';
import type { Reads } from '../platform/reads.ts';
import { EVIDENCE_COLUMNS, type EvidenceRow, type EvidenceView, evidenceViewOfRow } from './evidence.view.ts';

/** A scan's evidence, newest first; a cursor is `[ISO time, id]`. */
const BY_SCAN = new Keyset<EvidenceView>({
  keys: [
    ['createdAt', 'time'],
    ['id', 'uuid'],
  ],
});

/** Evidence with the owner of its scan, whose permissions it shares. */
export type OwnedEvidence = { evidence: EvidenceView; scanOwnerId: string | null };

/** Plain reads of evidence records, for display and for the checks before a change. */
export class EvidenceReads {
  readonly #reads: Reads;

  constructor(reads: Reads) {
    this.#reads = reads;
  }

  /** The records of `ids` that exist, each with its scan's owner, in one query. */
  async byIds(ids: readonly string[]): Promise<OwnedEvidence[]> {
    const columns = EVIDENCE_COLUMNS.split(', ')
      .map((column) => `e.${column}`)
      .join(', ');
    const rows = await this.#reads.rows<EvidenceRow & { scan_owner_id: string | null }>({
      sql: `select ${columns}, s.owner_id as scan_owner_id from evidence e join scans s on s.id = e.scan_id where e.id = any(?::uuid[])`,
      params: [ids],
    });
    return rows.map((row) => ({ evidence: evidenceViewOfRow(row), scanOwnerId: row.scan_owner_id }));
  }

  /** A page of a scan's evidence. */
  page(scanId: string, page: Page): Promise<Connection<EvidenceView>> {
    return BY_SCAN.select(
      this.#reads,
      { table: 'evidence', columns: EVIDENCE_COLUMNS, where: { sql: 'scan_id = ?::uuid', params: [scanId] }, order: 'desc' },
      page,
      evidenceViewOfRow,
    );
  }

  /** The first `size` records of each of `scanIds`, with each one's total, in one query. */
  async firstPages(scanIds: readonly string[], size: number): Promise<Map<string, { rows: EvidenceView[]; total: number }>> {
    const found = await BY_SCAN.selectFirstPages(
      this.#reads,
      {
        table: 'evidence',
        columns: EVIDENCE_COLUMNS,
        where: { sql: 'scan_id = any(?::uuid[])', params: [scanIds] },
        partitionBy: ['scan_id'],
        order: 'desc',
        size,
      },
      evidenceViewOfRow,
    );
    return new Map(found.map(({ partition: [scanId], rows, total }) => [String(scanId), { rows, total }]));
  }

  /** The bytes of evidence `userId` has uploaded, in all. */
  async storedBy(userId: string): Promise<number> {
    const [row] = await this.#reads.rows<{ total: string }>({
      sql: 'select coalesce(sum(size), 0)::text as total from evidence where uploaded_by_id = ?::uuid',
      params: [userId],
    });
    return Number(row?.total ?? 0);
  }
}
