import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/postgresql';
import { InvalidInputError } from '../errors.ts';
import { type Connection, type Page, toConnection } from './pagination.ts';

/**
 * A page of rows keyset-paged on their bigserial `id` (the order they were
 * written), one query for the rows and one for `totalCount` only when asked.
 */
export async function findPageById<T extends { id: string }>(
  em: EntityManager,
  entity: EntityName<T>,
  where: () => FilterQuery<T>,
  page: Page,
): Promise<Connection<T>> {
  const conditions = [where()];
  const forward = page.direction === 'forward';
  if (page.cursor) {
    const [id] = page.cursor;
    if (typeof id !== 'string' || !/^\d+$/.test(id)) throw new InvalidInputError(forward ? 'after' : 'before', 'Not a cursor of this list.');
    conditions.push({ id: { [forward ? '$gt' : '$lt']: id } } as FilterQuery<T>);
  }
  const rows = await em.find(entity, { $and: conditions } as FilterQuery<T>, { orderBy: { id: forward ? 'asc' : 'desc' } as never, limit: page.size + 1 });
  // A fresh filter for the count: raw fragments in one are single-use.
  return toConnection(rows as T[], page, (row) => [row.id], () => em.count(entity, where()));
}
