import { createHash } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';

/** SQL with `?` placeholders and the values for them, in order. */
export type Sql = { sql: string; params: readonly unknown[] };

/**
 * Reads for display: plain rows straight from the connection pool, as named
 * prepared statements (PostgreSQL parses and plans each shape once per
 * connection, and values travel as parameters, never inlined), with no
 * identity map or change tracking. Commands keep using entities; a read view
 * is built from what these return. Each read sees what is committed.
 */
export class Reads {
  readonly #pool: pg.Pool;
  readonly #onQuery: ((sql: string) => void) | undefined;
  /** Each shape's numbered text and statement name, by its text as written: the same name in every connection. */
  readonly #statements = new Map<string, { text: string; name: string }>();

  constructor(pool: pg.Pool, onQuery?: (sql: string) => void) {
    this.#pool = pool;
    this.#onQuery = onQuery;
  }

  /** The pool MikroORM reads and writes through: one set of connections for both. */
  static async of(orm: MikroORM, onQuery?: (sql: string) => void): Promise<Reads> {
    return new Reads(await orm.em.getConnection().getNativeClient(), onQuery);
  }

  /** The rows `query` selects; `?` placeholders (no `?` operators in the text) become `$1`, `$2`, …. */
  async rows<R>({ sql, params }: Sql): Promise<R[]> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      const text = numbered(sql);
      statement = { text, name: `r_${createHash('sha1').update(text).digest('hex').slice(0, 20)}` };
      this.#statements.set(sql, statement);
    }
    const { text, name } = statement;
    this.#onQuery?.(text);
    // pg's own parsers (timestamps as Dates), not MikroORM's, which keep them as text for its hydration.
    const result = await this.#pool.query<R & pg.QueryResultRow>({ name, text, values: [...params], types: pg.types });
    return result.rows;
  }
}

function numbered(sql: string): string {
  let at = 0;
  return sql.replace(/\?/g, () => `$${++at}`);
}
