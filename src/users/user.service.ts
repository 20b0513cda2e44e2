import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type DataLoader from 'dataloader';
import { ROLES, type Role } from '../access/role.ts';
import type { Authenticate, Viewer } from '../access/viewer.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../errors.ts';
import type { EventBus } from '../module.ts';
import type { Clock } from '../platform/clock.ts';
import { Keyset } from '../platform/keyset.ts';
import { byIdLoader } from '../platform/loaders.ts';
import { type Connection, type PageArgs, parsePage } from '../platform/pagination.ts';
import { ApiToken } from './api-token.entity.ts';
import { AuthSession } from './auth-session.entity.ts';
import { assertStrongPassword, hashPassword } from './password.ts';
import { User } from './user.entity.ts';

/** Users oldest first; a cursor is `[ISO time, id]`. */
const BY_CREATION = new Keyset({
  entity: User,
  keys: [
    ['createdAt', 'time'],
    ['id', 'uuid'],
  ],
});

/** RFC 5321's limit on a whole address. */
export const MAX_EMAIL_LENGTH = 254;
const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,255}$/u;

/** Emails compare without regard to case or surrounding blanks. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export type NewUserInput = { email: string; name?: string | null; role: Role; password: string };
export type UpdateUserInput = { id: string; name?: string | null; role?: Role | null; active?: boolean | null; password?: string | null };
export type UserFilter = { role?: readonly Role[] | null; active?: boolean | null };

/** Validates and stores a user; shared by `createUser`, the first-start admin and the CLI. */
export async function createUserRecord(em: EntityManager, input: NewUserInput, now: Date): Promise<User> {
  const email = normalizeEmail(input.email);
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL.test(email)) throw new InvalidInputError('email', 'Not an email address.');
  if (!ROLES.includes(input.role)) throw new InvalidInputError('role', `The role must be one of ${ROLES.join(', ')}.`);
  const name = parseName(input.name ?? email.split('@')[0] ?? email);
  assertStrongPassword(input.password, email);
  const user = User.create({ email, name, role: input.role, passwordHash: await hashPassword(input.password), now });
  try {
    await em.persist(user).flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw new ConflictError('A user with this email already exists.');
    throw error;
  }
  return user;
}

function parseName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > 200) throw new InvalidInputError('name', 'The name must have 1 to 200 characters.');
  return name;
}

export type UserServiceDeps = {
  em: EntityManager;
  viewer: Viewer;
  audit: AuditLog;
  events: EventBus;
  clock: Clock;
  /** Told at once of the users this service changes, before the database's notification comes round. */
  identities: Pick<Authenticate, 'changed'>;
};

/** Users: everyone sees themselves; ADMIN sees and manages all. */
export class UserService {
  readonly #em: EntityManager;
  readonly #viewer: Viewer;
  readonly #audit: AuditLog;
  readonly #events: EventBus;
  readonly #clock: Clock;
  readonly #identities: Pick<Authenticate, 'changed'>;
  readonly #byId: DataLoader<string, User | null>;

  constructor({ em, viewer, audit, events, clock, identities }: UserServiceDeps) {
    this.#em = em;
    this.#viewer = viewer;
    this.#audit = audit;
    this.#events = events;
    this.#clock = clock;
    this.#identities = identities;
    this.#byId = byIdLoader(em, User);
  }

  /** Accounts are managed by an admin at a login session: a leaked admin API token must not mint admins that outlive it. */
  #assertManagesFromSession(): void {
    this.#viewer.assert('user:manage');
    if (this.#viewer.identity.via !== 'session') throw new ForbiddenError('Manage users from a login session, not with an API token.');
  }

  /** The caller. */
  async current(): Promise<User> {
    return this.#existing(this.#viewer.userId);
  }

  /** The owner of a token the caller may see: the caller, or a user an ADMIN sees; checked like any read. */
  async owner(id: string): Promise<User> {
    const user = await this.get(id);
    if (!user) throw new Error(`The owner of a visible API token (${id}) is not visible.`);
    return user;
  }

