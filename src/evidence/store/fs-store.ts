import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, openSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, opendir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ByteRange, FileStore, StoredBlob } from '../file-store.ts';
import { blobNotFound, intake, isSha256 } from './intake.ts';

const TMP = 'tmp';
const HEX2 = /^[0-9a-f]{2}$/;

/**
 * Blobs as files under one directory, named by their hash: `<dir>/ab/cd/abcd…`
 * (two levels, so no directory grows past 65,536 entries per level). A put is
 * written to `<dir>/tmp/` first, on the same file system, so the rename that
 * publishes it is atomic: a reader sees the whole blob or none.
 */
export class FsFileStore implements FileStore {
  readonly #dir: string;
  readonly #tmp: string;

  /** `dir` is created on the first put; it holds nothing but this store's files. */
  constructor(dir: string) {
    this.#dir = path.resolve(dir);
    this.#tmp = path.join(this.#dir, TMP);
  }

  async put(source: AsyncIterable<Uint8Array>, options: { maxBytes: number; signal?: AbortSignal }): Promise<StoredBlob> {
    options.signal?.throwIfAborted();
    await mkdir(this.#tmp, { recursive: true });
    const temp = path.join(this.#tmp, randomUUID());
    let handle: FileHandle | undefined = await open(temp, 'wx', 0o600);
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of intake(source, options)) {
        hash.update(chunk);
        await writeAll(handle, chunk);
        size += chunk.byteLength;
      }
      await handle.sync();
      await handle.close();
      handle = undefined;
      const sha256 = hash.digest('hex');
      const target = this.#path(sha256);
      const created = await mkdir(path.dirname(target), { recursive: true });
      if (await exists(target)) {
        // Same content, same bytes: the copy already there is kept.
        await unlink(temp);
      } else {
        // Two puts of the same content may both get here; rename replaces atomically, and the bytes are equal.
        await rename(temp, target);
        await syncDirectories(created ? path.dirname(created) : path.dirname(target), path.dirname(target));
      }
      return { sha256, size };
    } catch (error) {
      await handle?.close().catch(() => {});
      await unlink(temp).catch(() => {});
      throw error;
    }
  }

  read(sha256: string, range?: ByteRange): Readable {
    if (!isSha256(sha256)) throw blobNotFound(sha256);
    const file = this.#path(sha256);
    let fd: number;
    try {
      // Opened now, so an unknown blob throws here, and a delete after this still lets the read finish.
      fd = openSync(file, 'r');
    } catch (error) {
      if (isNotFound(error)) throw blobNotFound(sha256);
      throw error;
    }
    return createReadStream(file, { fd, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async stat(sha256: string): Promise<{ size: number } | null> {
    if (!isSha256(sha256)) return null;
    try {
      return { size: (await stat(this.#path(sha256))).size };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(sha256: string): Promise<void> {
    if (!isSha256(sha256)) return;
    // The directories stay: removing an empty one could race a put that just made it and is about to rename into it.
    await unlink(this.#path(sha256)).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }

  async *list(): AsyncIterable<string> {
    for await (const first of entries(this.#dir)) {
      if (!HEX2.test(first)) continue;
      for await (const second of entries(path.join(this.#dir, first))) {
        if (!HEX2.test(second)) continue;
        for await (const name of entries(path.join(this.#dir, first, second))) {
          if (isSha256(name) && name.startsWith(first + second)) yield name;
        }
      }
    }
  }

  /**
   * Removes temporary files that no put has written to for `olderThanMs`: what
   * a crashed process left. Recent ones may belong to a put still running in
   * another process on the same directory. Returns how many it removed.
   * @default olderThanMs 3_600_000 (an hour)
   */
  async sweepTemp({ olderThanMs = 3_600_000 }: { olderThanMs?: number } = {}): Promise<number> {
    const before = Date.now() - olderThanMs;
    let removed = 0;
    for await (const name of entries(this.#tmp)) {
      const file = path.join(this.#tmp, name);
      const info = await lstat(file).catch(() => null);
      if (!info || info.mtimeMs > before) continue;
      await unlink(file).then(
        () => removed++,
        () => {},
      );
    }
    return removed;
  }

  #path(sha256: string): string {
    return path.join(this.#dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

/** Fsyncs `from` and every directory below it down to `to`: each holds a new entry that must survive a crash. */
async function syncDirectories(from: string, to: string): Promise<void> {
  const chain = [to];
  for (let dir = to; dir !== from && path.dirname(dir) !== dir; ) {
    dir = path.dirname(dir);
    chain.unshift(dir);
  }
  for (const dir of chain) {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

async function* entries(dir: string): AsyncIterable<string> {
  let handle: Awaited<ReturnType<typeof opendir>>;
  try {
    handle = await opendir(dir);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  for await (const entry of handle) yield entry.name;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    (error: unknown) => {
      if (isNotFound(error)) return false;
      throw error;
    },
  );
}

const isNotFound = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
