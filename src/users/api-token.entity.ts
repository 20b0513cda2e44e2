import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { ROLES, type Role } from '../access/role.ts';
import { identityTriggers } from './identity-changes.ts';
import { User } from './user.entity.ts';

const ApiTokenSchema = defineEntity({
  name: 'ApiToken',
  tableName: 'api_tokens',
  properties: {
    id: p.uuid().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade'),
    name: p.text(),
    /** At most the owner's role when created; a later demotion of the owner also caps it. */
    role: p.enum(ROLES),
    /** The secret's first characters, to tell tokens apart in a list. */
    prefix: p.text(),
    /** SHA-256 of the secret (see RefreshToken.tokenHash). */
    tokenHash: p.text().unique(),
    createdAt: p.datetime(3),
    expiresAt: p.datetime(3).nullable(),
    lastUsedAt: p.datetime(3).nullable(),
    revokedAt: p.datetime(3).nullable(),
  },
  indexes: [{ properties: ['user', 'createdAt', 'id'] }, { properties: ['createdAt', 'id'] }],
  // Every change that can make a verified identity wrong is told to every process (see identity-changes.ts).
  triggers: identityTriggers('user_id', 'last_used_at'),
});

export type NewApiToken = { user: User; name: string; role: Role; prefix: string; tokenHash: string; expiresAt: Date | null; now: Date };

/** A long-lived credential for scripts and CI, used exactly like an access token. */
export class ApiToken extends ApiTokenSchema.class {
  static create({ user, name, role, prefix, tokenHash, expiresAt, now }: NewApiToken): ApiToken {
    const token = new ApiToken();
    token.id = randomUUID();
    token.user = user;
    token.name = name;
    token.role = role;
    token.prefix = prefix;
    token.tokenHash = tokenHash;
    token.createdAt = now;
    token.expiresAt = expiresAt;
    token.lastUsedAt = null;
    token.revokedAt = null;
    return token;
  }

  isLive(now: Date): boolean {
    return this.revokedAt == null && (this.expiresAt == null || this.expiresAt > now);
  }
}

ApiTokenSchema.setClass(ApiToken);

export { ApiTokenSchema };
