import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { ROLES, type Role } from '../access/role.ts';
import { identityTriggers } from './identity-changes.ts';

const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary(),
    /** Stored lowercased: unique without regard to case, and found the same way at login. */
    email: p.text().unique(),
    name: p.text(),
    role: p.enum(ROLES),
    active: p.boolean(),
    /** argon2id PHC string; never leaves the users area. */
    passwordHash: p.text().lazy().hidden(),
    createdAt: p.datetime(3),
    updatedAt: p.datetime(3),
    lastLoginAt: p.datetime(3).nullable(),
  },
  indexes: [{ properties: ['createdAt', 'id'] }],
  // Every change that can make a verified identity wrong is told to every process (see identity-changes.ts).
  triggers: identityTriggers('id', 'last_login_at'),
});

export type NewUser = { email: string; name: string; role: Role; passwordHash: string; now: Date };

/** A person (or a service account) who logs in. Deactivated users keep their records but can do nothing. */
export class User extends UserSchema.class {
  static create({ email, name, role, passwordHash, now }: NewUser): User {
    const user = new User();
    user.id = randomUUID();
    user.email = email;
    user.name = name;
    user.role = role;
    user.active = true;
    user.passwordHash = passwordHash;
    user.createdAt = now;
    user.updatedAt = now;
    user.lastLoginAt = null;
    return user;
  }
}

UserSchema.setClass(User);

export { UserSchema };
