import { type Client, createClient } from 'graphql-ws';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_EMAIL, bearer, type ServerProcess, startServer, subscribe, TEST_PASSWORD } from '../helpers/server.ts';

const LOGIN = `mutation($input: LoginInput!) {
  login(input: $input) { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { id email role lastLoginAt } }
}`;
const REFRESH =
  'mutation($input: RefreshAccessTokenInput!) { refreshAccessToken(input: $input) { accessToken refreshToken user { email } } }';
const LOGOUT = 'mutation($input: LogoutInput) { logout(input: $input) { loggedOut } }';
const VIEWER = '{ viewer { id email role } }';
const SCAN_UPDATED = 'subscription { scanUpdated { id ports } }';
const CREATE = 'mutation($ports: String!) { createScan(input: { targets: ["127.0.0.1"], ports: $ports }) { scan { id } } }';

type Login = {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: { id: string; email: string; role: string; lastLoginAt: string };
};

let server: ServerProcess;

const anonymous = { authorization: '' };

async function login(email: string, password = TEST_PASSWORD): Promise<Login> {
  const { body } = await server.graphql<{ login: Login }>(LOGIN, { input: { email, password } }, anonymous);
  expect(body.errors).toBeUndefined();
  return body.data!.login;
}

async function viewerCode(token: string): Promise<unknown> {
  const { body } = await server.graphql(VIEWER, {}, bearer(token));
  return body.errors?.[0]?.extensions?.code ?? 'OK';
}

/** A graphql-ws client whose socket's close code can be awaited. */
function socket(connectionParams?: Record<string, unknown>): { client: Client; closed: Promise<number> } {
  let closed!: (code: number) => void;
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams,
    on: { closed: (event) => closed((event as { code: number }).code) },
    onNonLazyError: () => {},
  });
  return { client, closed: new Promise((resolve) => (closed = resolve)) };
}

