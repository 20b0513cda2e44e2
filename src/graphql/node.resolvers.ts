import { DateTimeResolver } from 'graphql-scalars';
import { Scan } from '../scans/scan.entity.ts';
import type { Resolvers } from './generated/types.ts';
import { fromGlobalId } from './global-id.ts';

export const nodeResolvers = {
  DateTime: DateTimeResolver,
  Query: {
    node: async (_, { id }, { services }) => {
      const parsed = fromGlobalId(id);
      if (parsed?.type === 'Scan') return services.scans.get(parsed.id);
      return null;
    },
  },
  Node: {
    __resolveType: (node) => {
      if (node instanceof Scan) return 'Scan';
      throw new Error('Node of an unknown type');
    },
  },
} satisfies Resolvers;
