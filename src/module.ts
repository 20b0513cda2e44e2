import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccessTokens } from './access/access-tokens.ts';
import type { Authenticate, Grants, IdentityRevoked, Viewer } from './access/viewer.ts';
import type { Config } from './config.ts';
import type { Scope } from './net/scope.ts';
import type { Clock } from './platform/clock.ts';
import type { Orm } from './platform/db.ts';
import type { Resolve } from './platform/dns.ts';
import type { EventBus as Bus } from './platform/events.ts';
import type { JobDef, JobFailure, JobHandler, JobQueue as JobQueueOf, JobRunner as JobRunnerOf } from './platform/jobs.ts';
import type { Logger } from './platform/logger.ts';
import type { Reads } from './platform/reads.ts';

/**
 * How an area hands itself to the app: one plain object per area
 * (`scans/scans.module.ts`, …), listed once in `app.ts`. The app and the
 * GraphQL server compose whatever they are given; nothing below this file
 * lists the areas.
 *
 * The typed registries below are filled by the areas through declaration
 * merging (`declare module '../module.ts' { interface Topics { … } }`), so an
 * event, a job or a service is checked where it is used without a central
 * list naming it.
 */

/** Event topics and their payloads (plain JSON: Redis may carry them); the identity topic is everyone's, the rest the areas add. */
export interface Topics {
  identityRevoked: [event: IdentityRevoked];
}

/** Job queues and their payloads (plain JSON, kept in PostgreSQL). */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the areas
export interface Jobs {}

/** Per-request services, by name, as resolvers find them in `context.services`. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the areas
export interface Services {}

export type EventBus = Bus<Topics>;
export type JobQueue = JobQueueOf<Jobs>;
export type JobRunner = JobRunnerOf<Jobs>;

/** What every area's per-request services are built from: one request, one unit of work, one viewer. */
export type RequestScope = {
  requestId: string;
  /** This request's logger: its lines carry the request id. */
  logger: Logger;
  viewer: Viewer;
  /** The client's address, for the audit log and login limits; `null` outside a request. */
  ip: string | null;
  /** This request's own EntityManager (forked). */
  em: EntityManager;
  /** Plain reads for display, outside the EntityManager: named statements, nothing tracked. */
  reads: Reads;
  events: EventBus;
  jobs: JobQueue;
  clock: Clock;
  resolve: Resolve;
  /** The networks scans may touch as configured (`SCAN_ALLOWED_TARGETS`), parsed once; admins' scopes come from the database. */
  baseline: Scope;
  /** Signs the access tokens of login sessions. */
  accessTokens: AccessTokens;
  /** Checks credentials; told of the changes to them this request commits (`changed`). */
  authenticator: Authenticate;
  config: Config;
};

/** The long-lived parts an area's hooks, jobs and routes work with. */
export type Runtime = {
  config: Config;
  logger: Logger;
  orm: Orm;
  reads: Reads;
  events: EventBus;
  jobs: JobRunner;
  clock: Clock;
  /** Hostname lookups for work outside requests (a worker starting a scan): 10 s each, apart from the requests' own. */
  resolve: Resolve;
  baseline: Scope;
  accessTokens: AccessTokens;
  authenticator: Authenticate;
  /** A request scope, or one outside any request (a job, a route, a CLI), acting as `viewer`. */
  request(viewer: Viewer, requestId?: string, ip?: string | null): RequestScope;
  /** The services of every area for `scope`. */
  services(scope: RequestScope): Services;
};

/** A plain HTTP route beside `/graphql` (downloads, exports, health). */
export type Route = {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /** Matched against the URL path; named groups become `params`. */
  path: RegExp;
  handle(request: IncomingMessage, response: ServerResponse, params: Record<string, string>, runtime: Runtime): Promise<void>;
};

/** A node type of `Query.node`: how to load one by its local ID, and how to tell one. */
export type NodeType = {
  /** Which local IDs this type has: `uuid` (the default) or a positive `serial`. */
  id?: 'uuid' | 'serial';
  load(services: Services, id: string): Promise<unknown>;
  is(value: unknown): boolean;
};

/** A queue an area works: its own settings, and the handler a worker runs. */
export type QueueModule<N extends keyof Jobs & string = keyof Jobs & string> = {
  name: N;
  /** Retries, expiry, heartbeat: each queue its own (see `JobDef`). */
  settings(config: Config): Omit<JobDef<Jobs, N>, 'name'>;
  /** How many jobs one worker runs at once. */
  concurrency(config: Config): number;
  handler(runtime: Runtime): JobHandler<Jobs[N]>;
  /** Runs once for each job given up for good (every attempt failed, or the last one's worker died). */
  givenUp?(runtime: Runtime): (data: Jobs[N], failure: JobFailure) => Promise<void>;
};

/** A queue as the app holds it: its settings, and how a worker starts working it. */
export type AreaQueue = {
  name: keyof Jobs & string;
  settings(config: Config): Omit<JobDef<Jobs>, 'name'>;
  /** Makes this process work the queue (and end the jobs it gives up). */
  work(jobs: JobRunner, runtime: Runtime): Promise<void>;
};

/** A queue, its payload type checked against `Jobs`. */
export function defineQueue<N extends keyof Jobs & string>(queue: QueueModule<N>): AreaQueue {
  return {
    name: queue.name,
    settings: queue.settings,
    async work(jobs, runtime) {
      await jobs.work(queue.name, queue.concurrency(runtime.config), queue.handler(runtime));
      if (queue.givenUp) await jobs.onGivenUp(queue.name, queue.givenUp(runtime));
    },
  };
}

export type AreaModule = {
  name: string;
  /** MikroORM entity schemas (`defineEntity`). */
  entities?: readonly unknown[];
  /** Migrations, named `<timestamp>-<name>`; the app applies every area's in name order. */
  migrations?: readonly { name: string; class: new (...args: never[]) => object }[];
  /** Resolver maps for the area's part of the schema (`schema/<area>.graphql`). */
  resolvers?: readonly object[];
  nodes?: Record<string, NodeType>;
  /** Names of the topics this area publishes (declared in `Topics`). */
  topics?: readonly (keyof Topics)[];
  /**
   * Subscription fields whose every event goes to every subscriber as it is,
   * with nothing sent at the start (no replay of the current state):
   * subscribers of one identity asking the same share one execution of them.
   */
  sharedSubscriptions?: readonly string[];
  queues?: readonly AreaQueue[];
  /** What each role may do here: `area:verb` → `all` or `own`. */
  grants?: Grants;
  /** The audit actions this area writes (its SDL extends `enum AuditAction` with them). */
  auditActions?: readonly string[];
  routes?: readonly Route[];
  /** Runs once the app is up, in module order (sweeps, recoveries, heartbeats). */
  start?(runtime: Runtime, role: { worker: boolean }): Promise<void>;
  /** Runs on shutdown, in reverse module order. */
  stop?(runtime: Runtime): Promise<void>;
  services?(scope: RequestScope): Partial<Services>;
};
