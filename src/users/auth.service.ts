import type { EntityManager } from '@mikro-orm/postgresql';
import type { AccessTokens } from '../access/access-tokens.ts';
import type { Authenticate, Viewer } from '../access/viewer.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { ConflictError, InvalidInputError, RateLimitedError, UnauthenticatedError } from '../errors.ts';
import type { EventBus } from '../module.ts';
import type { Clock } from '../platform/clock.ts';
import { lockUntilCommit } from '../platform/db.ts';
import type { Logger } from '../platform/logger.ts';
import { AuthSession, RefreshToken } from './auth-session.entity.ts';
import { LoginAttempts } from './login-attempts.ts';
import { assertStrongPassword, hashPassword, verifyPassword } from './password.ts';
import { newSecret, secretHash } from './secrets.ts';
import { User } from './user.entity.ts';
import { MAX_EMAIL_LENGTH, normalizeEmail } from './user.service.ts';

export type LoginLimits = {
  refreshTokenTtlDays: number;
  loginMaxFailuresPerEmail: number;
  loginMaxFailuresPerIp: number;
  loginFailureWindowSeconds: number;
};

export type AuthServiceDeps = {
  em: EntityManager;
  viewer: Viewer;
  tokens: AccessTokens;
  audit: AuditLog;
  events: EventBus;
  clock: Clock;
  /** Told at once of the credentials this service changes, before the database's notification comes round. */
  identities: Pick<Authenticate, 'changed'>;
  limits: LoginLimits;
  /** The request's logger (its lines carry the request id). Never given a password. */
  logger: Logger;
};

export type AuthPayload = {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: User;
};

/** One answer for an unknown email, a wrong password and a deactivated account, so accounts don't leak. */
const LOGIN_FAILED = 'Email or password is incorrect.';
const DAY_MS = 86_400_000;
/** Advisory lock namespaces (the two-key form, apart from the migrations' one-key lock). */
const LOCK_SPACE = { email: 1_001, ip: 1_002 } as const;

/** Logging in and out, and trading a refresh token for a new pair. */
export class AuthService {
  readonly #em: EntityManager;
  readonly #viewer: Viewer;
  readonly #tokens: AccessTokens;
  readonly #audit: AuditLog;
  readonly #events: EventBus;
  readonly #clock: Clock;
  readonly #identities: Pick<Authenticate, 'changed'>;
  readonly #limits: LoginLimits;
  readonly #logger: Logger;

  constructor({ em, viewer, tokens, audit, events, clock, identities, limits, logger }: AuthServiceDeps) {
    this.#em = em;
    this.#viewer = viewer;
    this.#tokens = tokens;
    this.#audit = audit;
    this.#events = events;
    this.#clock = clock;
    this.#identities = identities;
    this.#limits = limits;
    this.#logger = logger;
  }

