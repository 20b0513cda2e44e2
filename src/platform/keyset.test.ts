import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { InvalidInputError } from '../errors.ts';
import { type Orm, openDatabase } from './db.ts';
import { Keyset } from './keyset.ts';
import { createLogger } from './logger.ts';
import { type Connection, encodeCursor, type PageArgs, parsePage } from './pagination.ts';
import { Reads } from './reads.ts';

// Tables of this test's own, so the builder is checked apart from any area's rules.
const NoteSchema = defineEntity({
  name: 'KeysetNote',
  tableName: 'keyset_notes',
  properties: {
    id: p.uuid().primary(),
    list: p.text(),
    kind: p.text(),
    createdAt: p.datetime(3),
  },
});
class Note extends NoteSchema.class {}
NoteSchema.setClass(Note);

const EntrySchema = defineEntity({
  name: 'KeysetEntry',
  tableName: 'keyset_entries',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    list: p.text(),
  },
});
class Entry extends EntrySchema.class {}
EntrySchema.setClass(Entry);

const BY_CREATION = new Keyset({
  entity: Note,
  keys: [
    ['createdAt', 'time'],
    ['id', 'uuid'],
  ],
});
const TAGGED = new Keyset({
  entity: Note,
  keys: [
    ['createdAt', 'time'],
    ['id', 'uuid'],
  ],
  tag: 'createdAt',
});
const BY_ID = new Keyset({ entity: Entry, keys: [['id', 'serial']] });

let database: TestDatabase;
let orm: Orm;
let em: EntityManager;
let reads: Reads;
const queries: string[] = [];

/** The notes of `list` as plain SQL, made plain objects (no entity). */
type NoteRow = { id: string; list: string; kind: string; created_at: Date };
const noteView = (row: NoteRow) => ({ id: row.id, list: row.list, kind: row.kind, createdAt: row.created_at });
const notesOf = (where?: { sql: string; params: unknown[] }) => ({ table: 'keyset_notes', columns: 'id, list, kind, created_at', where });

beforeAll(async () => {
  database = await createTestDatabase();
  orm = await openDatabase({
    url: database.url,
    logger: createLogger('silent', false),
    entities: [NoteSchema, EntrySchema],
    migrations: [],
    onQuery: (sql) => queries.push(sql),
  });
  await orm.schema.create();
  reads = await Reads.of(orm, (sql) => queries.push(sql));
});

afterAll(async () => {
  await orm?.close();
  await database?.drop();
});

beforeEach(async () => {
  await orm.em.getConnection().execute('truncate keyset_notes, keyset_entries');
  em = orm.em.fork();
});

const T0 = Date.parse('2026-11-23T10:00:00.000Z');

/** Notes at `T0 + seconds` each; several at one time tie on it. */
async function addNotes(seconds: readonly number[], { list = 'a', kind = 'plain' } = {}): Promise<Note[]> {
  const writer = orm.em.fork();
  const notes = seconds.map((at) => writer.create(Note, { id: randomUUID(), list, kind, createdAt: new Date(T0 + at * 1000) }));
  await writer.flush();
  return notes;
}

/** The ids in (createdAt, id) order: PostgreSQL compares UUIDs as their bytes, as lowercase hex compares here. */
const inOrder = (notes: readonly Note[]) =>
  [...notes].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1)).map((note) => note.id);

const ids = <T extends { id: string }>(connection: Connection<T>) => connection.edges.map((edge) => edge.node.id);

