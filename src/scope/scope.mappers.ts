import type { Connection, Edge } from '../platform/pagination.ts';
import type { ScopeNetwork } from './scope-network.entity.ts';

/** What the scope resolvers return for each GraphQL type, named as the type (see codegen.ts). */
export type Scope = ScopeNetwork;
export type ScopeConnection = Connection<ScopeNetwork>;
export type ScopeEdge = Edge<ScopeNetwork>;