  /** A new session. Failures are rate limited per email and per client address, counted from the audit log. */
  async login({ email, password }: { email: string; password: string }): Promise<AuthPayload> {
    // NUL cannot be stored (nor match); longer than any email, it is kept short in the audit log, and bound to fail.
    const normalized = normalizeEmail(email)
      .replaceAll('\0', '\uFFFD')
      .slice(0, MAX_EMAIL_LENGTH + 1);
    const user = await this.#passwordAttempt(normalized, async () => {
      const found = await this.#em.findOne(User, { email: normalized }, { populate: ['passwordHash'] });
      const matches = await verifyPassword(found?.passwordHash ?? null, password);
      return found && matches && found.active ? found : { failedFor: found?.id ?? null };
    });
    if (!user) throw new UnauthenticatedError(LOGIN_FAILED);
    const now = this.#clock.now();
    user.lastLoginAt = now;
    const session = AuthSession.create(user, now, new Date(now.getTime() + this.#limits.refreshTokenTtlDays * DAY_MS), this.#audit.ip);
    const payload = await this.#issue(session);
    await this.#audit.record({ action: 'LOGIN_SUCCEEDED', actor: { id: user.id, email: user.email }, details: { sessionId: session.id } });
    return payload;
  }

  /**
   * A new access token and a new refresh token for the same session; the one
   * presented is spent. Presenting a spent one again means someone kept a
   * copy: the whole session is revoked, for its rightful holder too.
   */
  async refresh(refreshToken: string): Promise<AuthPayload> {
    const token = await this.#em.findOne(RefreshToken, { tokenHash: secretHash(refreshToken) }, { populate: ['session.user'] });
    if (!token) throw new UnauthenticatedError('The refresh token is invalid.');
    const { session } = token;
    const now = this.#clock.now();
    // One statement claims it: of two concurrent refreshes with the same token, one wins and one is a reuse.
    const claimed = await this.#em.nativeUpdate(RefreshToken, { id: token.id, usedAt: null }, { usedAt: now });
    if (claimed === 0) {
      if (session.revokedAt === null) {
        await this.#revoke(session, 'A spent refresh token was presented again.');
        await this.#audit.record({
          action: 'REFRESH_TOKEN_REUSED',
          actor: { id: session.user.id, email: session.user.email },
          details: { sessionId: session.id },
        });
        this.#logger.warn(
          { userId: session.user.id, sessionId: session.id, ip: this.#audit.ip },
          'spent refresh token presented again; session revoked',
        );
      }
      throw new UnauthenticatedError('The refresh token was already used: its session is revoked. Log in again.');
    }
    if (!session.isLive(now) || !session.user.active) throw new UnauthenticatedError('The session has ended: log in again.');
    return this.#issue(session);
  }

  /** Ends a session: the one of the refresh token given, or else the caller's. Its tokens stop working at once. */
  async logout(refreshToken?: string | null): Promise<void> {
    let session: AuthSession | null;
    if (refreshToken) {
      session =
        (await this.#em.findOne(RefreshToken, { tokenHash: secretHash(refreshToken) }, { populate: ['session.user'] }))?.session ?? null;
      if (!session) throw new UnauthenticatedError('The refresh token is invalid.');
    } else {
      const identity = this.#viewer.identity;
      if (identity.via !== 'session') throw new ConflictError('An API token has no session to end: revoke it with `revokeApiToken`.');
      session = await this.#em.findOneOrFail(AuthSession, { id: identity.credentialId }, { populate: ['user'] });
    }
    await this.#revoke(session, 'Logged out.');
    await this.#audit.record({
      action: 'LOGOUT',
      actor: { id: session.user.id, email: session.user.email },
      details: { sessionId: session.id },
    });
  }

  /** A new password for the caller, who proves the current one; every other session of theirs ends. */
  async changePassword({ currentPassword, newPassword }: { currentPassword: string; newPassword: string }): Promise<User> {
    const identity = this.#viewer.identity;
    if (identity.via !== 'session') throw new ConflictError('Change a password from a login session, not with an API token.');
    assertStrongPassword(newPassword, identity.email, 'newPassword');
    const user = await this.#passwordAttempt(
      identity.email,
      async () => {
        const found = await this.#em.findOneOrFail(User, { id: identity.userId }, { populate: ['passwordHash'] });
        return (await verifyPassword(found.passwordHash, currentPassword)) ? found : { failedFor: found.id };
      },
      'changePassword',
    );
    if (!user) throw new InvalidInputError('currentPassword', 'The current password is wrong.');
    const now = this.#clock.now();
    user.passwordHash = await hashPassword(newPassword);
    user.updatedAt = now;
    await this.#em.transactional(async (em) => {
      em.persist(user);
      await em.nativeUpdate(
        AuthSession,
        { user: user.id, revokedAt: null, id: { $ne: identity.credentialId } },
        { revokedAt: now, revokedReason: 'Password changed.' },
      );
    });
    this.#identities.changed(user.id);
    // Watchers re-check each of the user's identities: the other sessions' sockets close, this one's stays.
    await this.#events.publish('identityRevoked', { userId: user.id, reason: 'REVOKED', at: now.toISOString() });
    await this.#audit.record({
      action: 'USER_UPDATED',
      target: { type: 'User', id: user.id },
      details: { password: 'changed', by: 'self' },
    });
    return user;
  }

  async #issue(session: AuthSession): Promise<AuthPayload> {
    const refreshToken = newSecret('sopr');
    this.#em.persist([session, RefreshToken.create(session, secretHash(refreshToken), this.#clock.now())]);
    await this.#em.flush();
    const { user } = session;
    const access = await this.#tokens.sign(user.id, user.role, session.id);
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt: session.expiresAt,
      user,
    };
  }

  async #revoke(session: AuthSession, reason: string): Promise<void> {
    const now = this.#clock.now();
    session.revoke(now, reason);
    await this.#em.flush();
    this.#identities.changed(session.user.id);
    await this.#events.publish('identityRevoked', {
      userId: session.user.id,
      sessionId: session.id,
      reason: 'REVOKED',
      at: now.toISOString(),
    });
  }

  /**
   * One password check under the failed-login limits. Attempts for one email,
   * and from one address, take turns for a moment (transaction-scoped advisory
   * locks) to count the failures so far and write this attempt down as one, so
   * concurrent guesses cannot slip past the limit. The slow hash check runs
   * after that transaction, holding no lock and no connection; a success
   * gives the attempt back. The audit log hears of the outcome once it is
   * known: it only appends.
   */
  async #passwordAttempt(email: string, check: () => Promise<User | { failedFor: string | null }>, during?: string): Promise<User | null> {
    const windowMs = this.#limits.loginFailureWindowSeconds * 1000;
    const ip = this.#audit.ip;
    const gate = await this.#em.transactional(async (em): Promise<{ retryAfter: number } | { attempt: string }> => {
      await lockUntilCommit(em, LOCK_SPACE.email, email);
      if (ip) await lockUntilCommit(em, LOCK_SPACE.ip, ip);
      const attempts = new LoginAttempts(em);
      const now = this.#clock.now();
      const since = new Date(now.getTime() - windowMs);
      await attempts.forget(email, ip, since);
      const failures = await attempts.failures(email, ip, since);
      // Locked until the oldest failure that counts leaves the window.
      const until = (oldest: Date | null) => (oldest?.getTime() ?? now.getTime()) + windowMs;
      const byEmail = failures.byEmail >= this.#limits.loginMaxFailuresPerEmail ? until(failures.oldestByEmail) : 0;
      const byIp = failures.byIp >= this.#limits.loginMaxFailuresPerIp ? until(failures.oldestByIp) : 0;
      const blockedUntil = Math.max(byEmail, byIp);
      if (blockedUntil > now.getTime()) {
        // One record per lockout, whatever is tried during it: refused attempts must not fill the log.
        const tripped = byEmail > now.getTime() ? { email } : { ip };
        const retryAfter = Math.ceil((blockedUntil - now.getTime()) / 1000);
        if (!(await attempts.lockedOutSince(tripped, since))) {
          await attempts.record(email, ip, now, 'LOCKED_OUT');
          await this.#audit.record({ action: 'LOGIN_RATE_LIMITED', actor: { id: null, email } }, em);
          this.#logger.warn({ email, ip, by: 'email' in tripped ? 'email' : 'ip', retryAfterSeconds: retryAfter }, 'login locked out');
        }
        return { retryAfter };
      }
      return { attempt: await attempts.record(email, ip, now, 'PENDING') };
    });
    if ('retryAfter' in gate) throw new RateLimitedError(`Too many failed logins: try again in ${gate.retryAfter} s.`, gate.retryAfter);
    const result = await check();
    const attempts = new LoginAttempts(this.#em);
    if (result instanceof User) {
      await attempts.settle(gate.attempt, 'SUCCEEDED');
      return result;
    }
    await attempts.settle(gate.attempt, 'FAILED');
    await this.#audit.record({ action: 'LOGIN_FAILED', actor: { id: result.failedFor, email }, details: during ? { during } : {} });
    this.#logger.warn({ email, ip, userId: result.failedFor, ...(during ? { during } : {}) }, 'login failed');
    return null;
  }
}
