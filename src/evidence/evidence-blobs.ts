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

/**
 * Blobs this process has stored and not yet recorded: between the two, no
 * record points to them, and they must not be taken for orphans. (Another
 * process's are protected only by the lock: its upload then fails with
 * `CONFLICT`, leaving no record without content.)
 */
export class InFlight {
  /** How many of this process's uploads hold each blob: two uploads of one content hold it twice. */
  readonly #held = new Map<string, number>();

  hold(sha256: string): void {
    this.#held.set(sha256, (this.#held.get(sha256) ?? 0) + 1);
  }

  release(sha256: string): void {
    const left = (this.#held.get(sha256) ?? 1) - 1;
    if (left > 0) this.#held.set(sha256, left);
    else this.#held.delete(sha256);
  }

  has(sha256: string): boolean {
    return this.#held.has(sha256);
  }
}

/** Removes the blob if no record points to it (any more), nor an upload of this process is about to. Returns whether it did. */
export async function removeIfUnreferenced(em: EntityManager, store: FileStore, sha256: string, inFlight?: InFlight): Promise<boolean> {
  return em.transactional(async (tx) => {
    await lockBlob(tx, sha256);
    if (inFlight?.has(sha256)) return false;
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
export async function sweepBlobs(em: EntityManager, store: FileStore, logger: Logger, inFlight?: InFlight): Promise<number> {
  let removed = 0;
  for await (const sha256 of store.list()) {
    if (await removeIfUnreferenced(em.fork(), store, sha256, inFlight)) removed += 1;
  }
  if (removed > 0) logger.info({ removed }, 'removed evidence blobs no record points to');
  return removed;
}
