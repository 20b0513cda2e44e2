import type { Logger } from '../platform/logger.ts';
import type { App } from '../app.ts';
import { ScanFeed } from '../scans/scan-feed.service.ts';
import { ScanService } from '../scans/scan.service.ts';

/** What every resolver receives: per-request services over a forked EntityManager. */
export type GraphQLContext = {
  requestId: string;
  logger: Logger;
  services: { scans: ScanService; scanFeed: ScanFeed };
};

/** Builds a request's context. No singletons: each request gets its own unit of work and loaders. */
export function createContext(app: App, requestId: string): GraphQLContext {
  const em = app.orm.em.fork();
  return {
    requestId,
    logger: app.logger.child({ requestId }),
    services: {
      scans: new ScanService({ em, events: app.events, jobs: app.jobs, scope: app.scope, limits: app.config.scans, clock: app.clock }),
      scanFeed: new ScanFeed({ em, events: app.events, clock: app.clock }),
    },
  };
}
