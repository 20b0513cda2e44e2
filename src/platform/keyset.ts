import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/postgresql';
import { InvalidInputError } from '../errors.ts';
import { type Connection, type Page, toConnection } from './pagination.ts';
import { isUuid } from './uuid.ts';

/**
 * A page of rows keyset-paged on their bigserial `id` (the order they were
 * written, or its reverse), one query for the rows and one for `totalCount` only when asked.
 */
export async function findPageById<T extends { id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: () => FilterQuery<T>,
  page: Page,
  { newestFirst = false }: { newestFirst?: boolean } = {},
): Promise<Connection<T>> {
  const conditions = [where()];
  // Reading forward in a newest-first list walks down the ids.
  const ascending = (page.direction === 'forward') !== newestFirst;
  if (page.cursor) {
    const [id] = page.cursor;
    const field = page.direction === 'forward' ? 'after' : 'before';
    if (typeof id !== 'string' || !/^\d+$/.test(id)) throw new InvalidInputError(field, 'Not a cursor of this list.');
    conditions.push({ id: { [ascending ? '$gt' : '$lt']: id } } as FilterQuery<T>);
  }
  const rows = await em.find(entity, { $and: conditions } as FilterQuery<T>, { orderBy: { id: ascending ? 'asc' : 'desc' } as never, limit: page.size + 1 });
  // A fresh filter for the count: raw fragments in one are single-use.
  return toConnection(rows as T[], page, (row) => [row.id], () => em.count(entity, where()));
}


/**
 * A page of rows with a UUID `id`, oldest first, keyset-paged on
 * (`createdAt`, `id`): stable while rows are added.
 */
export async function findPageByCreation<T extends { id: string; createdAt: Date }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: () => FilterQuery<T>,
  page: Page,
): Promise<Connection<T>> {
  const conditions = [where()];
  const ascending = page.direction === 'forward';
  if (page.cursor) {
    const [time, id] = page.cursor;
    const at = typeof time === 'string' ? new Date(time) : undefined;
    if (!at || Number.isNaN(at.getTime()) || typeof id !== 'string' || !isUuid(id)) {
      throw new InvalidInputError(ascending ? 'after' : 'before', 'Not a cursor of this list.');
    }
    const op = ascending ? '$gt' : '$lt';
    conditions.push({ $or: [{ createdAt: { [op]: at } }, { createdAt: at, id: { [op]: id } }] } as FilterQuery<T>);
  }
  const sort = ascending ? 'asc' : 'desc';
  const rows = await em.find(entity, { $and: conditions } as FilterQuery<T>, { orderBy: [{ createdAt: sort }, { id: sort }] as never, limit: page.size + 1 });
  return toConnection(rows as T[], page, (row) => [row.createdAt.toISOString(), row.id], () => em.count(entity, where()));
}
