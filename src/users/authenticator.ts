import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccessTokens } from '../access/access-tokens.ts';
import { weakerOf } from '../access/role.ts';
import { type Authenticate, type Grants, type Identity, Viewer } from '../access/viewer.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import type { ChangeChannel } from '../platform/pg-listen.ts';
import { isUuid } from '../platform/uuid.ts';
import { ApiToken } from './api-token.entity.ts';
import { AuthSession } from './auth-session.entity.ts';
import { IdentityCache, type Verified } from './identity-cache.ts';
import { isApiTokenSecret, secretHash } from './secrets.ts';
import type { User } from './user.entity.ts';

const BEARER = /^Bearer +([\x21-\x7e]{1,4096})$/i;
/** `last_used_at` of an API token is written at most this often, not on every request. */
const LAST_USED_PRECISION_MS = 60_000;

export type AuthenticatorDeps = {
  em: EntityManager;
  tokens: AccessTokens;
  clock: Clock;
  grants: Grants;
  /**
   * Where changes to users, sessions and API tokens are heard: the
   * database's `IDENTITY_CHANNEL` (see `identity-changes.ts`). Without it,
   * or while it is unhealthy, every credential is checked in the database.
   */
  changes?: ChangeChannel;
  /** How long a verified credential is trusted while `changes` is healthy; 0 keeps nothing. @default 30_000 */
  cacheTtlMs?: number;
  /** Most credentials kept. @default 10_000 */
  cacheMaxEntries?: number;
};

/** What is kept of a verified credential. */
type Known = {
  identity: Identity;
  /** An API token's `last_used_at` as this process last read or wrote it (ms), so it is written once a minute, not per request. */
  lastUsedAt?: number | null;
};

/**
 * Turns an `Authorization` header into a Viewer. A credential is checked in
 * the database, and the answer reused for a short time (`cacheTtlMs`) only
 * while the database's change channel is healthy: every change to a user,
 * session or API token, from any process, drops what is kept of that user
 * at once, so a revoked session, a revoked API token or a deactivated user
 * stops working at once, not when a JWT expires. When the channel is lost,
 * nothing is kept until it is back.
 */
export class Authenticator implements Authenticate {
  readonly #em: EntityManager;
  readonly #tokens: AccessTokens;
  readonly #clock: Clock;
  readonly #grants: Grants;
  readonly #changes: ChangeChannel | undefined;
  readonly #cache: IdentityCache<Known>;
  readonly #listeners = new Set<(userId: string | null) => void>();

  constructor({ em, tokens, clock, grants, changes, cacheTtlMs = 30_000, cacheMaxEntries }: AuthenticatorDeps) {
    this.#em = em;
    this.#tokens = tokens;
    this.#clock = clock;
    this.#grants = grants;
    this.#changes = changes;
    this.#cache = new IdentityCache({ ttlMs: cacheTtlMs, maxEntries: cacheMaxEntries, clock });
    const caching = cacheTtlMs > 0;
    changes?.onNotification((payload) => {
      // Anyone may NOTIFY on a channel: a payload that is not a user's ID counts as "anyone's".
      const userId = isUuid(payload) ? payload.toLowerCase() : null;
      this.#cache.forget(userId);
      this.#tell(userId);
    });
    changes?.onHealthChange((healthy) => {
      if (!healthy) return this.#cache.disable();
      if (caching) this.#cache.enable();
      // What changed while the channel was away was not heard: everyone is checked again.
      this.#tell(null);
    });
    if (caching && changes?.healthy) this.#cache.enable();
  }

  get hearsEveryChange(): boolean {
    return this.#changes?.healthy ?? false;
  }

