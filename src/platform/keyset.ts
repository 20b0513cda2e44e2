import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/postgresql';
import { InvalidInputError } from '../errors.ts';
import { type Connection, type Page, toConnection } from './pagination.ts';
import type { Reads, Sql } from './reads.ts';
import { isUuid } from './uuid.ts';

/** How a key's value is written in a cursor, and checked when a cursor comes back. */
export type KeyType = 'time' | 'uuid' | 'serial';

/** The largest bigserial: a bigger cursor value would fail in SQL instead of being refused. */
const MAX_SERIAL = 2n ** 63n - 1n;

/** Which rows a list holds; both parts, when given, must hold. */
export type KeysetFilter<T> = {
  /** A MikroORM `where`, built afresh for every query: raw fragments in one are single-use. */
  where?: () => FilterQuery<T>;
  /** SQL on the table's own columns, unqualified (the builder never joins), with `?` parameters. */
  sql?: { sql: string; params: readonly unknown[] };
};

/** A list's rows and the order it reads in. */
export type KeysetQuery<T> = KeysetFilter<T> & {
  /** The list's order read forward (`page.direction` is then forward or backward in it). @default 'asc' */
  order?: 'asc' | 'desc';
};

/** One owner's first page, from `selectFirstPages`: the partition's values (columns, as stored), its rows and its total. */
export type FirstPage<R> = { partition: readonly unknown[]; rows: R[]; total: number };

/** A list read as plain SQL (`Keyset.select`): its table, the columns a read view needs, and which rows. */
export type SqlListQuery = {
  table: string;
  /** `select` list, e.g. `id, status, created_at`: the keys' columns must be among them. */
  columns: string;
  /** On the table's own columns, unqualified, with `?` parameters. */
  where?: Sql;
  /** The list's order read forward. @default 'asc' */
  order?: 'asc' | 'desc';
};

/** The first pages of a list's partitions, read as plain SQL: `partitionBy` are columns (`scan_id`), also selected. */
export type SqlFirstPagesQuery = SqlListQuery & { partitionBy: readonly string[]; size: number };

export type KeysetOptions<T, K extends keyof T & string> = {
  /** The entity `entities` reads; `select` and `selectFirstPages` need none. */
  entity?: EntityName<T>;
  /** The order's keys, most significant first; the last is unique (the id), so no two rows tie. */
  keys: readonly (readonly [K, KeyType])[];
  /**
   * The first value of every cursor, naming this order among other orders of
   * the same list (`'createdAt'`), so a cursor of another order is refused
   * rather than misread.
   */
  tag?: string;
};

/**
 * The one keyset paginator: a table's rows in one order of unique keys, a
 * page at a time after (or before) a cursor that names a position, not an
 * offset, so pages never repeat or skip rows while others are written. Pages
 * come as plain rows read by SQL of the list's own through `Reads` (`select`,
 * `selectFirstPages`: what read views are made of), or as entities through
 * MikroORM (`entities`); both give the same positions and cursors. Cursors
 * are the key values: `[id]`,
 * `[ISO time, uuid]`, with `tag` first when the list has several orders.
 */
export class Keyset<T extends object, const K extends keyof T & string = keyof T & string> {
  readonly #entity: EntityName<T> | undefined;
  readonly #keys: readonly (readonly [K, KeyType])[];
  readonly #tag: string | undefined;

  constructor({ entity, keys, tag }: KeysetOptions<T, K>) {
    this.#entity = entity;
    this.#keys = keys;
    this.#tag = tag;
  }

  /** A page of entities; `totalCount` is counted only when asked for. */
  async entities(em: EntityManager, query: KeysetQuery<T>, page: Page): Promise<Connection<T>> {
    const rows = await this.#pageQuery(em, query, page).getResultList();
    return this.connection(rows as T[], page, () => this.count(em, query));
  }

  /** How many rows the list holds. */
  count(em: EntityManager, filter: KeysetFilter<T>): Promise<number> {
    return this.#filtered(em, filter).getCount();
  }

  /**
   * A page of plain rows through `reads` (named statements, no ORM), each
   * made a read view by `view`, whose key properties give the cursors; the
   * same positions and cursors as `entities`. `totalCount` is counted only
   * when asked for.
   */
  async select<V extends Pick<T, K>>(reads: Reads, query: SqlListQuery, page: Page, view: (row: never) => V): Promise<Connection<V>> {
    const ascending = ((query.order ?? 'asc') === 'asc') === (page.direction === 'forward');
    const where = [...(query.where ? [query.where] : [])];
    if (page.cursor) {
      const values = this.#readCursor(page.cursor, page.direction === 'forward' ? 'after' : 'before');
      const columns = this.#keys.map(([property]) => columnOf(property)).join(', ');
      where.push({ sql: `(${columns}) ${ascending ? '>' : '<'} (${values.map(() => '?').join(', ')})`, params: values });
    }
    const sort = ascending ? 'asc' : 'desc';
    const order = this.#keys.map(([property]) => `${columnOf(property)} ${sort}`).join(', ');
    const filter = whereOf(where);
    const rows = await reads.rows<never>({
      sql: `select ${query.columns} from ${query.table}${filter.sql} order by ${order} limit ?`,
      params: [...filter.params, page.size + 1],
    });
    return this.connection(rows.map(view), page, () => this.countRows(reads, query));
  }

  /** How many rows a plain list holds. */
  async countRows(reads: Reads, query: SqlListQuery): Promise<number> {
    const filter = whereOf(query.where ? [query.where] : []);
    const [row] = await reads.rows<{ total: number }>({
      sql: `select count(*)::int as total from ${query.table}${filter.sql}`,
      params: filter.params,
    });
    return row?.total ?? 0;
  }

