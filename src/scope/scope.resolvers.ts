import { connectionResolvers } from '../graphql/connection.ts';
import type { Resolvers } from '../graphql/generated/types.ts';
import { localIdOrNone, toGlobalId } from '../graphql/global-id.ts';

export const scopeResolvers = {
  Query: {
    scopes: (_, args, { services }) => services.scopes.list(args),
    allowedTargets: (_, __, { services }) => services.scopes.baseline(),
  },
  Mutation: {
    createScope: async (_, { input }, { services }) => ({ scope: await services.scopes.create(input) }),
    deleteScope: async (_, { input }, { services }) => ({
      deletedScopeId: toGlobalId('Scope', await services.scopes.delete(localIdOrNone(input.id, 'Scope'))),
    }),
  },
  Scope: {
    id: (scope) => toGlobalId('Scope', scope.id),
    createdBy: (scope, _, { services }) => (scope.createdById ? services.users.get(scope.createdById) : null),
  },
  ScopeConnection: connectionResolvers,
} satisfies Resolvers;
