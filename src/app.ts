import type { Config } from './config.ts';
import { type Clock, systemClock } from './platform/clock.ts';
import { openDatabase, type Orm } from './platform/db.ts';
import { createResolver, type Resolve } from './platform/dns.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './platform/embedded-postgres.ts';
import { createEventBus, type EventBus, type EventBusHandle } from './platform/events.ts';
import { createJobRunner, type JobRunner } from './platform/jobs.ts';
import { createLogger, type Logger, withoutPassword } from './platform/logger.ts';
import { createConnectScanner } from './scans/engine/connect-scanner.ts';
import { createNmapScanner } from './scans/engine/nmap-scanner.ts';
import { createScanGivenUpHandler, createScanJob } from './scans/scan.jobs.ts';
import { Scope } from './net/scope.ts';
import { AccessTokens, loadSigningKey } from './users/access-tokens.ts';
import { Authenticator } from './users/authenticator.ts';

/** Everything long-lived, wired once; main, worker and tests build it the same way. */
export type App = {
  config: Config;
  logger: Logger;
  orm: Orm;
  events: EventBus;
  jobs: JobRunner;
  scope: Scope;
  clock: Clock;
  /** Hostname lookups, bounded in time and in number at once; scans resolve names at creation and at start. */
  resolve: Resolve;
  accessTokens: AccessTokens;
  authenticator: Authenticator;
  /** Where the data lives, for the start-up log: a URL without its password, or the embedded server's folder. */
  database: string;
  /** Where events travel, for the same log. */
  eventBus: string;
  close(): Promise<void>;
};

export type AppOverrides = {
  logger?: Logger;
  clock?: Clock;
  onQuery?: (sql: string) => void;
  /** Stands in for the system resolver: tests cannot make real names point outside the scope. */
  lookup?: Resolve;
};

export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createLogger(config.logLevel, config.env === 'development' && Boolean(process.stdout.isTTY));
  // Parse the scope before touching anything: a typo here must not start a scanner with no limits.
  const scope = Scope.fromCidrs(config.scans.allowedTargets);
  const clock = overrides.clock ?? systemClock;
  const accessTokens = new AccessTokens(loadSigningKey(config.auth.jwtSecret, config.dataDir), config.auth.accessTokenTtlSeconds, clock);
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort, fallbackDir: config.embeddedPostgresFallbackDir, logger });
    url = embedded.url;
  }
  let orm: Orm;
  let events: EventBusHandle;
  let jobs: JobRunner;
  try {
    orm = await openDatabase({ url, logger, onQuery: overrides.onQuery });
    const opened = orm;
    const bus = createEventBus({ redisUrl: config.redisUrl, logger });
    events = bus;
    jobs = await createJobRunner({ url, logger, retryLimit: config.worker.retries }).catch(async (error: unknown) => {
      await bus.close();
      await opened.close();
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
    jobs,
    scope,
    clock,
    resolve: createResolver({ lookup: overrides.lookup }),
    accessTokens,
    authenticator: new Authenticator({ em: orm.em, tokens: accessTokens, clock }),
    database: embedded ? `embedded PostgreSQL in ${embedded.pgdata}` : withoutPassword(url),
    eventBus: config.redisUrl ? withoutPassword(config.redisUrl) : 'in memory',
    async close() {
      await jobs.stop();
      await events.close();
      await orm.close();
      await embedded?.stop();
    },
  };
}

/** Makes this process a worker: it takes scan jobs from the shared queue, and ends those given up. */
export async function startWorker(app: App): Promise<void> {
  const handler = createScanJob({
    orm: app.orm,
    events: app.events,
    scope: app.scope,
    clock: app.clock,
    logger: app.logger,
    resolve: app.resolve,
    maxHosts: app.config.scans.maxHosts,
    scanners: {
      CONNECT: createConnectScanner(),
      SYN: createNmapScanner('SYN', app.config.worker.nmapPath),
      UDP: createNmapScanner('UDP', app.config.worker.nmapPath),
      VERSION: createNmapScanner('VERSION', app.config.worker.nmapPath),
    },
  });
  await app.jobs.work('scan.run', app.config.worker.concurrency, handler);
  await app.jobs.onGivenUp('scan.run', createScanGivenUpHandler(app));
}
