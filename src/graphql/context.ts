import type { Authenticate, Viewer } from '../access/viewer.ts';
import type { Config } from '../config.ts';
import type { AreaModule, EventBus, Runtime, Services } from '../module.ts';
import type { Logger } from '../platform/logger.ts';

/** What every resolver receives: the services of every area for one request, all acting for one viewer. */
export type GraphQLContext = {
  requestId: string;
  logger: Logger;
  viewer: Viewer;
  services: Services;
};

export type RequestInfo = {
  requestId: string;
  /** Who is calling, already authenticated. */
  viewer: Viewer;
  /** The client's address, for the audit log and login rate limits. */
  ip: string | null;
};

/** Builds a request's context: its own unit of work, loaders and services, no singletons. */
export type ContextFactory = (info: RequestInfo) => GraphQLContext;

/** What the GraphQL server is built from: the app's long-lived parts and its areas, handed in (graphql/ imports no area). */
export type GraphQLServerDeps = {
  config: Config;
  logger: Logger;
  events: EventBus;
  authenticator: Authenticate;
  modules: readonly AreaModule[];
  context: ContextFactory;
  /** What the areas' HTTP routes work with. */
  runtime: Runtime;
};