  onChange(listener: (userId: string | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  changed(userId: string): void {
    this.#cache.forget(userId);
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

  /**
   * The identity as it stands now (role changes included); throws once it no
   * longer holds. It asks the database: a re-check comes when something may
   * have changed (a change heard, a new operation on a socket). While the
   * channel is healthy, re-checks of one credential made together (every
   * socket of a session, when the channel comes back) share one query.
   */
  async recheck(identity: Identity): Promise<Identity> {
    if (identity.expiresAt && identity.expiresAt <= this.#clock.now()) {
      throw new UnauthenticatedError('The access token has expired: get a new one with `refreshAccessToken`.');
    }
    const id = identity.credentialId;
    if (identity.via === 'apiToken') {
      return (
        await this.#cache.share(`apiToken:${id}`, async () =>
          this.#verified(this.#apiTokenIdentity(await this.#em.fork().findOne(ApiToken, { id }, { populate: ['user'] }))),
        )
      ).identity;
    }
    const { identity: now } = await this.#cache.share(`session:${id}`, async () =>
      this.#verified(this.#sessionIdentity(await this.#em.fork().findOne(AuthSession, { id }, { populate: ['user'] }))),
    );
    return { ...now, expiresAt: identity.expiresAt };
  }

  /** Kept by a hash of the exact token: another token of the same session is another entry, verified on its own. */
  async #accessToken(token: string): Promise<Identity> {
    const { identity } = await this.#cache.get(`jwt:${secretHash(token)}`, async () => {
      const claims = await this.#tokens.verify(token);
      const session = await this.#em.fork().findOne(AuthSession, { id: claims.sessionId }, { populate: ['user'] });
      if (session?.user.id !== claims.userId) throw new UnauthenticatedError('The access token is invalid.');
      // Kept no longer than the token lives: past its expiry, the lookup runs again and jose says it expired.
      return this.#verified({ ...this.#sessionIdentity(session), expiresAt: claims.expiresAt }, session.expiresAt);
    });
    return identity;
  }

  #sessionIdentity(session: AuthSession | null): Identity {
    // Deactivation also revokes the sessions; the account's state is the truer reason to give.
    assertActive(session?.user);
    if (!session?.isLive(this.#clock.now())) throw new UnauthenticatedError('The session has ended (logged out or revoked): log in again.');
    const { user } = session;
    return { userId: user.id, email: user.email, role: user.role, via: 'session', credentialId: session.id, expiresAt: session.expiresAt };
  }

  async #apiToken(secret: string): Promise<Identity> {
    const tokenHash = secretHash(secret);
    const known = await this.#cache.get(`sops:${tokenHash}`, async () => {
      const token = await this.#em.fork().findOne(ApiToken, { tokenHash }, { populate: ['user'] });
      const verified = this.#verified(this.#apiTokenIdentity(token));
      verified.value.lastUsedAt = token?.lastUsedAt?.getTime() ?? null;
      return verified;
    });
    await this.#markUsed(known);
    return known.identity;
  }

  /** `last_used_at` to the minute, whether the token was just read or served from the cache. */
  async #markUsed(known: Known): Promise<void> {
    const now = this.#clock.now();
    if (known.lastUsedAt != null && now.getTime() - known.lastUsedAt <= LAST_USED_PRECISION_MS) return;
    // Before the write: requests arriving meanwhile with this token need not write it too.
    known.lastUsedAt = now.getTime();
    await this.#em.fork().nativeUpdate(ApiToken, { id: known.identity.credentialId }, { lastUsedAt: now });
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

  /** An identity to keep, no longer than it or its credential (`credentialExpiresAt`) lives. */
  #verified(identity: Identity, credentialExpiresAt: Date | null = null): Verified<Known> {
    const until = [identity.expiresAt, credentialExpiresAt].filter((date) => date !== null);
    return { value: { identity }, userId: identity.userId, until: until.length ? new Date(Math.min(...until.map(Number))) : null };
  }

  #tell(userId: string | null): void {
    for (const listener of this.#listeners) listener(userId);
  }
}

/** FORBIDDEN for a deactivated user's credential; a missing one is left to the caller. */
function assertActive(user: User | undefined): void {
  if (user && !user.active) throw new ForbiddenError('This account is deactivated.');
}
