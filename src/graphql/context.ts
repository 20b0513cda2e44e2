import { AuditLog } from '../audit/audit-log.ts';
import type { App } from '../app.ts';
import type { Logger } from '../platform/logger.ts';
import { ScanFeed } from '../scans/scan-feed.service.ts';
import { ScanService } from '../scans/scan.service.ts';
import { ScopeService } from '../scope/scope.service.ts';
import { ApiTokenService } from '../users/api-token.service.ts';
import { AuthService } from '../users/auth.service.ts';
import { UserService } from '../users/user.service.ts';
import type { Viewer } from '../access/viewer.ts';

/** What every resolver receives: per-request services over a forked EntityManager, all acting for one viewer. */
export type GraphQLContext = {
  requestId: string;
  logger: Logger;
  viewer: Viewer;
  services: {
    scans: ScanService;
    scanFeed: ScanFeed;
    users: UserService;
    auth: AuthService;
    apiTokens: ApiTokenService;
    scopes: ScopeService;
    audit: AuditLog;
  };
};

export type RequestInfo = {
  requestId: string;
  /** Who is calling, already authenticated (see `Authenticator`). */
  viewer: Viewer;
  /** The client's address, for the audit log and login rate limits. */
  ip: string | null;
};

/** Builds a request's context. No singletons: each request gets its own unit of work and loaders. */
export function createContext(app: App, { requestId, viewer, ip }: RequestInfo): GraphQLContext {
  const em = app.orm.em.fork();
  const { events, clock } = app;
  const audit = new AuditLog({ em, viewer, ip, clock });
  const logger = app.logger.child({ requestId });
  return {
    requestId,
    logger,
    viewer,
    services: {
      scans: new ScanService({ em, viewer, audit, events, jobs: app.jobs, scope: app.scope, limits: app.config.scans, clock, resolve: app.resolve, logger }),
      scanFeed: new ScanFeed({ em, viewer, events, clock }),
      users: new UserService({ em, viewer, audit, events, clock }),
      auth: new AuthService({ em, viewer, tokens: app.accessTokens, audit, events, clock, limits: app.config.auth, logger }),
      apiTokens: new ApiTokenService({ em, viewer, audit, events, clock }),
      scopes: new ScopeService({ em, viewer, audit, baseline: app.scope, clock }),
      audit,
    },
  };
}
