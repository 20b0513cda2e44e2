import type { Viewer } from '../access/viewer.ts';
import { Keyset } from '../platform/keyset.ts';
import { type Connection, type PageArgs, parsePage } from '../platform/pagination.ts';
import type { Reads, Sql } from '../platform/reads.ts';
import type { AuditAction } from './audit-event.entity.ts';

/** An entry as the API shows it: a plain row, nothing tracked. */
export type AuditEventView = {
  id: string;
  at: Date;
  action: AuditAction;
  actorId: string | null;
  actorEmail: string | null;
  ip: string | null;
  /** `Type:localId`, as stored. */
  targetId: string | null;
  details: Record<string, unknown>;
};

export type AuditFilter = { action?: readonly AuditAction[] | null; actorId?: string | null };

/** Entries in the order written; a cursor is `[id]`. */
const BY_ID = new Keyset<AuditEventView>({ keys: [['id', 'serial']] });

const COLUMNS = 'id, at, action, actor_id, actor_email, ip, target_id, details';
type Row = {
  id: string;
  at: Date;
  action: AuditAction;
  actor_id: string | null;
  actor_email: string | null;
  ip: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
};
const view = (row: Row): AuditEventView => ({
  id: row.id,
  at: row.at,
  action: row.action,
  actorId: row.actor_id,
  actorEmail: row.actor_email,
  ip: row.ip,
  targetId: row.target_id,
  details: row.details,
});

/** Tells an entry among the other nodes, for `Node.__resolveType`. */
export const isAuditEventView = (value: unknown): value is AuditEventView =>
  typeof value === 'object' && value !== null && 'action' in value && 'actorEmail' in value && 'details' in value;

export type AuditQueriesDeps = { reads: Reads; viewer: Viewer };

/** Reads of the audit trail, as plain rows: only ADMIN reads it. */
export class AuditQueries {
  readonly #reads: Reads;
  readonly #viewer: Viewer;

  constructor({ reads, viewer }: AuditQueriesDeps) {
    this.#reads = reads;
    this.#viewer = viewer;
  }

  /** One entry, for `node`: `null` for anyone but ADMIN, as if it did not exist. */
  async get(id: string): Promise<AuditEventView | null> {
    if (!this.#viewer.mayAccess('audit:read', null)) return null;
    const [row] = await this.#reads.rows<Row>({ sql: `select ${COLUMNS} from audit_events where id = ?::bigint`, params: [id] });
    return row ? view(row) : null;
  }

  /** The log, newest first; ADMIN only. */
  list({ filter, ...pageArgs }: PageArgs & { filter?: AuditFilter | null }): Promise<Connection<AuditEventView>> {
    this.#viewer.assert('audit:read');
    const where: Sql[] = [];
    if (filter?.action?.length) where.push({ sql: 'action = any(?::text[])', params: [filter.action] });
    if (filter?.actorId) where.push({ sql: 'actor_id = ?::uuid', params: [filter.actorId] });
    return BY_ID.select(
      this.#reads,
      {
        table: 'audit_events',
        columns: COLUMNS,
        where: where.length
          ? { sql: where.map((part) => part.sql).join(' and '), params: where.flatMap((part) => part.params) }
          : undefined,
        order: 'desc',
      },
      parsePage(pageArgs),
      view,
    );
  }
}
