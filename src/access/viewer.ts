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

/**
 * Every permission, `area:verb`: each area declares its own by merging into
 * this interface (`declare module '../access/viewer.ts' { interface
 * Permissions { 'scan:read': true } }`), so a typo is a type error.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the areas
export interface Permissions {}
export type Permission = keyof Permissions & string;

/** `all`: on every object; `own`: on the caller's own objects only. */
export type Reach = 'all' | 'own';

/** What each role may do: an area's part of the grants table. */
export type Grants = Partial<Record<Role, Partial<Record<Permission, Reach>>>>;

/** The grants tables of every area, as one. Two areas granting the same permission is a mistake, and refused. */
export function composeGrants(parts: readonly (Grants | undefined)[]): Grants {
  const table: Grants = {};
  for (const part of parts) {
    for (const [role, permissions] of Object.entries(part ?? {}) as [Role, Partial<Record<Permission, Reach>>][]) {
      const granted = table[role] ?? {};
      table[role] = granted;
      for (const [permission, reach] of Object.entries(permissions) as [Permission, Reach][]) {
        if (granted[permission]) throw new Error(`Permission ${permission} is granted twice for ${role}.`);
        granted[permission] = reach;
      }
    }
  }
  return table;
}

/**
 * Credentials stopped working before their time, or changed: a logout or a
 * reused refresh token (`sessionId`), a revoked API token (`apiTokenId`), a
 * deactivated user, a new password or role (`userId` alone). Open streams of
 * that user re-check their identity at once.
 */
export type IdentityRevoked = { userId: string; sessionId?: string; apiTokenId?: string; reason: 'REVOKED' | 'DEACTIVATED'; at: string };

/** Who is calling, from a credential: the port the GraphQL layer authenticates through. */
export type Authenticate = {
  /** No header: anonymous. A header that proves nothing: a Viewer that says why. */
  authenticate(header: string | null | undefined): Promise<Viewer>;
  /** The identity as it stands now (role changes included); throws UNAUTHENTICATED or FORBIDDEN once it no longer holds. */
  recheck(identity: Identity): Promise<Identity>;
  /** A Viewer for an identity already proven, with the app's grants. */
  viewerOf(identity: Identity): Viewer;
  /**
   * Whether every change to users, sessions and API tokens, from any process,
   * is sure to reach `onChange` now. While it is, a long-lived identity needs
   * no periodic re-check: a change says when to look.
   */
  readonly hearsEveryChange: boolean;
  /**
   * Calls `listener` with a user's ID when their user, sessions or API
   * tokens changed (from any process), and with `null` when changes may have
   * been missed and everyone should be checked again. Returns the unsubscribe.
   */
  onChange(listener: (userId: string | null) => void): () => void;
  /**
   * This process just committed a change to `userId`'s credentials: what is
   * kept of them is dropped now, so its own next request cannot be answered
   * from before the change while the database's notification is on its way.
   */
  changed(userId: string): void;
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
  readonly #grants: Grants;

  private constructor(identity: Identity | null, failure: UnauthenticatedError | ForbiddenError | null, grants: Grants) {
    this.#identity = identity;
    this.#failure = failure;
    this.#grants = grants;
  }

  /** `grants`: the app's table, composed from every area's (`composeGrants`). */
  static of(identity: Identity, grants: Grants): Viewer {
    return new Viewer(identity, null, grants);
  }

  /** No credential at all. */
  static anonymous(): Viewer {
    return new Viewer(null, null, {});
  }

  /** A credential was sent and refused: expired, revoked, forged (UNAUTHENTICATED) or of a deactivated user (FORBIDDEN). */
  static rejected(failure: UnauthenticatedError | ForbiddenError): Viewer {
    return new Viewer(null, failure, {});
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
    const reach = this.#grants[role]?.[permission];
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
    const reach = this.#grants[identity.role]?.[permission];
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
