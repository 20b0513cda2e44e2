import type { Connection } from '../platform/pagination.ts';

/** The fields every connection type shares, for any node type. */
export const connectionResolvers = {
  nodes: <T>(connection: Connection<T>) => connection.edges.map((edge) => edge.node),
  totalCount: <T>(connection: Connection<T>) => connection.totalCount(),
};
