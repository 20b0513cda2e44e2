import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { entities, migrations } from '../../app.ts';
import { type Orm, openDatabase } from '../../platform/db.ts';
import { createLogger } from '../../platform/logger.ts';
import { fileStoreContract } from './file-store.contract.ts';
import { PostgresFileStore } from './postgres-store.ts';

let database: TestDatabase;
let orm: Orm;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  orm = await openDatabase({
    url: database.url,
    logger: createLogger('silent', false),
    entities,
    migrations,
  });
  // The pool MikroORM uses, as the app hands it over: its type parsers must not change what the store reads.
  pool = await orm.em.getConnection().getNativeClient();
});

afterAll(async () => {
  await orm?.close();
  await database?.drop();
});

const leftovers = async () => {
  const { rows } = await pool.query<{ key: string }>(
    `select sha256 as key from evidence_blobs where sha256 like 'tmp:%'
     union all select distinct 'chunks of ' || sha256 from evidence_chunks c
       where sha256 like 'tmp:%' or not exists (select from evidence_blobs b where b.sha256 = c.sha256)`,
  );
  return rows.map((row) => row.key);
};

fileStoreContract('PostgresFileStore on the ORM pool', async () => {
  await pool.query('truncate evidence_blobs, evidence_chunks');
  return { store: new PostgresFileStore(pool), leftovers, close: async () => {} };
});

fileStoreContract('PostgresFileStore on a pool of its own, in small chunks', async () => {
  await pool.query('truncate evidence_blobs, evidence_chunks');
  const store = PostgresFileStore.connect(database.url, { chunkSize: 1000, poolSize: 3 });
  return { store, leftovers, close: () => store.close() };
});

it('keeps each blob in chunks of its chunk size, numbered from 0', async () => {
  await pool.query('truncate evidence_blobs, evidence_chunks');
  const store = new PostgresFileStore(pool, { chunkSize: 4 });
  async function* source() {
    yield Buffer.from('0123456');
    yield Buffer.from('789');
  }
  const { sha256 } = await store.put(source(), { maxBytes: 100 });
  const { rows } = await pool.query<{ seq: number; data: string }>(
    "select seq, encode(data, 'escape') as data from evidence_chunks where sha256 = $1 order by seq",
    [sha256],
  );
  expect(rows).toEqual([
    { seq: 0, data: '0123' },
    { seq: 1, data: '4567' },
    { seq: 2, data: '89' },
  ]);
});

it('has the tables its entity schemas describe, once migrated, so the schema comparison proposes nothing', async () => {
  expect((await orm.schema.getUpdateSchemaSQL({ wrap: false })).trim()).toBe('');
});
