import { randomUUID } from 'node:crypto';
import { AccessTokens, loadSigningKey } from './access/access-tokens.ts';
import { composeGrants, type Grants, Viewer } from './access/viewer.ts';
import type { Config } from './config.ts';
import type { ContextFactory, GraphQLServerDeps } from './graphql/context.ts';
import type { AreaModule, EventBus, JobRunner, Jobs, RequestScope, Runtime, Services, Topics } from './module.ts';
import { modules } from './modules.ts';
import { Scope } from './net/scope.ts';
import { type Clock, systemClock } from './platform/clock.ts';
import { type Orm, openDatabase } from './platform/db.ts';
import { createResolver, type Resolve } from './platform/dns.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './platform/embedded-postgres.ts';
import { createEventBus, type EventBusHandle } from './platform/events.ts';
import { createJobRunner } from './platform/jobs.ts';
import { createLogger, type Logger, withoutPassword } from './platform/logger.ts';
import { PgListener } from './platform/pg-listen.ts';
import { Reads } from './platform/reads.ts';
import { Authenticator } from './users/authenticator.ts';
import { IDENTITY_CHANNEL } from './users/identity-changes.ts';

/** Every area's entities and migrations, for the database. */
export const entities = modules.flatMap((module) => module.entities ?? []);
export const migrations = modules.flatMap((module) => module.migrations ?? []);

/** Everything long-lived, wired once; main, worker and tests build it the same way. */
export type App = Runtime & {
  modules: readonly AreaModule[];
  grants: Grants;
  authenticator: Authenticator;
  /** Where the data lives, for the start-up log: a URL without its password, or the embedded server's folder. */
  database: string;
  /** Where events travel, for the same log. */
  eventBus: string;
  /** The context of one GraphQL request. */
  requestContext: ContextFactory;
  /** What the GraphQL server is built from. */
  server: GraphQLServerDeps;
  /** Runs each area's start hook; `worker`: this process also works the areas' job queues. */
  start(role: { worker: boolean }): Promise<void>;
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
  const baseline = Scope.fromCidrs(config.scans.allowedTargets);
  const grants = composeGrants(modules.map((module) => module.grants));
  const clock = overrides.clock ?? systemClock;
  const accessTokens = new AccessTokens(loadSigningKey(config.auth.jwtSecret, config.dataDir), config.auth.accessTokenTtlSeconds, clock);
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      fallbackDir: config.embeddedPostgresFallbackDir,
      logger,
    });
    url = embedded.url;
  }
  let orm: Orm;
  let events: EventBusHandle<Topics>;
  let jobs: JobRunner;
  try {
    orm = await openDatabase({
      url,
      logger,
      entities,
      migrations,
      onQuery: overrides.onQuery,
    });
    const opened = orm;
    const bus = createEventBus<Topics>({ redisUrl: config.redisUrl, logger });
    events = bus;
    const queues = modules.flatMap((module) => module.queues ?? []).map((queue) => ({ name: queue.name, ...queue.settings(config) }));
    jobs = await createJobRunner<Jobs>({ url, logger, queues }).catch(async (error: unknown) => {
      await bus.close();
      await opened.close();
      throw error;
    });
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const reads = await Reads.of(orm, overrides.onQuery);
  const cacheTtlMs = config.auth.identityCacheSeconds * 1000;
  // Its own connection to the same database, embedded or not; it listens from `start` until `close`.
  const identityChanges = cacheTtlMs > 0 ? new PgListener({ url, channel: IDENTITY_CHANNEL, logger }) : undefined;
  const authenticator = new Authenticator({ em: orm.em, tokens: accessTokens, clock, grants, changes: identityChanges, cacheTtlMs });
  // Requests and workers look names up through separate gates: names that hang in a create request
  // cannot hold the lookups a worker needs to start scans, and a start waits longer than a request would.
  const resolve = createResolver({ lookup: overrides.lookup });
  const resolveAtStart = createResolver({ lookup: overrides.lookup, timeoutMs: 10_000 });
  const bus: EventBus = events.bus;
  const request = (viewer: Viewer, requestId: string = randomUUID(), ip: string | null = null): RequestScope => ({
    requestId,
    logger: logger.child({ requestId }),
    viewer,
    ip,
    em: orm.em.fork(),
    reads,
    events: bus,
    jobs,
    clock,
    resolve,
    baseline,
    accessTokens,
    authenticator,
    config,
  });
  const services = (scope: RequestScope) => Object.assign({}, ...modules.map((module) => module.services?.(scope) ?? {})) as Services;
  // Two areas offering a service of one name would see one silently replace the other: refuse to start instead.
  const offered = new Map<string, string>();
  for (const module of modules) {
    for (const name of Object.keys(module.services?.(request(Viewer.anonymous())) ?? {})) {
      const other = offered.get(name);
      if (other) throw new Error(`The ${module.name} and ${other} areas both offer a service named ${name}.`);
      offered.set(name, module.name);
    }
  }
  const runtime: Runtime = {
    config,
    logger,
    orm,
    reads,
    events: bus,
    jobs,
    clock,
    resolve: resolveAtStart,
    baseline,
    accessTokens,
    authenticator,
    request,
    services,
  };
  const context: ContextFactory = ({ requestId, viewer, ip }) => {
    const scope = request(viewer, requestId, ip);
    return { requestId, logger: scope.logger, viewer, services: services(scope) };
  };
  let started: readonly AreaModule[] = [];
  return {
    ...runtime,
    modules,
    grants,
    authenticator,
    database: embedded ? `embedded PostgreSQL in ${embedded.pgdata}` : withoutPassword(url),
    eventBus: config.redisUrl ? withoutPassword(config.redisUrl) : 'in memory',
    requestContext: context,
    server: { config, logger, events: bus, authenticator, modules, context, runtime },
    async start({ worker }) {
      await identityChanges?.start();
      if (worker) {
        for (const queue of modules.flatMap((module) => module.queues ?? [])) await queue.work(jobs, runtime);
      }
      for (const module of modules) {
        await module.start?.(runtime, { worker });
        started = [...started, module];
      }
    },
    async close() {
      for (const module of [...started].reverse()) {
        await module
          .stop?.(runtime)
          .catch((error: unknown) => logger.error({ err: error, module: module.name }, 'area did not stop cleanly'));
      }
      await identityChanges?.close();
      await jobs.stop();
      await events.close();
      await orm.close();
      await embedded?.stop();
    },
  };
}
