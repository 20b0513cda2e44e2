import type { Resolvers } from '../graphql/generated/types.ts';
import { localIdOf, toGlobalId } from '../graphql/global-id.ts';
import { map, pipe } from 'graphql-yoga';
import { NotFoundError } from '../errors.ts';

const ORDER_FIELDS = { CREATED_AT: 'createdAt', UPDATED_AT: 'updatedAt' } as const;

export const scanResolvers = {
  Query: {
    scan: (_, { id }, { services }) => {
      const scanId = localIdOf(id, 'Scan');
      return scanId ? services.scans.get(scanId) : null;
    },
    scans: (_, { orderBy, ...args }, { services }) =>
      services.scans.list({ ...args, orderBy: orderBy && { field: ORDER_FIELDS[orderBy.field], direction: orderBy.direction } }),
  },
  Mutation: {
    createScan: async (_, { input }, { services }) => ({ scan: await services.scans.create(input) }),
    deleteScan: async (_, { input }, { services }) => {
      const scanId = localIdOf(input.id, 'Scan');
      if (!scanId) throw new NotFoundError(`Scan not found.`);
      return { deletedScanId: toGlobalId('Scan', await services.scans.delete(scanId)) };
    },
  },
  Subscription: {
    scanUpdated: {
      subscribe: (_, __, { services }) => pipe(services.scans.watch(), map((scan) => ({ scanUpdated: scan }))),
    },
  },
  Scan: {
    id: (scan) => toGlobalId('Scan', scan.id),
    targets: (scan) => scan.targets.map(String),
    ports: (scan) => scan.ports.toString(),
  },
  ScanConnection: {
    nodes: (connection) => connection.edges.map((edge) => edge.node),
    totalCount: (connection) => connection.totalCount(),
  },
} satisfies Resolvers;
