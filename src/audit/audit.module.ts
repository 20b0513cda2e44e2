import type { AreaModule } from '../module.ts';
import { AuditQueries, isAuditEventView } from './audit.queries.ts';
import { auditResolvers } from './audit.resolvers.ts';
import { AuditEventSchema } from './audit-event.entity.ts';
import { AuditLog } from './audit-log.ts';
import { AuditActionsOpen } from './migrations/20261201000000-audit-actions-open.ts';
import { AuditAppendOnly } from './migrations/20261201100000-audit-append-only.ts';

declare module '../module.ts' {
  interface Services {
    /** Writes entries. */
    audit: AuditLog;
    /** Reads the trail. */
    auditEvents: AuditQueries;
  }
}

declare module '../access/viewer.ts' {
  interface Permissions {
    'audit:read': true;
  }
}

/** The audit trail: every area records its acts here (its own actions); only ADMIN reads it. */
export const auditModule = {
  name: 'audit',
  entities: [AuditEventSchema],
  migrations: [
    { name: '20261201000000-audit-actions-open', class: AuditActionsOpen },
    { name: '20261201100000-audit-append-only', class: AuditAppendOnly },
  ],
  resolvers: [auditResolvers],
  nodes: { AuditEvent: { id: 'serial', load: (services, id) => services.auditEvents.get(id), is: isAuditEventView } },
  grants: { ADMIN: { 'audit:read': 'all' } },
  services: (scope) => ({ audit: new AuditLog(scope), auditEvents: new AuditQueries(scope) }),
} satisfies AreaModule;
