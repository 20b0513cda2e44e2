import type { Connection, Edge } from '../platform/pagination.ts';
import type { AuditEvent } from './audit-event.entity.ts';

/** What the audit resolvers return for each GraphQL type, named as the type (see codegen.ts). */
export type { AuditEvent } from './audit-event.entity.ts';
export type AuditEventConnection = Connection<AuditEvent>;
export type AuditEventEdge = Edge<AuditEvent>;
