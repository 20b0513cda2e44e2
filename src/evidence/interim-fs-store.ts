import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BlobTooLargeError, type ByteRange, type FileStore, type StoredBlob } from './file-store.ts';

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * A minimal `FileStore` on the file system, standing in for the `fs` adapter
 * of `store/fs-store.ts` (and its contract suite) until that lands: each blob
 * is `<dir>/<sha256>`, written aside under `<dir>/.incoming/` and renamed in
 * once fsynced, so a reader never sees half a blob and a failed `put` leaves
 * nothing. Names come from the hash alone, never from a client.
 */
export class InterimFsFileStore implements FileStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async put(source: AsyncIterable<Uint8Array>, { maxBytes, signal }: { maxBytes: number; signal?: AbortSignal }): Promise<StoredBlob> {
    const incoming = path.join(this.#dir, '.incoming');
    await mkdir(incoming, { recursive: true });
    const draft = path.join(incoming, randomUUID());
    const file = await open(draft, 'wx', 0o600);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of source) {
        signal?.throwIfAborted();
        size += chunk.byteLength;
        if (size > maxBytes) throw new BlobTooLargeError(maxBytes);
        hash.update(chunk);
        await file.write(chunk);
      }
      signal?.throwIfAborted();
      await file.sync();
      await file.close();
      const sha256 = hash.digest('hex');
      await rename(draft, this.#path(sha256));
      return { sha256, size };
    } catch (error) {
      await file.close().catch(() => undefined);
      await rm(draft, { force: true });
      throw error;
    }
  }

  read(sha256: string, range?: ByteRange): Readable {
    return createReadStream(this.#path(sha256), range ? { start: range.start, end: range.end } : {});
  }

  async stat(sha256: string): Promise<{ size: number } | null> {
    if (!SHA256.test(sha256)) return null;
    const found = await stat(this.#path(sha256)).catch(() => null);
    return found ? { size: found.size } : null;
  }

  async delete(sha256: string): Promise<void> {
    if (SHA256.test(sha256)) await rm(this.#path(sha256), { force: true });
  }

  async *list(): AsyncIterable<string> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    for (const name of names) if (SHA256.test(name)) yield name;
  }

  #path(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error('Not a SHA-256.');
    return path.join(this.#dir, sha256);
  }
}
