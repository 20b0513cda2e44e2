import type { AreaModule, NodeType } from '../module.ts';
import type { Resolvers } from './generated/types.ts';
import { fromGlobalId, localIdOf } from './global-id.ts';

/**
 * `Query.node` over the node types the areas declare: `null` for a missing
 * object and for one the viewer may not see alike.
 */
export function nodeResolvers(modules: readonly AreaModule[]) {
  const types = new Map<string, NodeType>(modules.flatMap((module) => Object.entries(module.nodes ?? {})));
  return {
    Query: {
      node: async (_, { id }, { services, viewer }) => {
        // Anonymous callers learn nothing, not even that an ID is malformed.
        viewer.assertAuthenticated();
        const type = fromGlobalId(id)?.type;
        const node = type === undefined ? undefined : types.get(type);
        const localId = node && type && localIdOf(id, type, node.id);
        return node && localId ? ((await node.load(services, localId)) as never) : null;
      },
    },
    Node: {
      __resolveType: (value) => {
        for (const [name, node] of types) if (node.is(value)) return name as never;
        throw new Error('Node of an unknown type');
      },
    },
  } satisfies Resolvers;
}
