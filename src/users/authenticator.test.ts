import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import type { Viewer } from '../access/viewer.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import { ApiToken } from './api-token.entity.ts';
import { IDENTITY_CHANNEL } from './identity-changes.ts';
import { newSecret, secretHash } from './secrets.ts';
import { User } from './user.entity.ts';

let app: TestApp;
let sql: pg.Client;
const queries: string[] = [];
/** Real time plus what the tests add, so the JWTs signed and the rows written agree with the database's `now()`. */
const clock = { ahead: 0, now: () => new Date(Date.now() + clock.ahead) };
/** Runs inside the next credential lookup's query, once. */
let duringQuery: (() => void) | undefined;

beforeAll(async () => {
  app = await createTestApp(
    { ACCESS_TOKEN_TTL_SECONDS: '60' },
    {
      clock,
      onQuery: (statement) => {
        queries.push(statement);
        const run = duringQuery;
        duringQuery = undefined;
        run?.();
      },
    },
  );
  // Starts the change channel (and the areas' hooks), as main and worker do.
  await app.start({ worker: false });
  sql = new pg.Client({ connectionString: app.config.databaseUrl });
  await sql.connect();
});

afterAll(async () => {
  await sql.end();
  await app.dispose();
});

beforeEach(() => {
  clock.ahead = 0;
});

/** Queries that read a credential: sessions and API tokens with their user. */
const lookups = () => queries.filter((statement) => /from "(auth_sessions|api_tokens)"/.test(statement)).length;

async function counted<T>(work: () => Promise<T>): Promise<{ result: T; lookups: number }> {
  const before = lookups();
  const result = await work();
  return { result, lookups: lookups() - before };
}

const bearer = (token: string) => `Bearer ${token}`;

async function loggedIn(role: 'ADMIN' | 'ANALYST' | 'VIEWER' = 'ANALYST'): Promise<{ viewer: Viewer; token: string }> {
  const viewer = await app.seedUser(role);
  return { viewer, token: await app.tokenFor(viewer) };
}

async function apiToken(viewer: Viewer, lastUsedAt: Date | null = null): Promise<{ secret: string; id: string }> {
  const em = app.orm.em.fork();
  const secret = newSecret('sops');
  const token = ApiToken.create({
    user: em.getReference(User, viewer.userId),
    name: 'ci',
    role: viewer.identity.role,
    prefix: secret.slice(0, 12),
    tokenHash: secretHash(secret),
    expiresAt: null,
    now: clock.now(),
  });
  token.lastUsedAt = lastUsedAt;
  await em.persist(token).flush();
  return { secret, id: token.id };
}

async function lastUsedAt(id: string): Promise<number | undefined> {
  return (await app.orm.em.fork().findOneOrFail(ApiToken, { id })).lastUsedAt?.getTime();
}

/**
 * The listener's session, ended from the server side (a restart, a failover,
 * an administrator), and new connections to the database refused until
 * `letBackIn`, so what happens meanwhile goes unheard for sure.
 */
