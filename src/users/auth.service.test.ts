import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_PASSWORD, type TestApp } from '../../test/helpers/app.ts';
import { Viewer } from '../access/viewer.ts';
import { AuditEvent } from '../audit/audit-event.entity.ts';
import { RateLimitedError, UnauthenticatedError } from '../errors.ts';
import { AuthSession, RefreshToken } from './auth-session.entity.ts';

let app: TestApp;
let email: string;

beforeAll(async () => {
  app = await createTestApp({ LOGIN_MAX_FAILURES_PER_EMAIL: '2', LOGIN_MAX_FAILURES_PER_IP: '4' });
  email = (await app.seedUser('ANALYST')).identity.email;
});

afterAll(() => app.dispose());

const auth = (ip = '127.0.0.1') => app.context(Viewer.anonymous(), ip).services.auth;

describe('AuthService on PostgreSQL', () => {
  it('keeps only hashes of refresh tokens', async () => {
    const { refreshToken } = await auth().login({ email, password: TEST_PASSWORD });
    const stored = await app.orm.em.fork().find(RefreshToken, {});
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.every((row) => /^[0-9a-f]{64}$/.test(row.tokenHash) && row.tokenHash !== refreshToken)).toBe(true);
  });

  it('lets exactly one of two concurrent refreshes with one token win, and revokes the session for the other', async () => {
    const { refreshToken, accessToken } = await auth().login({ email, password: TEST_PASSWORD });
    const outcomes = await Promise.allSettled([auth().refresh(refreshToken), auth().refresh(refreshToken)]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const loser = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toBeInstanceOf(UnauthenticatedError);
    // The winner's new tokens die with the session: the reuse may have been the thief's or the owner's.
    const viewer = await app.authenticator.authenticate(`Bearer ${accessToken}`);
    expect(viewer.failure).toBeInstanceOf(UnauthenticatedError);
    const sessions = await app.orm.em.fork().find(AuthSession, { revokedReason: 'A spent refresh token was presented again.' });
    expect(sessions).toHaveLength(1);
  });

  it('rate limits failed logins per email, then per address, across emails', async () => {
    for (let i = 0; i < 2; i++)
      await expect(auth('10.0.0.1').login({ email, password: 'wrong password!!' })).rejects.toThrow(UnauthenticatedError);
    const limited = await auth('10.0.0.1')
      .login({ email, password: TEST_PASSWORD })
      .catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterSeconds).toBeGreaterThan(890);

    // Another address guessing other emails: 4 failures in all from it, then it is stopped whatever the email.
    for (let i = 0; i < 4; i++)
      await expect(auth('10.0.0.2').login({ email: `nobody${i}@example.test`, password: 'x' })).rejects.toThrow(UnauthenticatedError);
    await expect(auth('10.0.0.2').login({ email: 'someone.else@example.test', password: 'x' })).rejects.toThrow(RateLimitedError);
    // However many emails it tries during the lockout, the log holds it once.
    for (let i = 0; i < 5; i++)
      await expect(auth('10.0.0.2').login({ email: `another${i}@example.test`, password: 'x' })).rejects.toThrow(RateLimitedError);
    expect(await app.orm.em.fork().count(AuditEvent, { action: 'LOGIN_RATE_LIMITED', ip: '10.0.0.2' })).toBe(1);
  });

  it('gives a successful attempt back, leaving the audit log as it was written', async () => {
    const user = (await app.seedUser('VIEWER')).identity.email;
    const ip = '10.0.0.20';
    await expect(auth(ip).login({ email: user, password: 'wrong password!!' })).rejects.toThrow(UnauthenticatedError);
    await auth(ip).login({ email: user, password: TEST_PASSWORD });
    // One failure counts, the success does not: one more wrong guess is still a guess, not a lockout.
    await expect(auth(ip).login({ email: user, password: 'wrong password!!' })).rejects.toThrow(UnauthenticatedError);
    await expect(auth(ip).login({ email: user, password: TEST_PASSWORD })).rejects.toThrow(RateLimitedError);
    const trail = await app.orm.em.fork().find(AuditEvent, { actorEmail: user }, { orderBy: { id: 'asc' } });
    expect(trail.map((event) => event.action)).toEqual(['LOGIN_FAILED', 'LOGIN_SUCCEEDED', 'LOGIN_FAILED', 'LOGIN_RATE_LIMITED']);
    expect(trail[0]?.actorId).toBe(trail[1]?.actorId);
  });

  it('answers an email holding NUL like any unknown one', async () => {
    await expect(auth('10.0.0.11').login({ email: 'a\0b@example.test', password: 'whatever' })).rejects.toThrow(UnauthenticatedError);
  });

  it('lets concurrent guesses no further than the limit, and records a lockout once', async () => {
    const target = (await app.seedUser('VIEWER')).identity.email;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () => auth('10.0.0.9').login({ email: target, password: 'a guess, wrong' })),
    );
    const reasons = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason?.constructor.name);
    expect(reasons.filter((name) => name === 'UnauthenticatedError')).toHaveLength(2);
    expect(reasons.filter((name) => name === 'RateLimitedError')).toHaveLength(18);
    const recorded = await app.orm.em.fork().find(AuditEvent, { actorEmail: target });
    expect(recorded.map((event) => event.action).sort()).toEqual(['LOGIN_FAILED', 'LOGIN_FAILED', 'LOGIN_RATE_LIMITED']);
  });

  it('keeps an absurdly long email out of the audit log beyond the longest real one', async () => {
    await expect(auth('10.0.0.10').login({ email: `${'x'.repeat(90_000)}@example.test`, password: 'whatever' })).rejects.toThrow(
      UnauthenticatedError,
    );
    const [event] = await app.orm.em.fork().find(AuditEvent, { ip: '10.0.0.10' });
    expect(event?.actorEmail).toHaveLength(255);
  });
});
