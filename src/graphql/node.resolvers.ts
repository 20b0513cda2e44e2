import { DateTimeResolver } from 'graphql-scalars';
import { AuditEvent } from '../audit/audit-event.entity.ts';
import { Scan } from '../scans/scan.entity.ts';
import { ScopeNetwork } from '../scope/scope-network.entity.ts';
import { ApiToken } from '../users/api-token.entity.ts';
import { User } from '../users/user.entity.ts';
import type { GraphQLContext } from './context.ts';
import type { Resolvers } from './generated/types.ts';
import { fromGlobalId } from './global-id.ts';

/** Each node type's lookup: `null` for a missing object and for one the viewer may not see alike. */
const LOOKUPS: Record<string, (services: GraphQLContext['services'], id: string) => Promise<unknown>> = {
  Scan: (services, id) => services.scans.get(id),
  User: (services, id) => services.users.get(id),
  ApiToken: (services, id) => services.apiTokens.get(id),
  Scope: (services, id) => services.scopes.get(id),
  AuditEvent: (services, id) => services.audit.get(id),
};

export const nodeResolvers = {
  DateTime: DateTimeResolver,
  Query: {
    node: async (_, { id }, { services, viewer }) => {
      // Anonymous callers learn nothing, not even that an ID is malformed.
      viewer.assertAuthenticated();
      const parsed = fromGlobalId(id);
      const lookup = parsed && LOOKUPS[parsed.type];
      return lookup ? ((await lookup(services, parsed.id)) as Scan | User | ApiToken | ScopeNetwork | AuditEvent | null) : null;
    },
  },
  Node: {
    __resolveType: (node) => {
      if (node instanceof Scan) return 'Scan';
      if (node instanceof User) return 'User';
      if (node instanceof ApiToken) return 'ApiToken';
      if (node instanceof ScopeNetwork) return 'Scope';
      if (node instanceof AuditEvent) return 'AuditEvent';
      throw new Error('Node of an unknown type');
    },
  },
} satisfies Resolvers;