  /** A user that must exist (the caller, a token's owner): an authenticated identity names one. */
  async #existing(id: string): Promise<User> {
    const user = await this.#byId.load(id);
    if (!user) throw new Error(`User ${id} is gone.`);
    return user;
  }

  /** A user the caller may see, or `null`: another user is as missing as an unknown one. */
  async get(id: string): Promise<User | null> {
    this.#viewer.assert('user:read');
    if (!this.#viewer.mayAccess('user:read', id)) return null;
    return this.#byId.load(id);
  }

  /** Every user for ADMIN; only themselves for anyone else. */
  list({ filter, ...pageArgs }: PageArgs & { filter?: UserFilter | null }): Promise<Connection<User>> {
    const reach = this.#viewer.reach('user:read');
    const userId = this.#viewer.userId;
    const where = (): FilterQuery<User> => ({
      ...(reach === 'own' ? { id: userId } : {}),
      ...(filter?.role?.length ? { role: { $in: [...filter.role] } } : {}),
      ...(filter?.active != null ? { active: filter.active } : {}),
    });
    return BY_CREATION.entities(this.#em, { where }, parsePage(pageArgs));
  }

  async create(input: NewUserInput): Promise<User> {
    this.#assertManagesFromSession();
    const user = await createUserRecord(this.#em, input, this.#clock.now());
    await this.#audit.record({
      action: 'USER_CREATED',
      target: { type: 'User', id: user.id },
      details: { email: user.email, role: user.role },
    });
    return user;
  }

  /**
   * Changes name, role, activity or password. Deactivating ends every session
   * and revokes every API token of the user; a new password ends the sessions.
   * Admins cannot lock themselves out (deactivate or demote themselves).
   */
  async update({ id, name, role, active, password }: UpdateUserInput): Promise<User> {
    this.#assertManagesFromSession();
    const user = await this.#em.findOne(User, { id });
    if (!user) throw new NotFoundError('User not found.');
    const self = user.id === this.#viewer.userId;
    if (self && (active === false || (role && role !== user.role)))
      throw new ConflictError('You cannot deactivate or demote yourself; ask another admin.');
    const changes: Record<string, unknown> = {};
    if (name != null && name !== user.name) user.name = changes.name = parseName(name);
    if (role != null && role !== user.role) {
      if (!ROLES.includes(role)) throw new InvalidInputError('role', `The role must be one of ${ROLES.join(', ')}.`);
      changes.role = [user.role, role];
      user.role = role;
    }
    if (password != null) {
      assertStrongPassword(password, user.email);
      user.passwordHash = await hashPassword(password);
      changes.password = 'changed';
    }
    const deactivated = active === false && user.active;
    if (active != null && active !== user.active) {
      user.active = active;
      changes.active = active;
    }
    if (Object.keys(changes).length === 0) return user;
    const now = this.#clock.now();
    user.updatedAt = now;
    await this.#em.transactional(async (em) => {
      em.persist(user);
      if (deactivated || password != null) {
        await em.nativeUpdate(
          AuthSession,
          { user: user.id, revokedAt: null },
          { revokedAt: now, revokedReason: deactivated ? 'User deactivated.' : 'Password changed.' },
        );
        if (deactivated) await em.nativeUpdate(ApiToken, { user: user.id, revokedAt: null }, { revokedAt: now });
      }
    });
    this.#byId.clear(user.id);
    this.#identities.changed(user.id);
    // Open streams re-check at once: a new role applies to them too.
    if (deactivated || password != null || changes.role) {
      await this.#events.publish('identityRevoked', {
        userId: user.id,
        reason: deactivated ? 'DEACTIVATED' : 'REVOKED',
        at: now.toISOString(),
      });
    }
    await this.#audit.record({ action: 'USER_UPDATED', target: { type: 'User', id: user.id }, details: changes });
    return user;
  }
}