async function cutTheChannel(): Promise<void> {
  const database = new URL(app.config.databaseUrl ?? '').pathname.slice(1);
  // A database cannot close its own door: this goes through another.
  await admin(`alter database ${database} with allow_connections false`);
  const { rowCount } = await sql.query(
    'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = $1',
    [`scanops listen ${IDENTITY_CHANNEL}`],
  );
  expect(rowCount).toBe(1);
  await expect.poll(() => app.authenticator.hearsEveryChange).toBe(false);
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function letBackIn(): Promise<void> {
  const database = new URL(app.config.databaseUrl ?? '').pathname.slice(1);
  await admin(`alter database ${database} with allow_connections true`);
  await expect.poll(() => app.authenticator.hearsEveryChange, { timeout: 8_000 }).toBe(true);
}

describe('the Authenticator, while the change channel is healthy', () => {
  it('checks an access token in the database once, then answers it from the cache', async () => {
    const { viewer, token } = await loggedIn();
    expect(app.authenticator.hearsEveryChange).toBe(true);
    const first = await counted(() => app.authenticator.authenticate(bearer(token)));
    expect(first.result.identity).toEqual({ ...viewer.identity, expiresAt: expect.any(Date) });
    expect(first.lookups).toBe(1);
    const again = await counted(() => app.authenticator.authenticate(bearer(token)));
    expect(again.result.identity).toEqual(first.result.identity);
    expect(again.lookups).toBe(0);
  });

  it("answers another token of the same session from that token's own entry, checked on its own", async () => {
    const { viewer, token } = await loggedIn();
    await app.authenticator.authenticate(bearer(token));
    clock.ahead = 1_000;
    const other = await app.tokenFor(viewer);
    expect((await counted(() => app.authenticator.authenticate(bearer(other)))).lookups).toBe(1);
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await app.authenticator.authenticate(bearer(forged))).failure).toBeInstanceOf(UnauthenticatedError);
  });

  it("refuses a cached access token once it expires, whatever the cache's time to live", async () => {
    const { token } = await loggedIn();
    await app.authenticator.authenticate(bearer(token));
    clock.ahead = 61_000;
    const viewer = await app.authenticator.authenticate(bearer(token));
    expect(viewer.failure?.message).toMatch(/expired/);
  });

  it('refuses a session revoked by another connection at once: its NOTIFY drops the entry', async () => {
    const { viewer, token } = await loggedIn();
    await app.authenticator.authenticate(bearer(token));
    await sql.query('update auth_sessions set revoked_at = now() where id = $1', [viewer.identity.credentialId]);
    await expect
      .poll(async () => (await app.authenticator.authenticate(bearer(token))).failure, { timeout: 1_000 })
      .toBeInstanceOf(UnauthenticatedError);
  });

  it("refuses a deactivated user's API token at once, FORBIDDEN", async () => {
    const { viewer } = await loggedIn();
    const { secret } = await apiToken(viewer);
    expect((await app.authenticator.authenticate(bearer(secret))).isAuthenticated).toBe(true);
    await sql.query('update users set active = false where id = $1', [viewer.userId]);
    await expect
      .poll(async () => (await app.authenticator.authenticate(bearer(secret))).failure, { timeout: 1_000 })
      .toBeInstanceOf(ForbiddenError);
  });

  it("drops this process's entries at once when this process says it changed them, before any NOTIFY", async () => {
    const { viewer, token } = await loggedIn();
    await app.authenticator.authenticate(bearer(token));
    await app.context(viewer).services.auth.logout();
    expect((await app.authenticator.authenticate(bearer(token))).failure).toBeInstanceOf(UnauthenticatedError);
  });

  it('does not keep what it read while a change arrived', async () => {
    const { viewer, token } = await loggedIn();
    duringQuery = () => app.authenticator.changed(viewer.userId);
    await app.authenticator.authenticate(bearer(token));
    expect((await counted(() => app.authenticator.authenticate(bearer(token)))).lookups).toBe(1);
    expect((await counted(() => app.authenticator.authenticate(bearer(token)))).lookups).toBe(0);
  });

  it("writes an API token's last use to the minute, also when the token is answered from the cache", async () => {
    const { viewer } = await loggedIn();
    // Another process wrote it 59 s ago: no need now, but in 2 s.
    const { secret, id } = await apiToken(viewer, new Date(clock.now().getTime() - 59_000));
    const before = await lastUsedAt(id);
    await app.authenticator.authenticate(bearer(secret));
    expect(await lastUsedAt(id)).toBe(before);
    clock.ahead = 2_000;
    const hit = await counted(() => app.authenticator.authenticate(bearer(secret)));
    expect(hit.lookups).toBe(0);
    const written = await lastUsedAt(id);
    expect(written).toBeGreaterThan(before ?? 0);
    clock.ahead = 20_000;
    await app.authenticator.authenticate(bearer(secret));
    expect(await lastUsedAt(id)).toBe(written);
  });

  it('shares one query among the re-checks of one credential made together', async () => {
    const { viewer } = await loggedIn();
    const { result, lookups: made } = await counted(() =>
      Promise.all(Array.from({ length: 50 }, () => app.authenticator.recheck(viewer.identity))),
    );
    expect(result.every((identity) => identity.userId === viewer.userId)).toBe(true);
    expect(made).toBe(1);
  });

  it('tells its listeners which user changed', async () => {
    const { viewer } = await loggedIn();
    const heard: (string | null)[] = [];
    const stop = app.authenticator.onChange((userId) => heard.push(userId));
    await sql.query(`update users set name = 'renamed' where id = $1`, [viewer.userId]);
    await expect.poll(() => heard).toEqual([viewer.userId]);
    stop();
  });
});

describe('the Authenticator, when the change channel is lost', () => {
  afterEach(() => letBackIn());

  it('asks the database for every request until LISTEN is back, then keeps answers again', async () => {
    const { viewer, token } = await loggedIn();
    await app.authenticator.authenticate(bearer(token));
    const heard: (string | null)[] = [];
    const stop = app.authenticator.onChange((userId) => heard.push(userId));
    await cutTheChannel();
    expect((await counted(() => app.authenticator.authenticate(bearer(token)))).lookups).toBe(1);
    expect((await counted(() => app.authenticator.authenticate(bearer(token)))).lookups).toBe(1);

    // Not heard (nobody listens), and refused at once all the same.
    await sql.query('update auth_sessions set revoked_at = now() where id = $1', [viewer.identity.credentialId]);
    expect((await app.authenticator.authenticate(bearer(token))).failure).toBeInstanceOf(UnauthenticatedError);

    await letBackIn();
    // Back: whatever changed meanwhile went unheard, so everyone is to be checked again.
    expect(heard).toEqual([null]);
    stop();
    const fresh = await loggedIn();
    expect((await counted(() => app.authenticator.authenticate(bearer(fresh.token)))).lookups).toBe(1);
    expect((await counted(() => app.authenticator.authenticate(bearer(fresh.token)))).lookups).toBe(0);
  });

  it('keeps nothing from before the loss: a session revoked unheard meanwhile is refused once LISTEN is back', async () => {
    const { viewer, token } = await loggedIn();
    await app.authenticator.authenticate(bearer(token));
    await cutTheChannel();
    await sql.query('update auth_sessions set revoked_at = now() where id = $1', [viewer.identity.credentialId]);
    await letBackIn();
    expect((await app.authenticator.authenticate(bearer(token))).failure).toBeInstanceOf(UnauthenticatedError);
  });
});

describe('the Authenticator without a change channel', () => {
  let plain: TestApp;

  beforeAll(async () => {
    plain = await createTestApp({ AUTH_CACHE_SECONDS: '0' }, { onQuery: (statement) => queries.push(statement) });
    await plain.start({ worker: false });
  });

  afterAll(() => plain.dispose());

  it('asks the database for every request, as AUTH_CACHE_SECONDS=0 asks', async () => {
    const token = await plain.tokenFor();
    expect(plain.authenticator.hearsEveryChange).toBe(false);
    expect((await counted(() => plain.authenticator.authenticate(bearer(token)))).lookups).toBe(1);
    expect((await counted(() => plain.authenticator.authenticate(bearer(token)))).lookups).toBe(1);
  });
});
