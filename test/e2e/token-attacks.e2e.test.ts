import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { decodeJwt, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type GraphQLResponse, type ServerProcess, startServer, subscribe, TEST_PASSWORD, type TestUser } from '../helpers/server.ts';

// The server signs with this key, so the tests can forge tokens that differ from a real one in one way only.
const JWT_SECRET = 'token-attacks-e2e-secret-with-at-least-32-chars';
const KEY = new TextEncoder().encode(JWT_SECRET);
// What a real token carries (the contract a forgery imitates), as a client sees it in a decoded token.
const ISSUER = 'scanops';
const AUDIENCE = 'scanops-api';
const MAX_FAILURES = 3;

const VIEWER = '{ viewer { id } }';
const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }';
const REFRESH = 'mutation($input: RefreshAccessTokenInput!) { refreshAccessToken(input: $input) { accessToken refreshToken } }';
const CREATE_API_TOKEN = 'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { id } } }';
const REVOKE_API_TOKEN = 'mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { apiToken { id revokedAt } } }';
const UPDATE_USER = 'mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id active } } }';

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer({ env: { JWT_SECRET, LOGIN_MAX_FAILURES_PER_EMAIL: String(MAX_FAILURES) } });
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

type Claims = { sub: string; sid: string; role: string };
type Forgery = { key?: Uint8Array; issuer?: string; audience?: string; issuedAt?: number; expiresAt?: number };

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The claims of a real access token: its user, role and session. */
function claimsOf(accessToken: string): Claims {
  const { sub, sid, role } = decodeJwt(accessToken) as JWTPayload & { sid: string; role: string };
  return { sub: sub!, sid, role };
}

/** A token built as the server builds one, except for what `forgery` changes. */
async function forge(
  claims: Claims,
  { key = KEY, issuer = ISSUER, audience = AUDIENCE, issuedAt = nowSeconds(), expiresAt = issuedAt + 600 }: Forgery = {},
): Promise<string> {
  return new SignJWT({ role: claims.role, sid: claims.sid })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(randomUUID())
    .sign(key);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function viewerWith(authorization: string): Promise<GraphQLResponse<{ viewer: { id: string } }>> {
  return server.graphql<{ viewer: { id: string } }>(VIEWER, undefined, { authorization });
}

/** `{ viewer { id } }` with this Authorization header is refused with `code`, and nothing else. */
async function expectRefused(authorization: string, code = 'UNAUTHENTICATED'): Promise<string> {
  const { body } = await viewerWith(authorization);
  expect(body.data ?? null).toBeNull();
  expect(body.errors?.map((error) => error.extensions?.code)).toEqual([code]);
  return body.errors![0]!.message;
}

async function expectAccepted(authorization: string, userId: string): Promise<void> {
  const { body } = await viewerWith(authorization);
  expect(body).toEqual({ data: { viewer: { id: userId } } });
}

/** A graphql-ws client that connects at once and stays connected, with `authorization` in `connectionParams`. */
function eagerClient(authorization: string) {
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    connectionParams: { authorization },
  });
  const closed = new Promise<number>((resolve) => client.on('closed', (event) => resolve((event as { code: number }).code)));
  return { client, closed };
}

/** The code the server closes a graphql-ws connection with, when `authorization` is in `connectionParams`. */
async function wsCloseCode(authorization: string): Promise<number> {
  const { client, closed } = eagerClient(authorization);
  try {
    const connected = new Promise<never>((_, reject) =>
      client.on('connected', () => reject(new Error(`the server accepted the connection with ${authorization.slice(0, 40)}…`))),
    );
    return await Promise.race([closed, connected]);
  } finally {
    await client.dispose();
  }
}

async function refresh(refreshToken: string) {
  return server.graphql<{ refreshAccessToken: { accessToken: string; refreshToken: string } }>(
    REFRESH,
    { input: { refreshToken } },
    { authorization: '' },
  );
}

async function login(email: string, password: string) {
  return server.graphql<{ login: { accessToken: string } }>(LOGIN, { input: { email, password } }, { authorization: '' });
}

async function createApiToken(user: TestUser): Promise<{ secret: string; id: string }> {
  const { body } = await server.graphql<{ createApiToken: { secret: string; apiToken: { id: string } } }>(
    CREATE_API_TOKEN,
    { input: { name: 'ci' } },
    user.headers,
  );
  expect(body.errors).toBeUndefined();
  return { secret: body.data!.createApiToken.secret, id: body.data!.createApiToken.apiToken.id };
}

