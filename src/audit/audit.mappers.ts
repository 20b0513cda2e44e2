import type { Connection, Edge } from '../platform/pagination.ts';
import type { AuditEvent } from './audit-event.entity.ts';

/** What the audit resolvers return for each GraphQL type `X`, as `XMapper` (see codegen.ts). */
export type AuditEventMapper = AuditEvent;
export type AuditEventConnectionMapper = Connection<AuditEvent>;
export type AuditEventEdgeMapper = Edge<AuditEvent>;
