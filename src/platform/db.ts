import { stripVTControlCharacters as plain } from 'node:util';
import { DefaultLogger, type LogContext, type LoggerOptions } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, type EntityManager, MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { Logger } from './logger.ts';

export type Orm = MikroORM;

/** A committed migration: `<timestamp>-<name>` and its class. */
export type MigrationEntry = { name: string; class: new (...args: never[]) => object };

export type DatabaseOptions = {
  url: string;
  logger: Logger;
  /** Every entity schema (`defineEntity`) of every area. */
  entities: readonly unknown[];
  /** Every migration of every area; applied in name order, so timestamps order them across areas. */
  migrations: readonly MigrationEntry[];
  /** Called with every SQL statement; tests count queries with it. */
  onQuery?: (sql: string) => void;
  /** Pool size per process. @default 10 */
  poolSize?: number;
};

/**
 * Routes MikroORM's own logs into pino, and each query to `onQuery` when asked.
 * MikroORM colours its messages for a terminal; inside JSON the escape codes are noise.
 */
function loggerFactory(logger: Logger, onQuery?: (sql: string) => void) {
  return (options: LoggerOptions) =>
    new (class extends DefaultLogger {
      override log(namespace: string, message: string): void {
        logger.debug({ namespace }, plain(message));
      }
      override error(namespace: string, message: string): void {
        logger.error({ namespace }, plain(message));
      }
      override warn(namespace: string, message: string): void {
        logger.warn({ namespace }, plain(message));
      }
      override logQuery(context: LogContext): void {
        if (context.query) onQuery?.(context.query);
      }
    })(options);
}

export function ormConfig({ url, logger, entities, migrations, onQuery, poolSize = 10 }: DatabaseOptions) {
  return defineConfig({
    clientUrl: url,
    entities: [...entities] as never[],
    extensions: [Migrator],
    migrations: {
      migrationsList: [...migrations].sort((a, b) => a.name.localeCompare(b.name)) as never[],
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    pool: { max: poolSize },
    debug: onQuery ? ['query'] : false,
    colors: false,
    loggerFactory: loggerFactory(logger, onQuery),
    // Entities are defined with defineEntity: nothing to discover from files or decorators.
    discovery: { warnWhenNoEntities: true },
    allowGlobalContext: false,
  });
}

/**
 * Connects and applies pending migrations; a failed migration leaves the
 * schema as it was. API and worker processes often start together on a new
 * database: an advisory lock lets one migrate while the others wait.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Orm> {
  const orm = await MikroORM.init(ormConfig(options));
  const lock = new pg.Client({ connectionString: options.url });
  try {
    await lock.connect();
    await lock.query('select pg_advisory_lock(hashtext($1))', [MIGRATION_LOCK]);
    const applied = await orm.migrator.up();
    if (applied.length > 0) options.logger.info({ migrations: applied.map((m) => m.name) }, 'applied database migrations');
  } catch (error) {
    await orm.close();
    throw error;
  } finally {
    // Ending the session releases the lock.
    await lock.end().catch(() => {});
  }
  return orm;
}

const MIGRATION_LOCK = 'scanops:migrations';

/**
 * Holds an advisory lock on `key` until `em`'s transaction ends: callers on the
 * same key take turns. The two-key form, so `space` keeps unrelated uses apart
 * (and apart from the one-key migration lock).
 */
export async function lockUntilCommit(em: EntityManager, space: number, key: string): Promise<void> {
  await em.execute('select pg_advisory_xact_lock(?, hashtext(?))', [space, key]);
}
