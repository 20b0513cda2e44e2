import { type EntityManager, type EntityName, type FilterQuery, raw } from '@mikro-orm/postgresql';
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

/** A plain row: the selected properties, a relation as its key, not tracked by the EntityManager. */
export type PlainRow<T, F extends keyof T> = { [K in F]: Plain<T[K]> };
type Plain<V> = V extends Date ? V : V extends { id: infer Id } ? Id : V;

/** The first pages of a list's partitions (`partitionBy`, e.g. each scan's results), `size` rows each. */
export type FirstPagesQuery<T> = KeysetQuery<T> & { partitionBy: readonly (keyof T & string)[]; size: number };

/** One owner's first page, from `firstPages`: the partition's values (columns, as stored), its rows and its total. */
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
  /** The entity read by `entities`, `rows` and entity `firstPages`; `select` needs none. */
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
 * come as entities (tracked, for code that needs their behaviour) or as plain
 * rows of chosen properties (for read views); both read the same SQL and give
 * the same cursors. Cursors are the key values: `[id]`,
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

  /** A page of plain rows with `fields` (the keys are added), in one query, read as committed. */
  async rows<const F extends keyof T & string>(
    em: EntityManager,
    query: KeysetQuery<T>,
    page: Page,
    fields: readonly F[],
  ): Promise<Connection<PlainRow<T, F | K>>> {
    const rows = await this.#pageQuery(em, query, page, this.#withKeys(fields)).execute<PlainRow<T, F | K>[]>('all');
    return this.connection(rows, page, () => this.count(em, query));
  }

  /** How many rows the list holds. */
  count(em: EntityManager, filter: KeysetFilter<T>): Promise<number> {
    return this.#filtered(em, filter).getCount();
  }

  /**
   * The first `size` rows (and one more, to tell there are more) of each
   * partition of the list, with each one's total, in one query however many
   * partitions: the first pages of a list of lists. Entities, or plain rows
   * of `fields`. Partitions without rows are absent.
   */
  async firstPages(em: EntityManager, query: FirstPagesQuery<T>): Promise<FirstPage<T>[]>;
  async firstPages<const F extends keyof T & string>(
    em: EntityManager,
    query: FirstPagesQuery<T>,
    fields: readonly F[],
  ): Promise<FirstPage<PlainRow<T, F | K>>[]>;
  async firstPages(em: EntityManager, query: FirstPagesQuery<T>, fields?: readonly string[]): Promise<FirstPage<unknown>[]> {
    const entity = this.#entityName();
    const meta = em.getMetadata().get(entity);
    const partitionColumns = query.partitionBy.map((property) => this.#column(em, property));
    const partition = partitionColumns.join(', ');
    const sort = query.order ?? 'asc';
    const order = this.#keys.map(([property]) => `${this.#column(em, property)} ${sort}`).join(', ');
    // The partition's columns too: the outer query sorts by them.
    const selected = fields ? this.#withKeys([...fields, ...query.partitionBy] as (keyof T & string)[]) : ['*'];
    const inner = this.#filtered(em, query)
      .select([
        ...selected,
        raw(`row_number() over (partition by ${partition} order by ${order}) as keyset_position`),
        raw(`count(*) over (partition by ${partition}) as keyset_total`),
      ] as never)
      .toQuery();
    const found = await em.execute<Record<string, unknown>[]>(
      `select * from (${inner.sql}) as ranked where keyset_position <= ? order by ${partition}, ${order}`,
      [...inner.params, query.size + 1],
    );
    const pages = new Map<string, FirstPage<unknown>>();
    for (const { keyset_position: _, keyset_total: total, ...row } of found) {
      const values = partitionColumns.map((column) => row[column]);
      const key = JSON.stringify(values);
      let page = pages.get(key);
      if (!page) {
        page = { partition: values, rows: [], total: Number(total) };
        pages.set(key, page);
      }
      page.rows.push(fields ? em.getDriver().mapResult(row as never, meta) : em.map(entity, row as never));
    }
    return [...pages.values()];
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
   * `firstPages` as plain SQL through `reads`: each partition's first `size`
   * rows (and one more) and its total, in one query however many partitions,
   * each row made a read view by `view`.
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

  #pageQuery(em: EntityManager, query: KeysetQuery<T>, page: Page, fields?: readonly string[]) {
    // Reading forward in a descending list walks down the keys.
    const ascending = ((query.order ?? 'asc') === 'asc') === (page.direction === 'forward');
    const qb = this.#filtered(em, query);
    if (fields) qb.select(fields as never);
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

  #withKeys(fields: readonly (keyof T & string)[]): string[] {
    return [...new Set([...fields, ...this.#keys.map(([property]) => property)])];
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
