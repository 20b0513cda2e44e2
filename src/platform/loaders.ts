import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';

/** Batches every by-ID lookup of one request (`node`, nested fields, aliases) into one query; `null` for an unknown ID. */
export function byIdLoader<T extends { id: string }>(em: EntityManager, entity: EntityName<T>): DataLoader<string, T | null> {
  return new DataLoader(async (ids) => {
    const rows = await em.find(entity, { id: { $in: [...ids] } } as unknown as FilterQuery<T>);
    const found = new Map(rows.map((row) => [(row as T).id, row as T]));
    return ids.map((id) => found.get(id) ?? null);
  });
}
