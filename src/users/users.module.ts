import { AuditLog } from '../audit/audit-log.ts';
import type { AreaModule } from '../module.ts';
import { ApiToken, ApiTokenSchema } from './api-token.entity.ts';
import { ApiTokenService } from './api-token.service.ts';
import { AuthService } from './auth.service.ts';
import { AuthSessionSchema, RefreshTokenSchema } from './auth-session.entity.ts';
import { LoginAttemptSchema } from './login-attempt.entity.ts';
import { UsersAuth } from './migrations/20261124000000-users-auth.ts';
import { IdentityChanges } from './migrations/20261202000000-identity-changes.ts';
import { User, UserSchema } from './user.entity.ts';
import { userResolvers } from './user.resolvers.ts';
import { UserService } from './user.service.ts';

declare module '../module.ts' {
  interface Services {
    users: UserService;
    auth: AuthService;
    apiTokens: ApiTokenService;
  }
}

declare module '../access/viewer.ts' {
  interface Permissions {
    'user:read': true;
    'user:manage': true;
    'token:manage': true;
  }
}

declare module '../audit/audit-event.entity.ts' {
  interface AuditActions {
    LOGIN_SUCCEEDED: true;
    LOGIN_FAILED: true;
    LOGIN_RATE_LIMITED: true;
    LOGOUT: true;
    REFRESH_TOKEN_REUSED: true;
    API_TOKEN_CREATED: true;
    API_TOKEN_REVOKED: true;
    USER_CREATED: true;
    USER_UPDATED: true;
  }
}

/**
 * Users and their credentials: passwords, login sessions with rotating
 * refresh tokens, API tokens, and the failed-login limits. A user always
 * sees themselves and manages their own API tokens; ADMIN manages everyone.
 */
export const usersModule = {
  name: 'users',
  entities: [UserSchema, AuthSessionSchema, RefreshTokenSchema, ApiTokenSchema, LoginAttemptSchema],
  migrations: [
    { name: '20261124000000-users-auth', class: UsersAuth },
    { name: '20261202000000-identity-changes', class: IdentityChanges },
  ],
  resolvers: [userResolvers],
  nodes: {
    User: { load: (services, id) => services.users.get(id), is: (value) => value instanceof User },
    ApiToken: { load: (services, id) => services.apiTokens.get(id), is: (value) => value instanceof ApiToken },
  },
  grants: {
    ADMIN: { 'user:read': 'all', 'user:manage': 'all', 'token:manage': 'all' },
    ANALYST: { 'user:read': 'own', 'token:manage': 'own' },
    VIEWER: { 'user:read': 'own', 'token:manage': 'own' },
  },
  auditActions: [
    'LOGIN_SUCCEEDED',
    'LOGIN_FAILED',
    'LOGIN_RATE_LIMITED',
    'LOGOUT',
    'REFRESH_TOKEN_REUSED',
    'API_TOKEN_CREATED',
    'API_TOKEN_REVOKED',
    'USER_CREATED',
    'USER_UPDATED',
  ],
  services: (scope) => {
    const audit = new AuditLog(scope);
    const { em, viewer, events, clock, authenticator: identities } = scope;
    return {
      users: new UserService({ em, viewer, audit, events, clock, identities }),
      auth: new AuthService({
        em,
        viewer,
        tokens: scope.accessTokens,
        audit,
        events,
        clock,
        identities,
        limits: scope.config.auth,
        logger: scope.logger,
      }),
      apiTokens: new ApiTokenService({ em, viewer, audit, events, clock, identities }),
    };
  },
} satisfies AreaModule;