  /**
   * The first `size` rows (and one more, to tell there are more) of each
   * partition of the list (`partitionBy`: each scan's results, say), with
   * each one's total, in one query however many partitions: the first pages
   * of a list of lists, each row made a read view by `view`. Partitions
   * without rows are absent.
   */
  async selectFirstPages<V>(reads: Reads, query: SqlFirstPagesQuery, view: (row: never) => V): Promise<FirstPage<V>[]> {
    const partition = query.partitionBy.join(', ');
    const sort = query.order ?? 'asc';
    const order = this.#keys.map(([property]) => `${columnOf(property)} ${sort}`).join(', ');
    const filter = whereOf(query.where ? [query.where] : []);
    // The partition's columns too, once: the outer query sorts by them.
    const selected = query.columns.split(',').map((column) => column.trim());
    const columns = [...selected, ...query.partitionBy.filter((column) => !selected.includes(column))].join(', ');
    const found = await reads.rows<Record<string, unknown>>({
      sql: `select * from (
          select ${columns},
            row_number() over (partition by ${partition} order by ${order}) as keyset_position,
            count(*) over (partition by ${partition})::int as keyset_total
          from ${query.table}${filter.sql}
        ) as ranked where keyset_position <= ? order by ${partition}, ${order}`,
      params: [...filter.params, query.size + 1],
    });
    const pages = new Map<string, FirstPage<V>>();
    for (const row of found) {
      const values = query.partitionBy.map((column) => row[column]);
      const key = JSON.stringify(values);
      let page = pages.get(key);
      if (!page) {
        page = { partition: values, rows: [], total: Number(row.keyset_total) };
        pages.set(key, page);
      }
      page.rows.push(view(row as never));
    }
    return [...pages.values()];
  }

  /** A connection of rows read in this order (`page.size + 1` of them at most), with this order's cursors. */
  connection<R>(rows: R[], page: Page, count: () => Promise<number>): Connection<R> {
    return toConnection(rows, page, (row) => this.#cursorOf(row as Record<string, unknown>), count);
  }

  #pageQuery(em: EntityManager, query: KeysetQuery<T>, page: Page) {
    // Reading forward in a descending list walks down the keys.
    const ascending = ((query.order ?? 'asc') === 'asc') === (page.direction === 'forward');
    const qb = this.#filtered(em, query);
    if (page.cursor) {
      const values = this.#readCursor(page.cursor, page.direction === 'forward' ? 'after' : 'before');
      // A row comparison: the position after (or before) the cursor's, which an index on the keys serves as one range.
      const columns = this.#keys.map(([property]) => `keyset.${this.#column(em, property)}`).join(', ');
      qb.andWhere(`(${columns}) ${ascending ? '>' : '<'} (${values.map(() => '?').join(', ')})`, values);
    }
    const sort = ascending ? 'asc' : 'desc';
    return qb.orderBy(this.#keys.map(([property]) => ({ [property]: sort })) as never).limit(page.size + 1);
  }

  /** A query of the list's rows, not yet ordered. */
  #filtered(em: EntityManager, { where, sql }: KeysetFilter<T>) {
    const qb = em.createQueryBuilder(this.#entityName(), 'keyset');
    qb.where((where?.() ?? {}) as never);
    if (sql) qb.andWhere(sql.sql, [...sql.params]);
    return qb;
  }

  #entityName(): EntityName<T> {
    if (!this.#entity) throw new Error('This keyset reads plain SQL (`select`): it names no entity.');
    return this.#entity;
  }

  #column(em: EntityManager, property: keyof T & string): string {
    const meta = em.getMetadata().get(this.#entityName());
    const column = (meta.properties as Record<string, { fieldNames: string[] } | undefined>)[property]?.fieldNames[0];
    if (!column) throw new Error(`${property} is not a column of ${meta.className}.`);
    return column;
  }

  #cursorOf(row: Record<string, unknown>): unknown[] {
    const values = this.#keys.map(([property, type]) => {
      const value = row[property];
      return type === 'time' ? (value instanceof Date ? value : new Date(String(value))).toISOString() : String(value);
    });
    return this.#tag === undefined ? values : [this.#tag, ...values];
  }

  /** The key values a cursor names, as SQL parameters; a cursor of another list, order or shape is refused naming `field`. */
  #readCursor(cursor: readonly unknown[], field: 'after' | 'before'): unknown[] {
    const tagged = this.#tag !== undefined;
    const values = tagged ? cursor.slice(1) : cursor;
    const fits =
      (!tagged || cursor[0] === this.#tag) &&
      values.length === this.#keys.length &&
      this.#keys.every(([, type], at) => fitsKey(type, values[at]));
    if (!fits) {
      throw new InvalidInputError(
        field,
        tagged ? `\`${field}\` is not a cursor of this list in this order.` : 'Not a cursor of this list.',
      );
    }
    return this.#keys.map(([, type], at) => (type === 'time' ? new Date(values[at] as string) : values[at]));
  }
}

/** A key's column, by the naming MikroORM uses for every entity here: `createdAt` is `created_at`. */
function columnOf(property: string): string {
  return property.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** ` where a and b`, or nothing. */
function whereOf(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return { sql: '', params: [] };
  return { sql: ` where ${parts.map((part) => `(${part.sql})`).join(' and ')}`, params: parts.flatMap((part) => part.params) };
}

function fitsKey(type: KeyType, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (type === 'uuid') return isUuid(value);
  if (type === 'serial') return /^\d+$/.test(value) && BigInt(value) <= MAX_SERIAL;
  const year = new Date(value).getUTCFullYear();
  // Four-digit years: every time a row can have, and within what PostgreSQL's timestamps hold (JavaScript's reach further).
  return year >= 0 && year <= 9999;
}
