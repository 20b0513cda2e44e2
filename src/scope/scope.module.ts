import { AuditLog } from '../audit/audit-log.ts';
import type { AreaModule } from '../module.ts';
import { scopeResolvers } from './scope.resolvers.ts';
import { isScopeView, ScopeService } from './scope.service.ts';
import { ScopeNetworkSchema } from './scope-network.entity.ts';

declare module '../module.ts' {
  interface Services {
    scopes: ScopeService;
  }
}

declare module '../access/viewer.ts' {
  interface Permissions {
    'scope:read': true;
    'scope:manage': true;
  }
}

declare module '../audit/audit-event.entity.ts' {
  interface AuditActions {
    SCOPE_CREATED: true;
    SCOPE_DELETED: true;
  }
}

/** The networks scans may touch: the configured baseline, and the scopes admins add. Everyone signed in reads them. */
export const scopeModule = {
  name: 'scope',
  entities: [ScopeNetworkSchema],
  resolvers: [scopeResolvers],
  nodes: { Scope: { load: (services, id) => services.scopes.get(id), is: isScopeView } },
  grants: {
    ADMIN: { 'scope:read': 'all', 'scope:manage': 'all' },
    ANALYST: { 'scope:read': 'all' },
    VIEWER: { 'scope:read': 'all' },
  },
  auditActions: ['SCOPE_CREATED', 'SCOPE_DELETED'],
  services: (scope) => ({
    scopes: new ScopeService({
      em: scope.em,
      reads: scope.reads,
      viewer: scope.viewer,
      audit: new AuditLog(scope),
      baseline: scope.baseline,
      clock: scope.clock,
    }),
  }),
} satisfies AreaModule;
