import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { InvalidInputError } from '../errors.ts';
import { type Connection, type Page, toConnection } from '../platform/pagination.ts';
import { Scan } from './scan.entity.ts';
import { ScanStatus, type ScanType } from './scan-status.ts';

export type ScanFilter = {
  status?: readonly ScanStatus[] | null;
  scanType?: readonly ScanType[] | null;
  /** Only this user's scans. */
  ownerId?: string | null;
};
export type ScanOrder = { field: 'createdAt' | 'updatedAt'; direction: 'ASC' | 'DESC' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Named queries on scans; no rules, no authorization. */
export class ScanRepository {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  /**
   * Keyset pagination on (order field, id): a cursor names a position, not an
   * offset, so pages stay stable while scans are inserted. One query per page.
   */
  async findPage(filter: ScanFilter, order: ScanOrder, page: Page): Promise<Connection<Scan>> {
    const where = filterWhere(filter);
    const ascending = (order.direction === 'ASC') === (page.direction === 'forward');
    const conditions: FilterQuery<Scan>[] = [where];
    if (page.cursor) {
      const [value, id] = readCursor(page.cursor, order, page.direction === 'forward' ? 'after' : 'before');
      const op = ascending ? '$gt' : '$lt';
      conditions.push({ $or: [{ [order.field]: { [op]: value } }, { [order.field]: value, id: { [op]: id } }] });
    }
    const sort = ascending ? 'asc' : 'desc';
    const rows = await this.em.find(Scan, { $and: conditions }, {
      orderBy: [{ [order.field]: sort }, { id: sort }],
      limit: page.size + 1,
    });
    return toConnection(rows, page, (scan) => [order.field, scan[order.field].toISOString(), scan.id], () => this.count(filter));
  }

  async isCancelled(id: string): Promise<boolean> {
    return (await this.em.count(Scan, { id, status: ScanStatus.CANCELLED })) > 0;
  }

  /** Progress of a running scan, written without loading it; a scan no longer RUNNING is left alone. */
  async recordProgress(id: string, probesDone: number, openPorts: number): Promise<void> {
    await this.em.nativeUpdate(Scan, { id, status: ScanStatus.RUNNING }, { probesDone, openPorts });
  }

  count(filter: ScanFilter): Promise<number> {
    return this.em.count(Scan, filterWhere(filter));
  }
}

function filterWhere(filter: ScanFilter): FilterQuery<Scan> {
  const where: FilterQuery<Scan> & Record<string, unknown> = {};
  if (filter.status?.length) where.status = { $in: [...filter.status] };
  if (filter.scanType?.length) where.scanType = { $in: [...filter.scanType] };
  if (filter.ownerId) where.owner = filter.ownerId;
  return where;
}

/** A cursor is `[field, ISO time, id]`; one from another ordering is refused, not misread. */
function readCursor(cursor: readonly unknown[], order: ScanOrder, field: string): [Date, string] {
  const [orderField, time, id] = cursor;
  const date = typeof time === 'string' ? new Date(time) : undefined;
  if (cursor.length !== 3 || orderField !== order.field || !date || Number.isNaN(date.getTime()) || typeof id !== 'string' || !UUID.test(id)) {
    throw new InvalidInputError(field, `\`${field}\` is not a cursor of this list in this order.`);
  }
  return [date, id];
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
