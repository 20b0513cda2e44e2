import type { Connection, Edge } from '../platform/pagination.ts';
import type { ApiToken } from './api-token.entity.ts';
import type { User } from './user.entity.ts';

export type { ApiToken } from './api-token.entity.ts';
export type { AuthPayload } from './auth.service.ts';
/** What the users resolvers return for each GraphQL type, named as the type (see codegen.ts). */
export type { User } from './user.entity.ts';
export type UserConnection = Connection<User>;
export type UserEdge = Edge<User>;
export type ApiTokenConnection = Connection<ApiToken>;
export type ApiTokenEdge = Edge<ApiToken>;
export type CreateApiTokenPayload = { apiToken: ApiToken; secret: string };