/** Every page forward from the start, `size` at a time. */
async function walkForward(
  read: (args: PageArgs) => Promise<Connection<{ id: string }>>,
  size: number,
): Promise<Connection<{ id: string }>[]> {
  const pages: Connection<{ id: string }>[] = [];
  let after: string | null = null;
  do {
    const page: Connection<{ id: string }> = await read({ first: size, after });
    pages.push(page);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return pages;
}

describe('Keyset on PostgreSQL', () => {
  it('walks forward and backward, ties on the time broken by the id', async () => {
    const notes = await addNotes([5, 1, 3, 3, 3, 0, 3]);
    const expected = inOrder(notes);
    const pages = await walkForward((args) => BY_CREATION.entities(em, {}, parsePage(args)), 2);
    expect(pages.flatMap(ids)).toEqual(expected);
    expect(pages.map((page) => [page.pageInfo.hasPreviousPage, page.pageInfo.hasNextPage])).toEqual([
      [false, true],
      [true, true],
      [true, true],
      [true, false],
    ]);

    const backward: string[][] = [];
    let before: string | null = null;
    for (;;) {
      const page: Connection<Note> = await BY_CREATION.entities(em, {}, parsePage({ last: 2, before }));
      backward.unshift(ids(page));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(backward.flat()).toEqual(expected);
    expect(backward.map((page) => page.length)).toEqual([1, 2, 2, 2]);
  });

  it('pages a descending list both ways', async () => {
    const writer = orm.em.fork();
    for (let i = 0; i < 5; i++) writer.create(Entry, { list: 'a' });
    await writer.flush();
    const all = (await em.find(Entry, {}, { orderBy: { id: 'desc' } })).map((entry) => entry.id);
    const pages = await walkForward((args) => BY_ID.entities(em, { order: 'desc' }, parsePage(args)), 2);
    expect(pages.flatMap(ids)).toEqual(all);
    const end = await BY_ID.entities(em, { order: 'desc' }, parsePage({ last: 2 }));
    expect(ids(end)).toEqual(all.slice(3));
    const middle = await BY_ID.entities(em, { order: 'desc' }, parsePage({ last: 2, before: end.pageInfo.startCursor }));
    expect(ids(middle)).toEqual(all.slice(1, 3));
    expect(middle.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
  });

  it('neither repeats nor skips a row when rows are inserted between pages', async () => {
    const notes = await addNotes([0, 10, 20, 20, 30, 40, 50]);
    const first = await BY_CREATION.entities(em, {}, parsePage({ first: 3 }));
    const last = first.edges.at(-1)!.node;
    const lastAt = (last.createdAt.getTime() - T0) / 1000;
    // Before the cursor, after it, and on its very time (on either side of its id).
    const added = await addNotes([-5, 5, lastAt, lastAt, lastAt, 25, 60]);
    const seen = [...ids(first)];
    let after = first.pageInfo.endCursor;
    for (;;) {
      const page = await BY_CREATION.entities(orm.em.fork(), {}, parsePage({ first: 3, after }));
      seen.push(...ids(page));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const now = inOrder([...notes, ...added]);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...ids(first), ...now.slice(now.indexOf(last.id) + 1)]);
    expect(seen).toEqual(expect.arrayContaining(notes.map((note) => note.id)));
  });

  it('reads plain rows by SQL with the same ids and cursors as entities, one query each, untracked', async () => {
    await addNotes([3, 1, 1, 2, 0], { list: 'a' });
    await addNotes([1, 2], { list: 'b' });
    const query = { where: () => ({ list: 'a' }) };
    const sql = notesOf({ sql: 'list = ?', params: ['a'] });
    for (const args of [{ first: 2 }, { first: 10 }, { last: 2 }, { last: 10 }]) {
      const entities = await BY_CREATION.entities(em, query, parsePage(args));
      queries.length = 0;
      const rows = await BY_CREATION.select(reads, sql, parsePage(args), noteView);
      expect(queries).toHaveLength(1);
      expect(ids(rows)).toEqual(ids(entities));
      expect(rows.edges.map((edge) => edge.cursor)).toEqual(entities.edges.map((edge) => edge.cursor));
      expect(rows.pageInfo).toEqual(entities.pageInfo);
      expect(await rows.totalCount()).toBe(5);
      // Later pages too: a cursor from one reads on in the other.
      if (entities.pageInfo.hasNextPage) {
        const next = parsePage({ first: 2, after: entities.pageInfo.endCursor });
        expect(ids(await BY_CREATION.select(reads, sql, next, noteView))).toEqual(ids(await BY_CREATION.entities(em, query, next)));
      }
    }
    const { edges } = await BY_CREATION.select(reads, sql, parsePage({ first: 1 }), noteView);
    expect(edges[0]!.node).not.toBeInstanceOf(Note);
    expect(edges[0]!.node.createdAt).toBeInstanceOf(Date);
  });

  it('neither repeats nor skips a plain row when rows are inserted between pages', async () => {
    const notes = await addNotes([0, 10, 20, 20, 30]);
    const first = await BY_CREATION.select(reads, notesOf(), parsePage({ first: 2 }), noteView);
    const last = first.edges.at(-1)!.node;
    const added = await addNotes([-5, (last.createdAt.getTime() - T0) / 1000, 25]);
    const seen = [...ids(first)];
    for (let after = first.pageInfo.endCursor; ; ) {
      const page = await BY_CREATION.select(reads, notesOf(), parsePage({ first: 2, after }), noteView);
      seen.push(...ids(page));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const now = inOrder([...notes, ...added]);
    expect(seen).toEqual([...ids(first), ...now.slice(now.indexOf(last.id) + 1)]);
  });

  it('filters by a MikroORM where, by SQL, or by both, and counts what it filters', async () => {
    await addNotes([0, 1, 2], { list: 'a', kind: 'x' });
    await addNotes([3, 4], { list: 'a', kind: 'y' });
    await addNotes([5], { list: 'b', kind: 'x' });
    const read = async (query: Parameters<typeof BY_CREATION.entities>[1]) => {
      const page = await BY_CREATION.entities(em, query, parsePage({ first: 2 }));
      return { size: page.edges.length, total: await page.totalCount(), next: page.pageInfo.hasNextPage };
    };
    expect(await read({ where: () => ({ list: 'a' }) })).toEqual({ size: 2, total: 5, next: true });
    expect(await read({ sql: { sql: 'kind = ?', params: ['x'] } })).toEqual({ size: 2, total: 4, next: true });
    expect(await read({ where: () => ({ list: 'a' }), sql: { sql: 'kind = ?', params: ['y'] } })).toEqual({
      size: 2,
      total: 2,
      next: false,
    });
    const after = (await BY_CREATION.entities(em, { where: () => ({ list: 'a' }) }, parsePage({ first: 4 }))).pageInfo.endCursor;
    const rest = await BY_CREATION.select(
      reads,
      notesOf({ sql: 'list = ? and kind in (?, ?)', params: ['a', 'x', 'y'] }),
      parsePage({ first: 4, after }),
      noteView,
    );
    expect(rest.edges.map((edge) => edge.node.kind)).toEqual(['y']);
    expect(await rest.totalCount()).toBe(5);
  });

  it('reads one page in one query, and counts only when asked', async () => {
    await addNotes([0, 1, 2]);
    queries.length = 0;
    const page = await BY_CREATION.entities(
      em,
      {},
      parsePage({ first: 2, after: encodeCursor([new Date(T0).toISOString(), randomUUID()]) }),
    );
    expect(queries).toHaveLength(1);
    expect(await page.totalCount()).toBe(3);
    await page.totalCount();
    expect(queries).toHaveLength(2);
  });

  it("keeps the cursor formats: [time, id], [id], and a tagged order's [tag, time, id] as in the README", async () => {
    const [note] = await addNotes([0]);
    const page = await BY_CREATION.entities(em, {}, parsePage({ first: 1 }));
    expect(page.edges[0]!.cursor).toBe(encodeCursor([note!.createdAt.toISOString(), note!.id]));
    const tagged = await TAGGED.select(reads, notesOf(), parsePage({ first: 1 }), noteView);
    expect(tagged.edges[0]!.cursor).toBe(encodeCursor(['createdAt', note!.createdAt.toISOString(), note!.id]));
    const writer = orm.em.fork();
    const entry = writer.create(Entry, { list: 'a' });
    await writer.flush();
    expect((await BY_ID.entities(em, {}, parsePage({ first: 1 }))).edges[0]!.cursor).toBe(encodeCursor([entry.id]));
    // A cursor the README shows, from a server of an earlier version: still a position in this order.
    const readme = 'WyJjcmVhdGVkQXQiLCIyMDI2LTEyLTAxVDA5OjMyOjEzLjUwN1oiLCIyNGI3YjBhMy04NDRiLTQwNDMtOGZjOS1mZDA4MmViMGQ0MDQiXQ';
    expect(parsePage({ after: readme }).cursor).toEqual(['createdAt', '2026-12-01T09:32:13.507Z', '24b7b0a3-844b-4043-8fc9-fd082eb0d404']);
    expect(ids(await TAGGED.entities(em, {}, parsePage({ last: 5, before: readme })))).toEqual([note!.id]);
  });

  it.each([
    ['a cursor of another length', BY_CREATION, [new Date(T0).toISOString()], 'Not a cursor of this list.'],
    ['a time that is no time', BY_CREATION, ['yesterday', randomUUID()], 'Not a cursor of this list.'],
    ['an id that is no UUID', BY_CREATION, [new Date(T0).toISOString(), 'x'], 'Not a cursor of this list.'],
    ['a number where text is due', BY_CREATION, [T0, randomUUID()], 'Not a cursor of this list.'],
    [
      'a cursor of another order',
      TAGGED,
      ['updatedAt', new Date(T0).toISOString(), randomUUID()],
      'is not a cursor of this list in this order.',
    ],
    [
      'an untagged cursor in a tagged order',
      TAGGED,
      [new Date(T0).toISOString(), randomUUID()],
      'is not a cursor of this list in this order.',
    ],
    ['a UUID where a serial is due', BY_ID, [randomUUID()], 'Not a cursor of this list.'],
    ['a serial as a number', BY_ID, [12], 'Not a cursor of this list.'],
    // These reached PostgreSQL once, which refused them: an unexpected error instead of a bad cursor.
    ['a serial beyond bigint', BY_ID, ['9223372036854775808'], 'Not a cursor of this list.'],
    ["a time beyond PostgreSQL's", BY_CREATION, ['+275760-09-13T00:00:00.000Z', randomUUID()], 'Not a cursor of this list.'],
    ["a time before PostgreSQL's", BY_CREATION, ['-271821-04-20T00:00:00.000Z', randomUUID()], 'Not a cursor of this list.'],
  ] as const)('refuses %s, naming the field', async (_, keyset, values, message) => {
    for (const [args, field] of [
      [{ first: 1, after: encodeCursor(values) }, 'after'],
      [{ last: 1, before: encodeCursor(values) }, 'before'],
    ] as const) {
      const error = await (keyset as Keyset<Note>).entities(em, {}, parsePage(args)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error).toMatchObject({ field, message: message.startsWith('is') ? `\`${field}\` ${message}` : message });
    }
  });
});

describe('Keyset first pages', () => {
  it("reads the first page of every partition in one query, the same as each one's own page", async () => {
    await addNotes([4, 1, 1, 2, 0], { list: 'a', kind: 'x' });
    await addNotes([2, 1], { list: 'b', kind: 'x' });
    await addNotes([9], { list: 'b', kind: 'y' });
    await addNotes([3], { list: 'c', kind: 'y' });
    const query = {
      ...notesOf({ sql: 'list = any(?) and kind = ?', params: [['a', 'b', 'c', 'd'], 'x'] }),
      partitionBy: ['list'],
      size: 2,
    };
    queries.length = 0;
    const found = await BY_CREATION.selectFirstPages(reads, query, noteView);
    expect(queries).toHaveLength(1);
    expect(found.map((page) => [page.partition, page.total])).toEqual([
      [['a'], 5],
      [['b'], 2],
    ]);
    expect(found[0]!.rows[0]).not.toBeInstanceOf(Note);
    expect(found[0]!.rows[0]!.createdAt).toBeInstanceOf(Date);
    for (const first of found) {
      const page = parsePage({ first: 2 });
      const own = await BY_CREATION.entities(
        em,
        { where: () => ({ list: first.partition[0] as string }), sql: { sql: 'kind = ?', params: ['x'] } },
        page,
      );
      const batched = BY_CREATION.connection(first.rows, page, async () => first.total);
      expect(batched.edges.map((edge) => edge.cursor)).toEqual(own.edges.map((edge) => edge.cursor));
      expect(batched.pageInfo).toEqual(own.pageInfo);
      expect(await batched.totalCount()).toBe(await own.totalCount());
    }
  });

  it("orders a descending list's first pages newest first", async () => {
    const writer = orm.em.fork();
    for (const list of ['a', 'b', 'a', 'a', 'b']) writer.create(Entry, { list });
    await writer.flush();
    const [a, b] = await BY_ID.selectFirstPages(
      reads,
      { table: 'keyset_entries', columns: 'id, list', partitionBy: ['list'], size: 1, order: 'desc' },
      (row: { id: string; list: string }) => row,
    );
    const newest = async (list: string) => (await em.find(Entry, { list }, { orderBy: { id: 'desc' } })).map((entry) => entry.id);
    expect(a!.rows.map((row) => row.id)).toEqual((await newest('a')).slice(0, 2));
    expect(b!.rows.map((row) => row.id)).toEqual((await newest('b')).slice(0, 2));
    expect([a!.total, b!.total]).toEqual([3, 2]);
  });
});
