import type { Connection, Edge } from '../platform/pagination.ts';
import type { AuditEventView } from './audit.queries.ts';

/** What the audit resolvers return for each GraphQL type `X`, as `XMapper` (see codegen.ts). */
export type AuditEventMapper = AuditEventView;
export type AuditEventConnectionMapper = Connection<AuditEventView>;
export type AuditEventEdgeMapper = Edge<AuditEventView>;
