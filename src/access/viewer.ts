import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../errors.ts';
import type { Role } from './role.ts';

/** Who is calling, as proven by an access token or an API token. */
export type Identity = {
  userId: string;
  email: string;
  /** The role in force now: the user's, or the token's if it is weaker. */
  role: Role;
  /** `session` for a login's access token (the session is the refresh-token family), `apiToken` for a script's token. */
  via: 'session' | 'apiToken';
  /** The session's or the API token's ID: what a revocation names. */
  credentialId: string;
  /** When the credential stops working; `null` for an API token without expiry. */
  expiresAt: Date | null;
};

export type Permission =
  | 'scan:read' | 'scan:create' | 'scan:write'
  | 'user:read' | 'user:manage'
  | 'token:manage'
  | 'scope:read' | 'scope:manage'
  | 'audit:read';

/** `all`: on every object; `own`: on the caller's own objects only. */
type Reach = 'all' | 'own';

/**
 * What each role may do. VIEWER reads every scan and changes nothing; ANALYST
 * creates scans and acts on its own; ADMIN does everything. A user always
 * sees themselves and manages their own API tokens.
 */
const GRANTS: Record<Role, Partial<Record<Permission, Reach>>> = {
  ADMIN: {
    'scan:read': 'all', 'scan:create': 'all', 'scan:write': 'all', 'user:read': 'all', 'user:manage': 'all',
    'token:manage': 'all', 'scope:read': 'all', 'scope:manage': 'all', 'audit:read': 'all',
  },
  ANALYST: { 'scan:read': 'own', 'scan:create': 'all', 'scan:write': 'own', 'user:read': 'own', 'token:manage': 'own', 'scope:read': 'all' },
  VIEWER: { 'scan:read': 'all', 'user:read': 'own', 'token:manage': 'own', 'scope:read': 'all' },
};

/**
 * The caller of one request or one subscription. Services ask it before they
 * act: `assert` for the permission, `reach` to scope a list, `mayAccess` for
 * one object. An object out of reach is reported as missing, never as
 * forbidden, so its existence does not leak.
 */
export class Viewer {
  readonly #identity: Identity | null;
  /** Why there is no identity: none was sent, or the one sent was refused (and how). */
  readonly #failure: UnauthenticatedError | ForbiddenError | null;

  private constructor(identity: Identity | null, failure: UnauthenticatedError | ForbiddenError | null) {
    this.#identity = identity;
    this.#failure = failure;
  }

  static of(identity: Identity): Viewer {
    return new Viewer(identity, null);
  }

  /** No credential at all. */
  static anonymous(): Viewer {
    return new Viewer(null, null);
  }

  /** A credential was sent and refused: expired, revoked, forged (UNAUTHENTICATED) or of a deactivated user (FORBIDDEN). */
  static rejected(failure: UnauthenticatedError | ForbiddenError): Viewer {
    return new Viewer(null, failure);
  }

  get isAuthenticated(): boolean {
    return this.#identity !== null;
  }

  /** Why a credential that was sent was refused; `null` when none was sent or it was good. */
  get failure(): UnauthenticatedError | ForbiddenError | null {
    return this.#failure;
  }

  /** The identity; UNAUTHENTICATED (or why the credential was refused) without one. */
  get identity(): Identity {
    if (this.#identity) return this.#identity;
    throw this.#failure ?? new UnauthenticatedError('Log in first: send `Authorization: Bearer <token>` (from `login`).');
  }

  /** UNAUTHENTICATED unless a credential proved who is calling. */
  assertAuthenticated(): void {
    void this.identity;
  }

  get userId(): string {
    return this.identity.userId;
  }

  /** How far `permission` reaches; UNAUTHENTICATED or FORBIDDEN when not at all. */
  reach(permission: Permission): Reach {
    const { role } = this.identity;
    const reach = GRANTS[role][permission];
    if (!reach) throw new ForbiddenError(`${role === 'ADMIN' || role === 'ANALYST' ? 'An' : 'A'} ${role} may not do this (${permission}).`);
    return reach;
  }

  assert(permission: Permission): void {
    this.reach(permission);
  }

  /** Whether the caller may act with `permission` on an object owned by `ownerId`, without throwing. */
  mayAccess(permission: Permission, ownerId: string | null | undefined): boolean {
    const identity = this.#identity;
    if (!identity) return false;
    const reach = GRANTS[identity.role][permission];
    return reach === 'all' || (reach === 'own' && ownerId === identity.userId);
  }

  /**
   * For a mutation on an object already found: NOT_FOUND when the caller may
   * not even see it, FORBIDDEN when they may see it but not do this.
   */
  assertOn(permission: Permission, read: Permission, ownerId: string | null | undefined, notFound: string): void {
    if (!this.mayAccess(read, ownerId)) throw new NotFoundError(notFound);
    if (this.reach(permission) === 'own' && ownerId !== this.userId) throw new NotFoundError(notFound);
  }
}
