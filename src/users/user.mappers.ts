import type { AuditEvent } from '../audit/audit-event.entity.ts';
import type { Connection, Edge } from '../platform/pagination.ts';
import type { ScopeNetwork } from '../scope/scope-network.entity.ts';
import type { ApiToken } from './api-token.entity.ts';
import type { User } from './user.entity.ts';

/** What resolvers of users, tokens, scopes and the audit log return, for codegen's mappers. */
export type UserConnection = Connection<User>;
export type UserEdge = Edge<User>;
export type ApiTokenConnection = Connection<ApiToken>;
export type ApiTokenEdge = Edge<ApiToken>;
export type CreateApiTokenPayloadView = { apiToken: ApiToken; secret: string };
export type ScopeConnection = Connection<ScopeNetwork>;
export type ScopeEdge = Edge<ScopeNetwork>;
export type AuditEventConnection = Connection<AuditEvent>;
export type AuditEventEdge = Edge<AuditEvent>;
