import { createClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { allStarted, bearer, type ServerProcess, startServer, subscribe, type TestUser } from '../helpers/server.ts';

/**
 * Two API processes on one database, no Redis between them: each keeps the
 * credentials it verified for AUTH_CACHE_SECONDS (30 s by default), and what
 * one process changes reaches the other through PostgreSQL's NOTIFY alone.
 */
const JWT_SECRET = 'identity-cache-e2e-secret-with-at-least-32-chars';
const VIEWER = '{ viewer { id } }';
const LOGOUT = 'mutation { logout { loggedOut } }';
const CREATE_API_TOKEN = 'mutation { createApiToken(input: { name: "ci" }) { secret apiToken { id } } }';
const REVOKE_API_TOKEN = 'mutation($id: ID!) { revokeApiToken(input: { id: $id }) { apiToken { revokedAt } } }';
const DEACTIVATE = 'mutation($id: ID!) { updateUser(input: { id: $id, active: false }) { user { active } } }';
const SCAN_UPDATED = 'subscription { scanUpdated { id } }';

let database: TestDatabase;
/** Where the changes are made. */
let a: ServerProcess | undefined;
/** Where they must be heard. */
let b: ServerProcess | undefined;

const env = { JWT_SECRET, RUN_WORKER: 'false' };

beforeAll(async () => {
  database = await createTestDatabase();
  // One after the other: the second finds the admin the first created.
  a = await startServer({ databaseUrl: database.url, env });
  await allStarted(startServer({ databaseUrl: database.url, env }).then((started) => (b = started)));
});

afterAll(async () => {
  expect(await a?.stop()).toBe(0);
  expect(await b?.stop()).toBe(0);
  await database?.drop();
});

const one = (server: ServerProcess | undefined): ServerProcess => {
  if (!server) throw new Error('the server did not start');
  return server;
};

/** The code `{ viewer { id } }` gets with `token`, or `OK`. */
async function viewerCode(server: ServerProcess, token: string): Promise<unknown> {
  const { body } = await server.graphql(VIEWER, {}, bearer(token));
  return body.errors?.[0]?.extensions?.code ?? 'OK';
}

/** Asks `server` with `token` until it is refused; how long that took, from now. */
async function refusedAfter(server: ServerProcess, token: string, code: string): Promise<number> {
  const since = Date.now();
  for (;;) {
    const answer = await viewerCode(server, token);
    if (answer !== 'OK') {
      expect(answer).toBe(code);
      return Date.now() - since;
    }
    if (Date.now() - since > 5_000) throw new Error(`still accepted after ${Date.now() - since} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function apiTokenOf(user: TestUser): Promise<{ secret: string; id: string }> {
  const { body } = await one(a).graphql<{ createApiToken: { secret: string; apiToken: { id: string } } }>(
    CREATE_API_TOKEN,
    {},
    user.headers,
  );
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return { secret: body.data.createApiToken.secret, id: body.data.createApiToken.apiToken.id };
}

/** Holds an exclusive lock on the credential tables while `work` runs: anything reading them waits. */
async function withCredentialTablesLocked<T>(work: () => Promise<T>): Promise<T> {
  const lock = new pg.Client({ connectionString: database.url });
  await lock.connect();
  try {
    await lock.query('begin');
    await lock.query('lock table auth_sessions, api_tokens in access exclusive mode');
    return await work();
  } finally {
    await lock.query('rollback');
    await lock.end();
  }
}

describe('two API processes on one database, without Redis', () => {
  it('answer a credential they verified without reading it from the database again', async () => {
    const user = await one(a).createUser('ANALYST');
    const unseen = await one(a).createUser('ANALYST');
    expect(await viewerCode(one(b), user.token)).toBe('OK');
    let waiting: Promise<unknown> | undefined;
    await withCredentialTablesLocked(async () => {
      expect(await viewerCode(one(b), user.token)).toBe('OK');
      // The control: a token B has not verified yet needs the tables, and waits for them.
      waiting = viewerCode(one(b), unseen.token);
      const first = await Promise.race([waiting, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 500))]);
      expect(first).toBe('still waiting');
    });
    expect(await waiting).toBe('OK');
  });

  it('refuse a session logged out in the other one within the same second', async () => {
    const user = await one(a).createUser('ANALYST');
    expect(await viewerCode(one(b), user.token)).toBe('OK');
    expect(await viewerCode(one(b), user.token)).toBe('OK');
    const { body } = await one(a).graphql(LOGOUT, {}, user.headers);
    expect(body.errors).toBeUndefined();
    expect(await refusedAfter(one(b), user.token, 'UNAUTHENTICATED')).toBeLessThan(1_000);
  });

  it('refuse an API token revoked in the other one within the same second', async () => {
    const user = await one(a).createUser('ANALYST');
    const token = await apiTokenOf(user);
    expect(await viewerCode(one(b), token.secret)).toBe('OK');
    expect(await viewerCode(one(b), token.secret)).toBe('OK');
    const { body } = await one(a).graphql(REVOKE_API_TOKEN, { id: token.id }, user.headers);
    expect(body.errors).toBeUndefined();
    expect(await refusedAfter(one(b), token.secret, 'UNAUTHENTICATED')).toBeLessThan(1_000);
  });

  it('refuse a user deactivated in the other one within the same second, with either of their tokens', async () => {
    const user = await one(a).createUser('ANALYST');
    const token = await apiTokenOf(user);
    for (const credential of [user.token, token.secret]) expect(await viewerCode(one(b), credential)).toBe('OK');
    const { body } = await one(a).graphql(DEACTIVATE, { id: user.id });
    expect(body.errors).toBeUndefined();
    const elapsed = await Promise.all([user.token, token.secret].map((credential) => refusedAfter(one(b), credential, 'FORBIDDEN')));
    expect(Math.max(...elapsed)).toBeLessThan(1_000);
  });

  it('close a socket whose session was logged out in the other one within the same second, with no event to carry it', async () => {
    const user = await one(a).createUser('ANALYST');
    let closedAt = 0;
    const closed = new Promise<number>((resolve) => {
      const client = createClient({
        url: one(b).wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams: { authorization: `Bearer ${user.token}` },
        onNonLazyError: () => {},
        on: {
          closed: (event) => {
            closedAt = Date.now();
            resolve((event as { code: number }).code);
          },
        },
      });
      subscribe(client, SCAN_UPDATED);
    });
    // Time for the socket to open and its operation to start: a subscribe has no acknowledgement.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { body } = await one(a).graphql(LOGOUT, {}, user.headers);
    expect(body.errors).toBeUndefined();
    const loggedOutAt = Date.now();
    expect(await closed).toBe(4401);
    expect(closedAt - loggedOutAt).toBeLessThan(1_000);
  });
});
