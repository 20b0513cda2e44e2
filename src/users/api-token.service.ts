import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import type DataLoader from 'dataloader';
import { outranksOrEquals, type Role } from '../access/role.ts';
import type { Authenticate, Viewer } from '../access/viewer.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../errors.ts';
import type { EventBus } from '../module.ts';
import type { Clock } from '../platform/clock.ts';
import { Keyset } from '../platform/keyset.ts';
import { byIdLoader } from '../platform/loaders.ts';
import { type Connection, type PageArgs, parsePage } from '../platform/pagination.ts';
import { ApiToken } from './api-token.entity.ts';
import { newSecret, secretHash } from './secrets.ts';
import { User } from './user.entity.ts';

export type CreateApiTokenInput = { name: string; role?: Role | null; expiresAt?: Date | null };

const NOT_FOUND = 'API token not found.';

/** Tokens oldest first; a cursor is `[ISO time, id]`. */
const BY_CREATION = new Keyset({
  entity: ApiToken,
  keys: [
    ['createdAt', 'time'],
    ['id', 'uuid'],
  ],
});

/** API tokens: each user manages their own; ADMIN sees and revokes everyone's. */
export class ApiTokenService {
  readonly #em: EntityManager;
  readonly #viewer: Viewer;
  readonly #audit: AuditLog;
  readonly #events: EventBus;
  readonly #clock: Clock;
  readonly #identities: Pick<Authenticate, 'changed'>;
  readonly #byId: DataLoader<string, ApiToken | null>;

  constructor({
    em,
    viewer,
    audit,
    events,
    clock,
    identities,
  }: { em: EntityManager; viewer: Viewer; audit: AuditLog; events: EventBus; clock: Clock; identities: Pick<Authenticate, 'changed'> }) {
    this.#em = em;
    this.#viewer = viewer;
    this.#audit = audit;
    this.#events = events;
    this.#clock = clock;
    this.#identities = identities;
    this.#byId = byIdLoader(em, ApiToken);
  }

  /** A new token with at most the caller's role. The secret is returned here and never again. */
  async create({ name, role, expiresAt }: CreateApiTokenInput): Promise<{ token: ApiToken; secret: string }> {
    this.#viewer.assert('token:manage');
    const identity = this.#viewer.identity;
    // A leaked API token must not be able to mint others that outlive its revocation.
    if (identity.via !== 'session') throw new ForbiddenError('Create API tokens from a login session, not with an API token.');
    const label = name.trim();
    if (label.length === 0 || label.length > 100) throw new InvalidInputError('name', 'The name must have 1 to 100 characters.');
    const tokenRole = role ?? identity.role;
    if (!outranksOrEquals(identity.role, tokenRole))
      throw new InvalidInputError('role', `A token cannot have more power than you: your role is ${identity.role}.`);
    const now = this.#clock.now();
    if (expiresAt && expiresAt <= now) throw new InvalidInputError('expiresAt', 'The expiry must be in the future.');
    const secret = newSecret('sops');
    const user = this.#em.getReference(User, identity.userId);
    const token = ApiToken.create({
      user,
      name: label,
      role: tokenRole,
      prefix: secret.slice(0, 12),
      tokenHash: secretHash(secret),
      expiresAt: expiresAt ?? null,
      now,
    });
    await this.#em.persist(token).flush();
    await this.#audit.record({
      action: 'API_TOKEN_CREATED',
      target: { type: 'ApiToken', id: token.id },
      details: { name: label, role: tokenRole },
    });
    return { token, secret };
  }

  /** A token the caller may see, or `null`. */
  async get(id: string): Promise<ApiToken | null> {
    this.#viewer.assert('token:manage');
    const token = await this.#byId.load(id);
    return token && this.#viewer.mayAccess('token:manage', token.user.id) ? token : null;
  }

  /** The caller's tokens, newest last; ADMIN may list anyone's (or everyone's). */
  list({ userId, ...pageArgs }: PageArgs & { userId?: string | null }): Promise<Connection<ApiToken>> {
    const reach = this.#viewer.reach('token:manage');
    const owner = reach === 'own' ? this.#viewer.userId : userId;
    // A user asked for by someone who may not see them yields an empty list, not an error: nothing leaks.
    const hidden = reach === 'own' && userId != null && userId !== this.#viewer.userId;
    const where = (): FilterQuery<ApiToken> => (hidden ? { id: null } : owner ? { user: owner } : {}) as FilterQuery<ApiToken>;
    return BY_CREATION.entities(this.#em, { where }, parsePage(pageArgs));
  }

  /** Revokes a token; it stops working at once, open subscriptions included. Revoking twice is harmless. */
  async revoke(id: string): Promise<ApiToken> {
    const token = await this.get(id);
    if (!token) throw new NotFoundError(NOT_FOUND);
    if (token.revokedAt) return token;
    const now = this.#clock.now();
    token.revokedAt = now;
    await this.#em.flush();
    this.#identities.changed(token.user.id);
    await this.#events.publish('identityRevoked', {
      userId: token.user.id,
      apiTokenId: token.id,
      reason: 'REVOKED',
      at: now.toISOString(),
    });
    await this.#audit.record({ action: 'API_TOKEN_REVOKED', target: { type: 'ApiToken', id: token.id }, details: { name: token.name } });
    return token;
  }
}
