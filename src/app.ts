import type { Config } from './config.ts';
import { type Clock, systemClock } from './platform/clock.ts';
import { openDatabase, type Orm } from './platform/db.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './platform/embedded-postgres.ts';
import { createEventBus, type EventBus, type EventBusHandle } from './platform/events.ts';
import { createLogger, type Logger } from './platform/logger.ts';
import { Scope } from './scope/scope.ts';

/** Everything long-lived, wired once; main, worker and tests build it the same way. */
export type App = {
  config: Config;
  logger: Logger;
  orm: Orm;
  events: EventBus;
  scope: Scope;
  clock: Clock;
  /** Where the data lives, for the start-up log: a URL without its password, or the embedded server's folder. */
  database: string;
  /** Where events travel, for the same log. */
  eventBus: string;
  close(): Promise<void>;
};

export type AppOverrides = { logger?: Logger; clock?: Clock; onQuery?: (sql: string) => void };

export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger(config.logLevel, config.env === 'development' && Boolean(process.stdout.isTTY));
  // Parse the scope before touching anything: a typo here must not start a scanner with no limits.
  const scope = Scope.fromCidrs(config.scans.allowedTargets);
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort, logger });
    url = embedded.url;
  }
  let orm: Orm;
  let events: EventBusHandle;
  try {
    orm = await openDatabase({ url, logger, onQuery: overrides.onQuery });
    events = await createEventBus(config.redisUrl).catch(async (error: unknown) => {
      await orm.close();
      throw error;
    });
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  return {
    config,
    logger,
    orm,
    events: events.bus,
    scope,
    clock: overrides.clock ?? systemClock,
    database: embedded ? `embedded PostgreSQL in ${config.dataDir}` : redact(url),
    eventBus: config.redisUrl ? redact(config.redisUrl) : 'in memory',
    async close() {
      await events.close();
      await orm.close();
      await embedded?.stop();
    },
  };
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