beforeAll(async () => {
  // A short grace so the tokenless-socket test need not wait the default 10 s.
  server = await startServer({ env: { WS_AUTH_GRACE_MS: '800' } });
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

describe('logging in', () => {
  it('creates the first admin from ADMIN_EMAIL on an empty database and says how to log in', () => {
    expect(server.output.join('\n')).toContain(`Created the first admin, ${ADMIN_EMAIL}, from ADMIN_EMAIL`);
  });

  it('returns a short-lived HS256 JWT with the standard claims, a refresh token and the user', async () => {
    const before = Date.now();
    const session = await login(ADMIN_EMAIL.toUpperCase());
    expect(decodeProtectedHeader(session.accessToken)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(session.accessToken);
    expect(claims).toMatchObject({
      iss: 'scanops',
      aud: 'scanops-api',
      role: 'ADMIN',
      sub: expect.any(String),
      jti: expect.any(String),
      sid: expect.any(String),
    });
    expect(claims.exp! - claims.iat!).toBe(15 * 60);
    expect(new Date(session.accessTokenExpiresAt).getTime()).toBe(claims.exp! * 1000);
    expect(session.refreshToken).toMatch(/^sopr_[\w-]{43}$/);
    expect(session.user).toMatchObject({ email: ADMIN_EMAIL, role: 'ADMIN' });
    expect(new Date(session.user.lastLoginAt).getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(await viewerCode(session.accessToken)).toBe('OK');
  });

  it('answers a wrong password, an unknown email and a deactivated account with one and the same error', async () => {
    const analyst = await server.createUser('ANALYST');
    const { body: deactivated } = await server.graphql(
      'mutation($id: ID!) { updateUser(input: { id: $id, active: false }) { user { active } } }',
      { id: analyst.id },
    );
    expect(deactivated.errors).toBeUndefined();
    const attempts = [
      { email: ADMIN_EMAIL, password: 'not the password at all' },
      { email: 'nobody@scanops.test', password: TEST_PASSWORD },
      { email: analyst.email, password: TEST_PASSWORD },
    ];
    const errors = [];
    for (const input of attempts) {
      const { status, body } = await server.graphql(LOGIN, { input }, anonymous);
      expect(status).toBe(200);
      expect(body.data).toBeNull();
      errors.push(body.errors?.map(({ message, extensions }) => ({ message, extensions })));
    }
    expect(errors[0]).toEqual([{ message: 'Email or password is incorrect.', extensions: { code: 'UNAUTHENTICATED' } }]);
    expect(errors[1]).toEqual(errors[0]);
    expect(errors[2]).toEqual(errors[0]);
  });

  it('refuses every other operation without a token, and says how to get one', async () => {
    const { body } = await server.graphql('{ scans { totalCount } }', {}, anonymous);
    expect(body.errors?.[0]).toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
      message: expect.stringContaining('Authorization: Bearer'),
    });
  });
});

describe('refresh and logout', () => {
  it('rotates the refresh token on every use, and the new pair works', async () => {
    const first = await login(ADMIN_EMAIL);
    const { body } = await server.graphql<{ refreshAccessToken: { accessToken: string; refreshToken: string } }>(
      REFRESH,
      { input: { refreshToken: first.refreshToken } },
      anonymous,
    );
    expect(body.errors).toBeUndefined();
    const second = body.data!.refreshAccessToken;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(decodeJwt(second.accessToken).sid).toBe(decodeJwt(first.accessToken).sid);
    expect(await viewerCode(second.accessToken)).toBe('OK');
  });

  it('ends the session on logout: its access and refresh tokens stop working at once', async () => {
    const session = await login(ADMIN_EMAIL);
    const { body } = await server.graphql(LOGOUT, {}, bearer(session.accessToken));
    expect(body).toEqual({ data: { logout: { loggedOut: true } } });
    expect(await viewerCode(session.accessToken)).toBe('UNAUTHENTICATED');
    const refreshed = await server.graphql(REFRESH, { input: { refreshToken: session.refreshToken } }, anonymous);
    expect(refreshed.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('logs out by refresh token alone, for a client whose access token has expired', async () => {
    const session = await login(ADMIN_EMAIL);
    const { body } = await server.graphql(LOGOUT, { input: { refreshToken: session.refreshToken } }, anonymous);
    expect(body).toEqual({ data: { logout: { loggedOut: true } } });
    expect(await viewerCode(session.accessToken)).toBe('UNAUTHENTICATED');
  });

  it('records logins, failures and logouts in the audit log with the client address', async () => {
    const { body } = await server.graphql<{ auditEvents: { nodes: { action: string; ip: string; actorEmail: string }[] } }>(
      '{ auditEvents(first: 100, filter: { action: [LOGIN_SUCCEEDED, LOGIN_FAILED, LOGOUT] }) { nodes { action ip actorEmail } } }',
    );
    expect(body.errors).toBeUndefined();
    const actions = new Set(body.data!.auditEvents.nodes.map((event) => event.action));
    expect(actions).toEqual(new Set(['LOGIN_SUCCEEDED', 'LOGIN_FAILED', 'LOGOUT']));
    expect(body.data!.auditEvents.nodes.every((event) => event.ip === '127.0.0.1')).toBe(true);
    expect(body.data!.auditEvents.nodes.map((event) => event.actorEmail)).toContain('nobody@scanops.test');
  });
});

describe('subscriptions', () => {
  it('closes a socket whose connectionParams token is invalid with 4401', async () => {
    const { closed } = socket({ authorization: 'Bearer not-a-token' });
    expect(await closed).toBe(4401);
  });

  it('closes a socket whose connectionParams authorization is not a string with 4401', async () => {
    const { closed } = socket({ authorization: { token: 'x' } });
    expect(await closed).toBe(4401);
  });

  it('refuses a too costly or too deep operation with its code, and the socket goes on', async () => {
    const { client, closed } = socket({ authorization: `Bearer ${server.adminToken}` });
    let state = 'open';
    void closed.then(() => (state = 'closed'));
    const costly = subscribe(
      client,
      'query($n: Int) { scans(first: $n) { nodes { hosts(first: $n) { nodes { results(first: $n) { nodes { port } } } } } } }',
      { n: 100 },
    );
    await expect(costly.next(1, 5_000)).rejects.toThrow(/QUERY_TOO_COMPLEX/);
    const deep = subscribe(client, `{ viewer { ${'apiTokens { nodes { user { '.repeat(4)}id${' } } }'.repeat(4)} } }`);
    await expect(deep.next(1, 5_000)).rejects.toThrow(/QUERY_TOO_DEEP/);
    const fine = subscribe<{ viewer: { email: string } }>(client, VIEWER);
    expect((await fine.next(1))[0]?.viewer.email).toBe(ADMIN_EMAIL);
    expect(state).toBe('open');
    await client.dispose();
  });

  it('applies a role change to an open socket: it closes with 4401, and the next one acts with the new role', async () => {
    const admin = await server.createUser('ADMIN');
    const { client, closed } = socket({ authorization: `Bearer ${admin.token}` });
    const users = subscribe<{ users: { totalCount: number } }>(client, '{ users { totalCount } }');
    expect((await users.next(1))[0]?.users.totalCount).toBeGreaterThan(1);
    subscribe(client, SCAN_UPDATED);
    await server.graphql('mutation($id: ID!) { updateUser(input: { id: $id, role: VIEWER }) { user { role } } }', { id: admin.id });
    expect(await closed).toBe(4401);

    const again = socket({ authorization: `Bearer ${admin.token}` });
    const denied = subscribe(again.client, 'mutation { createScope(input: { cidr: "127.77.0.0/16" }) { scope { id } } }');
    await expect(denied.next(1, 5_000)).rejects.toThrow(/FORBIDDEN/);
    await again.client.dispose();
  });

  it('refuses an operation on a tokenless socket with UNAUTHENTICATED, and closes the socket after the grace period', async () => {
    const { client, closed } = socket();
    const denied = subscribe(client, SCAN_UPDATED);
    await expect(denied.next(1, 5_000)).rejects.toThrow(/UNAUTHENTICATED/);
    expect(await closed).toBe(4401);
  });

  it('runs an operation that carries its own token in extensions.headers, as GraphiQL sends it', async () => {
    const analyst = await server.createUser('ANALYST');
    const { client } = socket();
    const results: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: VIEWER, extensions: { headers: bearer(analyst.token) } },
        {
          next: (value) => results.push(value),
          error: reject,
          complete: resolve,
        },
      );
    });
    await done;
    expect(results).toEqual([{ data: { viewer: { id: analyst.id, email: analyst.email, role: 'ANALYST' } } }]);
    await client.dispose();
  });

  it('closes the socket with 4401 when its session is logged out', async () => {
    const analyst = await server.createUser('ANALYST');
    const { client, closed } = socket({ authorization: `Bearer ${analyst.token}` });
    const updates = subscribe<{ scanUpdated: { ports: string } }>(client, SCAN_UPDATED);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await server.graphql(CREATE, { ports: '7001' }, analyst.headers);
    expect((await updates.next(1))[0]?.scanUpdated.ports).toBe('7001');

    await server.graphql(LOGOUT, {}, analyst.headers);
    expect(await closed).toBe(4401);
  });

  it('closes the socket with 4403 when its user is deactivated', async () => {
    const analyst = await server.createUser('ANALYST');
    const { client, closed } = socket({ authorization: `Bearer ${analyst.token}` });
    subscribe(client, SCAN_UPDATED);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await server.graphql('mutation($id: ID!) { updateUser(input: { id: $id, active: false }) { user { id } } }', { id: analyst.id });
    expect(await closed).toBe(4403);
  });

  it('ends a subscription whose own API token is revoked, with UNAUTHENTICATED, and delivers nothing after', async () => {
    const analyst = await server.createUser('ANALYST');
    const { body } = await server.graphql<{ createApiToken: { secret: string; apiToken: { id: string } } }>(
      'mutation { createApiToken(input: { name: "watcher" }) { secret apiToken { id } } }',
      {},
      analyst.headers,
    );
    const { secret, apiToken } = body.data!.createApiToken;
    const { client } = socket();
    const events: unknown[] = [];
    const ended = new Promise<unknown[]>((resolve) => {
      client.subscribe(
        { query: SCAN_UPDATED, extensions: { headers: bearer(secret) } },
        {
          next: (value) => events.push(value),
          error: (error) => resolve([error]),
          complete: () => resolve([]),
        },
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await server.graphql(CREATE, { ports: '7002' }, analyst.headers);
    await expect.poll(() => events.length).toBe(1);

    await server.graphql(
      'mutation($id: ID!) { revokeApiToken(input: { id: $id }) { apiToken { revokedAt } } }',
      { id: apiToken.id },
      analyst.headers,
    );
    await ended;
    await server.graphql(CREATE, { ports: '7003' }, analyst.headers);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    await client.dispose();
  });
});

describe('an access token that expires while its socket is open', () => {
  let shortLived: ServerProcess;

  beforeAll(async () => {
    shortLived = await startServer({ env: { ACCESS_TOKEN_TTL_SECONDS: '5' } });
  });

  afterAll(async () => {
    expect(await shortLived.stop()).toBe(0);
  });

  it('closes the socket with 4401 when the token expires, so the client reconnects with a fresh one', async () => {
    const { accessToken, accessTokenExpiresAt } = (
      await shortLived.graphql<{ login: Login }>(LOGIN, { input: { email: ADMIN_EMAIL, password: TEST_PASSWORD } }, anonymous)
    ).body.data!.login;
    let closedAt = 0;
    const closed = new Promise<number>((resolve) => {
      const client = createClient({
        url: shortLived.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams: { authorization: `Bearer ${accessToken}` },
        on: {
          closed: (event) => {
            closedAt = Date.now();
            resolve((event as { code: number }).code);
          },
        },
        onNonLazyError: () => {},
      });
      subscribe(client, SCAN_UPDATED);
    });
    expect(await closed).toBe(4401);
    // Not before the token's own expiry, and soon after it.
    expect(closedAt).toBeGreaterThanOrEqual(new Date(accessTokenExpiresAt).getTime());
    expect(closedAt - new Date(accessTokenExpiresAt).getTime()).toBeLessThan(2_000);
  });
});

describe("changing one's password", () => {
  const CHANGE = 'mutation($input: ChangePasswordInput!) { changePassword(input: $input) { user { email } } }';

  it('needs the current password, ends the other sessions and keeps this one', async () => {
    const user = await server.createUser('VIEWER');
    const other = await login(user.email);

    const wrong = await server.graphql(
      CHANGE,
      { input: { currentPassword: 'not my password!!', newPassword: 'a brand new passphrase' } },
      user.headers,
    );
    expect(wrong.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'currentPassword' });
    const weak = await server.graphql(CHANGE, { input: { currentPassword: TEST_PASSWORD, newPassword: 'short' } }, user.headers);
    expect(weak.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'newPassword' });

    const { body } = await server.graphql(
      CHANGE,
      { input: { currentPassword: TEST_PASSWORD, newPassword: 'a brand new passphrase' } },
      user.headers,
    );
    expect(body).toEqual({ data: { changePassword: { user: { email: user.email } } } });
    expect(await viewerCode(user.token)).toBe('OK');
    expect(await viewerCode(other.accessToken)).toBe('UNAUTHENTICATED');
    const old = await server.graphql(LOGIN, { input: { email: user.email, password: TEST_PASSWORD } }, anonymous);
    expect(old.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await login(user.email, 'a brand new passphrase')).user.email).toBe(user.email);
  });
});

describe('subscriptions over HTTP (server-sent events)', () => {
  it('end with UNAUTHENTICATED as soon as the session is logged out', async () => {
    const analyst = await server.createUser('ANALYST');
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...analyst.headers },
      body: JSON.stringify({ query: SCAN_UPDATED }),
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const read = (async () => {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await server.graphql(CREATE, { ports: '7004' }, analyst.headers);
    await expect.poll(() => text).toContain('"ports":"7004"');

    await server.graphql(LOGOUT, {}, analyst.headers);
    await read;
    expect(text).toMatch(/"code":"UNAUTHENTICATED"/);
    expect(text.trimEnd()).toMatch(/event: complete/);
  });
});

describe('operations per socket', () => {
  it('stay at most 100, even when one ID is subscribed and completed over and over', async () => {
    const raw = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const messages: { id?: string; type: string; payload?: unknown }[] = [];
    raw.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${server.adminToken}` } }));
    await expect.poll(() => messages.some((message) => message.type === 'connection_ack')).toBe(true);

    for (let i = 0; i < 150; i++) {
      raw.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SCAN_UPDATED } }));
      raw.send(JSON.stringify({ id: '1', type: 'complete' }));
    }
    raw.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SCAN_UPDATED } }));
    await expect.poll(() => messages.filter((message) => message.type === 'error').length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(JSON.stringify(messages.find((message) => message.type === 'error'))).toContain('RATE_LIMITED');
    expect(messages.find((message) => message.type === 'error')?.payload).toEqual([
      { message: 'At most 100 operations at once on one socket.', extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 1 } },
    ]);

    await new Promise((resolve) => setTimeout(resolve, 500));
    await server.graphql(CREATE, { ports: '7005' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(messages.filter((message) => message.type === 'next').length).toBeLessThanOrEqual(100);
    raw.close();
  });

  it('count only operations still going: many that fail to start leave room for the next', async () => {
    const { client } = socket({ authorization: `Bearer ${server.adminToken}` });
    for (let i = 0; i < 120; i++) {
      // Valid, but names no operation of its document: it fails after it was accepted.
      await new Promise<void>((resolve) => {
        client.subscribe(
          { query: 'query Real { viewer { id } }', operationName: 'Missing' },
          { next: () => {}, error: () => resolve(), complete: () => resolve() },
        );
      });
    }
    const fine = subscribe<{ viewer: { email: string } }>(client, VIEWER);
    expect((await fine.next(1))[0]?.viewer.email).toBe(ADMIN_EMAIL);
    await client.dispose();
  });
});
