import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import pg from 'pg';
import type { ByteRange, FileStore, StoredBlob } from '../file-store.ts';
import { blobNotFound, intake, isSha256 } from './intake.ts';

export type PostgresFileStoreOptions = {
  /** Bytes per stored chunk: what a put buffers and a read holds at a time. @default 262_144 (256 KiB) */
  chunkSize?: number;
};

/**
 * Blobs in PostgreSQL (tables of migration `EvidenceBlobs`), for deployments
 * whose processes share no disk. A put holds one pooled connection, in one
 * transaction, for as long as its upload lasts: give the store a pool of its
 * own (`connect`) so slow uploads cannot starve the application's queries.
 */
export class PostgresFileStore implements FileStore {
  readonly #pool: pg.Pool;
  #owned = false;
  readonly #chunkSize: number;

  /** On `pool`, which stays the caller's to end (MikroORM's: `await orm.em.getConnection().getNativeClient()`). */
  constructor(pool: pg.Pool, { chunkSize = 262_144 }: PostgresFileStoreOptions = {}) {
    this.#pool = pool;
    this.#chunkSize = chunkSize;
  }

  /**
   * On a pool of its own to `url`, ended by `close`.
   * @default poolSize 4
   */
  static connect(url: string, { poolSize = 4, ...options }: PostgresFileStoreOptions & { poolSize?: number } = {}): PostgresFileStore {
    const store = new PostgresFileStore(new pg.Pool({ connectionString: url, max: poolSize }), options);
    store.#owned = true;
    return store;
  }

  /**
   * On a pool of its own with the settings of `pool` (MikroORM's, say, which
   * knows an embedded database's address too), ended by `close`.
   * @default poolSize 4
   */
  static alongside(pool: pg.Pool, { poolSize = 4, ...options }: PostgresFileStoreOptions & { poolSize?: number } = {}): PostgresFileStore {
    const settings = (pool as unknown as { options: pg.PoolConfig }).options;
    const store = new PostgresFileStore(new pg.Pool({ ...settings, max: poolSize }), options);
    store.#owned = true;
    return store;
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#pool.end();
  }

  async put(source: AsyncIterable<Uint8Array>, options: { maxBytes: number; signal?: AbortSignal }): Promise<StoredBlob> {
    options.signal?.throwIfAborted();
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('begin');
      const stored = await this.#write(client, source, options);
      await client.query('commit');
      return stored;
    } catch (error) {
      await client.query('rollback').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    } finally {
      // A connection that could not even roll back is not handed to the next caller.
      client.release(broken);
    }
  }

  /** Chunks under a temporary key, then the rename to the hash: nothing of it is seen before commit. */
  async #write(
    client: pg.PoolClient,
    source: AsyncIterable<Uint8Array>,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<StoredBlob> {
    const temp = `tmp:${randomUUID()}`;
    await client.query('insert into evidence_blobs (sha256, size, chunk_size) values ($1, 0, $2)', [temp, this.#chunkSize]);
    const hash = createHash('sha256');
    let size = 0;
    let seq = 0;
    for await (const chunk of chunks(intake(source, options), this.#chunkSize)) {
      hash.update(chunk);
      size += chunk.byteLength;
      await client.query('insert into evidence_chunks (sha256, seq, data) values ($1, $2, $3)', [temp, seq++, chunk]);
    }
    options.signal?.throwIfAborted();
    const sha256 = hash.digest('hex');
    // A concurrent put of the same content waits here for the other's commit, then finds it stored.
    const inserted = await client.query(
      'insert into evidence_blobs (sha256, size, chunk_size) values ($1, $2, $3) on conflict (sha256) do nothing returning sha256',
      [sha256, size, this.#chunkSize],
    );
    if (inserted.rowCount === 1) await client.query('update evidence_chunks set sha256 = $1 where sha256 = $2', [sha256, temp]);
    await client.query('delete from evidence_blobs where sha256 = $1', [temp]);
    return { sha256, size };
  }

  read(sha256: string, range?: ByteRange): Readable {
    // The port's read is synchronous, and a database answers later: an unknown blob fails the stream instead.
    return Readable.from(this.#chunksOf(sha256, range), { objectMode: false });
  }

  /** One query per chunk, each on whichever pooled connection is free: a slow download pins none. */
  async *#chunksOf(sha256: string, range: ByteRange | undefined): AsyncGenerator<Buffer> {
    const blob = isSha256(sha256) ? await this.#blob(sha256) : null;
    if (!blob) throw blobNotFound(sha256);
    const start = range?.start ?? 0;
    const end = range?.end ?? blob.size - 1;
    for (let at = start; at <= end; ) {
      const seq = Math.floor(at / blob.chunkSize);
      const offset = at - seq * blob.chunkSize;
      const length = Math.min(blob.chunkSize - offset, end - at + 1);
      const { rows } = await this.#pool.query<{ data: Buffer }>({
        text: 'select substring(data from $3 for $4) as data from evidence_chunks where sha256 = $1 and seq = $2',
        values: [sha256, seq, offset + 1, length],
        types: pg.types,
      });
      const data = rows[0]?.data;
      if (!data || data.byteLength !== length) throw blobNotFound(sha256);
      yield data;
      at += length;
    }
  }

  async #blob(sha256: string): Promise<{ size: number; chunkSize: number } | null> {
    const { rows } = await this.#pool.query<{ size: string; chunk_size: number }>({
      text: 'select size, chunk_size from evidence_blobs where sha256 = $1',
      values: [sha256],
      types: pg.types,
    });
    const row = rows[0];
    return row ? { size: Number(row.size), chunkSize: row.chunk_size } : null;
  }

  async stat(sha256: string): Promise<{ size: number } | null> {
    if (!isSha256(sha256)) return null;
    const blob = await this.#blob(sha256);
    return blob ? { size: blob.size } : null;
  }

  async delete(sha256: string): Promise<void> {
    if (!isSha256(sha256)) return;
    await this.#pool.query('delete from evidence_blobs where sha256 = $1', [sha256]);
  }

  /** In pages by key, so listing many blobs holds no connection and no big result. */
  async *list(): AsyncIterable<string> {
    for (let after = ''; ; ) {
      const { rows } = await this.#pool.query<{ sha256: string }>({
        text: "select sha256 from evidence_blobs where sha256 > $1 and sha256 not like 'tmp:%' order by sha256 limit 1000",
        values: [after],
        types: pg.types,
      });
      for (const row of rows) yield row.sha256;
      const last = rows.at(-1);
      if (!last || rows.length < 1000) return;
      after = last.sha256;
    }
  }
}

/** `source` cut into chunks of exactly `size` bytes (the last one shorter), holding at most one chunk plus one piece. */
async function* chunks(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const piece of source) {
    for (let at = 0; at < piece.byteLength; ) {
      const taken = Math.min(size - filled, piece.byteLength - at);
      buffer.set(piece.subarray(at, at + taken), filled);
      filled += taken;
      at += taken;
      if (filled === size) {
        yield buffer;
        buffer = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}
