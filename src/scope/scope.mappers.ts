import type { Connection, Edge } from '../platform/pagination.ts';
import type { ScopeView } from './scope.service.ts';

/** What the scope resolvers return for each GraphQL type `X`, as `XMapper` (see codegen.ts). */
export type ScopeMapper = ScopeView;
export type ScopeConnectionMapper = Connection<ScopeView>;
export type ScopeEdgeMapper = Edge<ScopeView>;
