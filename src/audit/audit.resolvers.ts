import { connectionResolvers } from '../graphql/connection.ts';
import type { Resolvers } from '../graphql/generated/types.ts';
import { localIdOrNone, toGlobalId } from '../graphql/global-id.ts';

export const auditResolvers = {
  Query: {
    auditEvents: (_, { filter, ...args }, { services }) =>
      services.auditEvents.list({
        ...args,
        filter: filter && { action: filter.action, actorId: filter.actorId == null ? null : localIdOrNone(filter.actorId, 'User') },
      }),
  },
  AuditEvent: {
    id: (event) => toGlobalId('AuditEvent', event.id),
    actor: (event, _, { services }) => (event.actorId ? services.users.get(event.actorId) : null),
    // Stored as `Type:localId`; shown as the global ID clients use everywhere else.
    targetId: (event) => {
      if (!event.targetId) return null;
      const separator = event.targetId.indexOf(':');
      return toGlobalId(event.targetId.slice(0, separator), event.targetId.slice(separator + 1));
    },
    details: (event) => JSON.stringify(event.details),
  },
  AuditEventConnection: connectionResolvers,
} satisfies Resolvers;
