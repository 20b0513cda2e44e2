import type { Connection, Edge } from '../platform/pagination.ts';
import type { ScopeNetwork } from './scope-network.entity.ts';

/** What the scope resolvers return for each GraphQL type `X`, as `XMapper` (see codegen.ts). */
export type ScopeMapper = ScopeNetwork;
export type ScopeConnectionMapper = Connection<ScopeNetwork>;
export type ScopeEdgeMapper = Edge<ScopeNetwork>;