describe('forged and tampered access tokens', () => {
  let user: TestUser;
  let claims: Claims;

  beforeAll(async () => {
    user = await server.createUser('ANALYST');
    claims = claimsOf(user.token);
  });

  // The control for every forgery below: each differs from this one in a single way.
  it('accepts a token forged with the right key and claims, so each refusal below has one cause', async () => {
    const token = await forge(claims);
    await expectAccepted(`Bearer ${token}`, user.id);
    const client = server.wsClient({ token });
    expect(await subscribe<{ viewer: { id: string } }>(client, VIEWER).next(1)).toEqual([{ viewer: { id: user.id } }]);
  });

  it('refuses a token with alg none and an empty signature', async () => {
    const now = nowSeconds();
    const payload = { ...claims, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600, jti: randomUUID() };
    const token = `${base64url({ alg: 'none' })}.${base64url(payload)}.`;
    await expectRefused(`Bearer ${token}`);
    expect(await wsCloseCode(`Bearer ${token}`)).toBe(4401);
  });

  it('refuses a token signed with another key', async () => {
    const token = await forge(claims, { key: new TextEncoder().encode('another-secret-of-at-least-32-characters') });
    expect(await expectRefused(`Bearer ${token}`)).toMatch(/invalid/i);
    expect(await wsCloseCode(`Bearer ${token}`)).toBe(4401);
  });

  it('refuses an expired token of a live session, saying it expired', async () => {
    const token = await forge(claims, { issuedAt: nowSeconds() - 1_000, expiresAt: nowSeconds() - 60 });
    expect(await expectRefused(`Bearer ${token}`)).toMatch(/expired/i);
    expect(await wsCloseCode(`Bearer ${token}`)).toBe(4401);
  });

  it('refuses a token for another issuer', async () => {
    const token = await forge(claims, { issuer: 'someone-else' });
    await expectRefused(`Bearer ${token}`);
    expect(await wsCloseCode(`Bearer ${token}`)).toBe(4401);
  });

  it('refuses a token for another audience', async () => {
    const token = await forge(claims, { audience: 'another-api' });
    await expectRefused(`Bearer ${token}`);
    expect(await wsCloseCode(`Bearer ${token}`)).toBe(4401);
  });

  it('refuses a well-signed token whose session does not exist', async () => {
    const token = await forge({ ...claims, sid: randomUUID() });
    await expectRefused(`Bearer ${token}`);
    expect(await wsCloseCode(`Bearer ${token}`)).toBe(4401);
  });

  it('refuses a well-signed token whose session is not a UUID, without an internal error', async () => {
    const token = await forge({ ...claims, sid: 'not-a-session' });
    await expectRefused(`Bearer ${token}`);
    expect(await wsCloseCode(`Bearer ${token}`)).toBe(4401);
  });

  it("refuses a well-signed token naming another user than its session's", async () => {
    const other = await server.createUser('VIEWER');
    const token = await forge({ ...claims, sub: claimsOf(other.token).sub });
    await expectRefused(`Bearer ${token}`);
    expect(await wsCloseCode(`Bearer ${token}`)).toBe(4401);
  });
});

describe('malformed Authorization headers', () => {
  const headers: [string, string][] = [
    ['another scheme', 'Basic x'],
    ['the scheme alone', 'Bearer'],
    ['two tokens', 'Bearer a b'],
    ['a 5000-character token', `Bearer ${'a'.repeat(5_000)}`],
  ];

  it.each(headers)('refuses %s', async (_, header) => {
    expect(await expectRefused(header)).toMatch(/malformed/i);
    expect(await wsCloseCode(header)).toBe(4401);
  });
});

