import type { Connection, Edge } from '../platform/pagination.ts';
import type { ApiToken } from './api-token.entity.ts';
import type { AuthPayload } from './auth.service.ts';
import type { User } from './user.entity.ts';

/** What the users resolvers return for each GraphQL type `X`, as `XMapper` (codegen finds them; see codegen.ts). */
export type UserMapper = User;
export type UserConnectionMapper = Connection<User>;
export type UserEdgeMapper = Edge<User>;
export type ApiTokenMapper = ApiToken;
export type ApiTokenConnectionMapper = Connection<ApiToken>;
export type ApiTokenEdgeMapper = Edge<ApiToken>;
export type AuthPayloadMapper = AuthPayload;
export type CreateApiTokenPayloadMapper = { apiToken: ApiToken; secret: string };
