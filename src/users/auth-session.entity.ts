import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { identityTriggers } from './identity-changes.ts';
import { User } from './user.entity.ts';

const AuthSessionSchema = defineEntity({
  name: 'AuthSession',
  tableName: 'auth_sessions',
  properties: {
    id: p.uuid().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade'),
    createdAt: p.datetime(3),
    /** When its last refresh token stops working; access tokens live far shorter. */
    expiresAt: p.datetime(3),
    revokedAt: p.datetime(3).nullable(),
    revokedReason: p.text().nullable(),
    ip: p.text().nullable(),
  },
  indexes: [{ properties: ['user'] }],
  // Every change that can make a verified identity wrong is told to every process (see identity-changes.ts).
  triggers: identityTriggers('user_id'),
});

/**
 * One login: the family of refresh tokens that rotate from it, and the access
 * tokens signed for it (their `sid` claim). Revoking it ends them all at once.
 */
export class AuthSession extends AuthSessionSchema.class {
  static create(user: User, now: Date, expiresAt: Date, ip: string | null): AuthSession {
    const session = new AuthSession();
    session.id = randomUUID();
    session.user = user;
    session.createdAt = now;
    session.expiresAt = expiresAt;
    session.revokedAt = null;
    session.revokedReason = null;
    session.ip = ip;
    return session;
  }

  isLive(now: Date): boolean {
    return this.revokedAt === null && this.expiresAt > now;
  }

  revoke(now: Date, reason: string): void {
    if (this.revokedAt) return;
    this.revokedAt = now;
    this.revokedReason = reason;
  }
}

AuthSessionSchema.setClass(AuthSession);

const RefreshTokenSchema = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  properties: {
    id: p.uuid().primary(),
    session: () => p.manyToOne(AuthSession).deleteRule('cascade'),
    /** SHA-256 of the secret: 256 random bits need no slow hash, and a leaked table yields no usable token. */
    tokenHash: p.text().unique(),
    createdAt: p.datetime(3),
    /** Set when it was exchanged; showing it again means it was stolen (or replayed), and the family dies. */
    usedAt: p.datetime(3).nullable(),
  },
  indexes: [{ properties: ['session'] }],
});

export class RefreshToken extends RefreshTokenSchema.class {
  static create(session: AuthSession, tokenHash: string, now: Date): RefreshToken {
    const token = new RefreshToken();
    token.id = randomUUID();
    token.session = session;
    token.tokenHash = tokenHash;
    token.createdAt = now;
    token.usedAt = null;
    return token;
  }
}

RefreshTokenSchema.setClass(RefreshToken);

export { AuthSessionSchema, RefreshTokenSchema };
