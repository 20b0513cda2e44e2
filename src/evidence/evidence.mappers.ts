import type { Connection, Edge } from '../platform/pagination.ts';
import type { EvidenceView } from './evidence.view.ts';

/** What the evidence resolvers return for each GraphQL type `X`, as `XMapper` (see codegen.ts). */
export type EvidenceMapper = EvidenceView;
export type EvidenceConnectionMapper = Connection<EvidenceView>;
export type EvidenceEdgeMapper = Edge<EvidenceView>;