describe('spent and revoked credentials', () => {
  it('revokes the whole session when a rotated refresh token is presented again', async () => {
    const user = await server.createUser('ANALYST');
    const first = await refresh(user.refreshToken);
    expect(first.body.errors).toBeUndefined();
    const { accessToken, refreshToken } = first.body.data!.refreshAccessToken;
    await expectAccepted(`Bearer ${accessToken}`, user.id);

    const reuse = await refresh(user.refreshToken);
    expect(reuse.body.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);

    // Someone kept a copy of the spent token: the rightful holder's newer tokens die with the session.
    const next = await refresh(refreshToken);
    expect(next.body.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    await expectRefused(`Bearer ${accessToken}`);
    await expectRefused(`Bearer ${user.token}`);
    expect(await wsCloseCode(`Bearer ${accessToken}`)).toBe(4401);
  });

  it('refuses an API token once it is revoked', async () => {
    const user = await server.createUser('ANALYST');
    const token = await createApiToken(user);
    await expectAccepted(`Bearer ${token.secret}`, user.id);

    const { body } = await server.graphql(REVOKE_API_TOKEN, { input: { id: token.id } }, user.headers);
    expect(body.errors).toBeUndefined();

    await expectRefused(`Bearer ${token.secret}`);
    expect(await wsCloseCode(`Bearer ${token.secret}`)).toBe(4401);
  });

  it('refuses to let an API token mint another, which would outlive its revocation', async () => {
    const user = await server.createUser('ANALYST');
    const token = await createApiToken(user);
    const { body } = await server.graphql(CREATE_API_TOKEN, { input: { name: 'offspring' } }, { authorization: `Bearer ${token.secret}` });
    expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('refuses to let an admin API token create or change users, which would outlive its revocation too', async () => {
    const admin = await server.createUser('ADMIN');
    const token = await createApiToken(admin);
    const headers = { authorization: `Bearer ${token.secret}` };
    const created = await server.graphql(
      'mutation { createUser(input: { email: "minted@scanops.test", role: ADMIN, password: "correct horse battery staple" }) { user { id } } }',
      {},
      headers,
    );
    expect(created.body.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
    const updated = await server.graphql(UPDATE_USER, { input: { id: admin.id, name: 'renamed' } }, headers);
    expect(updated.body.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
    // Reading stays open to it.
    expect((await server.graphql('{ users { totalCount } }', {}, headers)).body.errors).toBeUndefined();
  });
});

describe('a deactivated user', () => {
  let user: TestUser;
  let apiToken: string;
  /** A connection opened (and used) before the deactivation. */
  let connection: ReturnType<typeof eagerClient>;

  beforeAll(async () => {
    user = await server.createUser('ANALYST');
    apiToken = (await createApiToken(user)).secret;
    await expectAccepted(`Bearer ${user.token}`, user.id);
    await expectAccepted(`Bearer ${apiToken}`, user.id);
    connection = eagerClient(`Bearer ${user.token}`);
    expect(await subscribe<{ viewer: { id: string } }>(connection.client, VIEWER).next(1)).toEqual([{ viewer: { id: user.id } }]);

    const { body } = await server.graphql(UPDATE_USER, { input: { id: user.id, active: false } });
    expect(body).toEqual({ data: { updateUser: { user: { id: user.id, active: false } } } });
  });

  afterAll(() => connection?.client.dispose());

  it('is FORBIDDEN with their access token, told the account is deactivated', async () => {
    expect(await expectRefused(`Bearer ${user.token}`, 'FORBIDDEN')).toMatch(/deactivated/i);
  });

  it('is FORBIDDEN with their API token, told the account is deactivated', async () => {
    expect(await expectRefused(`Bearer ${apiToken}`, 'FORBIDDEN')).toMatch(/deactivated/i);
  });

  it('gets a new graphql-ws connection closed with 4403, with either token', async () => {
    expect(await wsCloseCode(`Bearer ${user.token}`)).toBe(4403);
    expect(await wsCloseCode(`Bearer ${apiToken}`)).toBe(4403);
  });

  it('loses the graphql-ws connection it already had, closed with 4403', async () => {
    expect(await connection.closed).toBe(4403);
  });
});

describe('failed logins', () => {
  it('answers a wrong password and an unknown email with the same error', async () => {
    const user = await server.createUser('VIEWER');
    const wrongPassword = await login(user.email, 'not the password at all');
    const unknownEmail = await login(`nobody-${randomUUID()}@scanops.test`, 'not the password at all');
    expect(wrongPassword.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(unknownEmail.status).toBe(wrongPassword.status);
    expect(unknownEmail.body).toEqual(wrongPassword.body);
  });

  it(`refuses even the right password after ${MAX_FAILURES} wrong ones, saying when to retry`, async () => {
    const user = await server.createUser('VIEWER');
    for (let i = 0; i < MAX_FAILURES; i++) {
      const { body } = await login(user.email, `wrong password ${i}`);
      expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    }
    const { body } = await login(user.email, TEST_PASSWORD);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['RATE_LIMITED']);
    expect(body.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    expect(body.errors![0]!.extensions!.retryAfterSeconds).toBeLessThanOrEqual(900);
    // The limit is per email: another account, from the same address, still logs in.
    const other = await server.createUser('VIEWER');
    expect((await login(other.email, TEST_PASSWORD)).body.errors).toBeUndefined();
  });
});
