import { connectionResolvers } from '../graphql/connection.ts';
import type { Resolvers } from '../graphql/generated/types.ts';
import { localIdOrNone, toGlobalId } from '../graphql/global-id.ts';

export const userResolvers = {
  Query: {
    viewer: (_, __, { services }) => services.users.current(),
    users: (_, args, { services }) => services.users.list(args),
    apiTokens: (_, { userId, ...args }, { services }) =>
      services.apiTokens.list({ ...args, userId: userId == null ? null : localIdOrNone(userId, 'User') }),
  },
  Mutation: {
    login: (_, { input }, { services }) => services.auth.login(input),
    refreshAccessToken: (_, { input }, { services }) => services.auth.refresh(input.refreshToken),
    logout: async (_, { input }, { services }) => {
      await services.auth.logout(input?.refreshToken);
      return { loggedOut: true };
    },
    changePassword: async (_, { input }, { services }) => ({ user: await services.auth.changePassword(input) }),
    createApiToken: async (_, { input }, { services }) => {
      const { token, secret } = await services.apiTokens.create(input);
      return { apiToken: token, secret };
    },
    revokeApiToken: async (_, { input }, { services }) => ({
      apiToken: await services.apiTokens.revoke(localIdOrNone(input.id, 'ApiToken')),
    }),
    createUser: async (_, { input }, { services }) => ({ user: await services.users.create(input) }),
    updateUser: async (_, { input: { id, ...changes } }, { services }) => ({
      user: await services.users.update({ id: localIdOrNone(id, 'User'), ...changes }),
    }),
  },
  User: {
    id: (user) => toGlobalId('User', user.id),
    apiTokens: (user, args, { services }) => services.apiTokens.list({ ...args, userId: user.id }),
  },
  ApiToken: {
    id: (token) => toGlobalId('ApiToken', token.id),
    user: (token, _, { services }) => services.users.owner(token.user.id),
  },
  UserConnection: connectionResolvers,
  ApiTokenConnection: connectionResolvers,
} satisfies Resolvers;
