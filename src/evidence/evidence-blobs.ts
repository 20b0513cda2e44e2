import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../platform/logger.ts';
import type { FileStore } from './file-store.ts';

/**
 * Holds the blob `sha256` for the rest of the transaction: a record being
 * added for it and the blob being removed as unreferenced never interleave.
 */
export async function lockBlob(em: EntityManager, sha256: string): Promise<void> {
  await em.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`evidence:${sha256}`]);
}

/** Removes the blob if no record points to it (any more). Returns whether it did. */
export async function removeIfUnreferenced(em: EntityManager, store: FileStore, sha256: string): Promise<boolean> {
  return em.transactional(async (tx) => {
    await lockBlob(tx, sha256);
    const [row] = await tx.execute<{ used: boolean }[]>('select exists (select 1 from evidence where sha256 = ?) as used', [sha256]);
    if (row?.used) return false;
    await store.delete(sha256);
    return true;
  });
}

/**
 * Removes every blob no record points to: those of deleted scans (their
 * records go by the foreign key's cascade), and those a crash left between a
 * record's deletion and its blob's. A record is never left without its blob:
 * records go first, blobs after.
 */
export async function sweepBlobs(em: EntityManager, store: FileStore, logger: Logger): Promise<number> {
  let removed = 0;
  for await (const sha256 of store.list()) {
    if (await removeIfUnreferenced(em.fork(), store, sha256)) removed += 1;
  }
  if (removed > 0) logger.info({ removed }, 'removed evidence blobs no record points to');
  return removed;
}
