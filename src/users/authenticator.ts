import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccessTokens } from '../access/access-tokens.ts';
import { weakerOf } from '../access/role.ts';
import { type Authenticate, type Grants, type Identity, Viewer } from '../access/viewer.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import { ApiToken } from './api-token.entity.ts';
import { AuthSession } from './auth-session.entity.ts';
import { isApiTokenSecret, secretHash } from './secrets.ts';
import type { User } from './user.entity.ts';

const BEARER = /^Bearer +([\x21-\x7e]{1,4096})$/i;
/** `last_used_at` of an API token is written at most this often, not on every request. */
const LAST_USED_PRECISION_MS = 60_000;

export type AuthenticatorDeps = { em: EntityManager; tokens: AccessTokens; clock: Clock; grants: Grants };

/**
 * Turns an `Authorization` header into a Viewer, checking the credential
 * against the database each time: a revoked session, a revoked API token or
 * a deactivated user stops working at once, not when a JWT expires.
 */
export class Authenticator implements Authenticate {
  readonly #em: EntityManager;
  readonly #tokens: AccessTokens;
  readonly #clock: Clock;
  readonly #grants: Grants;

  constructor({ em, tokens, clock, grants }: AuthenticatorDeps) {
    this.#em = em;
    this.#tokens = tokens;
    this.#clock = clock;
    this.#grants = grants;
  }

  viewerOf(identity: Identity): Viewer {
    return Viewer.of(identity, this.#grants);
  }

  /** No header: anonymous. A header that proves nothing: a Viewer that says why. */
  async authenticate(header: string | null | undefined): Promise<Viewer> {
    if (header == null || header === '') return Viewer.anonymous();
    const token = BEARER.exec(header.trim())?.[1];
    if (!token) return Viewer.rejected(new UnauthenticatedError('Malformed Authorization header: expected `Bearer <token>`.'));
    try {
      return this.viewerOf(isApiTokenSecret(token) ? await this.#apiToken(token) : await this.#accessToken(token));
    } catch (error) {
      if (error instanceof UnauthenticatedError || error instanceof ForbiddenError) return Viewer.rejected(error);
      throw error;
    }
  }

  /** The identity as it stands now (role changes included); throws once it no longer holds. */
  async recheck(identity: Identity): Promise<Identity> {
    if (identity.expiresAt && identity.expiresAt <= this.#clock.now()) {
      throw new UnauthenticatedError('The access token has expired: get a new one with `refreshAccessToken`.');
    }
    const em = this.#em.fork();
    if (identity.via === 'apiToken') {
      return this.#apiTokenIdentity(await em.findOne(ApiToken, { id: identity.credentialId }, { populate: ['user'] }));
    }
    const session = await em.findOne(AuthSession, { id: identity.credentialId }, { populate: ['user'] });
    return { ...this.#sessionIdentity(session), expiresAt: identity.expiresAt };
  }

  async #accessToken(token: string): Promise<Identity> {
    const claims = await this.#tokens.verify(token);
    const session = await this.#em.fork().findOne(AuthSession, { id: claims.sessionId }, { populate: ['user'] });
    if (session?.user.id !== claims.userId) throw new UnauthenticatedError('The access token is invalid.');
    return { ...this.#sessionIdentity(session), expiresAt: claims.expiresAt };
  }

  #sessionIdentity(session: AuthSession | null): Identity {
    // Deactivation also revokes the sessions; the account's state is the truer reason to give.
    assertActive(session?.user);
    if (!session?.isLive(this.#clock.now())) throw new UnauthenticatedError('The session has ended (logged out or revoked): log in again.');
    const { user } = session;
    return { userId: user.id, email: user.email, role: user.role, via: 'session', credentialId: session.id, expiresAt: session.expiresAt };
  }

  async #apiToken(secret: string): Promise<Identity> {
    const em = this.#em.fork();
    const token = await em.findOne(ApiToken, { tokenHash: secretHash(secret) }, { populate: ['user'] });
    const identity = this.#apiTokenIdentity(token);
    const now = this.#clock.now();
    const lastUsed = token?.lastUsedAt?.getTime();
    if (lastUsed === undefined || now.getTime() - lastUsed > LAST_USED_PRECISION_MS) {
      await em.nativeUpdate(ApiToken, { id: identity.credentialId }, { lastUsedAt: now });
    }
    return identity;
  }

  #apiTokenIdentity(token: ApiToken | null): Identity {
    assertActive(token?.user);
    if (!token?.isLive(this.#clock.now())) throw new UnauthenticatedError('The API token is unknown, expired or revoked.');
    const { user } = token;
    // A token never does more than its owner may do today.
    return {
      userId: user.id,
      email: user.email,
      role: weakerOf(token.role, user.role),
      via: 'apiToken',
      credentialId: token.id,
      expiresAt: token.expiresAt ?? null,
    };
  }
}

/** FORBIDDEN for a deactivated user's credential; a missing one is left to the caller. */
function assertActive(user: User | undefined): void {
  if (user && !user.active) throw new ForbiddenError('This account is deactivated.');
}
