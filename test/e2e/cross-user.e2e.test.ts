import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstOutcome, type GraphQLResponse, type ServerProcess, startServer, subscribe, type TestUser } from '../helpers/server.ts';

/**
 * Another user's objects must be indistinguishable from objects that do not
 * exist: the same data, the same error code and message. Anything else (a
 * FORBIDDEN instead of a NOT_FOUND, a different message) tells a prober which
 * IDs are real. Each case sends the same operation twice, once with the
 * other user's object and once with a random ID of the same type, and
 * compares the two responses whole.
 */

let server: ServerProcess;
/** Two ANALYSTs: A owns the objects, B tries to reach them. */
let a: TestUser;
let b: TestUser;
let viewer: TestUser;
let admin: TestUser;
let aScan: string;
let aToken: { id: string; secret: string };

/** A well-formed global ID that names no object: what "does not exist" looks like. */
const unknownId = (type: 'Scan' | 'User' | 'ApiToken') => Buffer.from(`${type}:${randomUUID()}`).toString('base64url');

async function ask(user: TestUser, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse['body']> {
  return (await server.graphql(query, variables, user.headers)).body;
}

/** For fixtures: the root field's value, or a thrown error. */
async function as<T>(user: TestUser, query: string, variables?: Record<string, unknown>): Promise<T> {
  const body = await ask(user, query, variables);
  if (!body.data || body.errors) throw new Error(`fixture failed: ${JSON.stringify(body.errors)}`);
  return Object.values(body.data)[0] as T;
}

const codesOf = (body: GraphQLResponse['body']) => body.errors?.map((error) => error.extensions?.code);

/** The answers for the other user's ID and for an unknown one, asserted equal; returns the first. */
async function sameAsUnknown(
  user: TestUser,
  query: string,
  variables: (id: string) => Record<string, unknown>,
  theirs: string,
  unknown: string,
) {
  const [onTheirs, onUnknown] = await Promise.all([ask(user, query, variables(theirs)), ask(user, query, variables(unknown))]);
  expect(onTheirs).toEqual(onUnknown);
  return onTheirs;
}

const createScan = async (owner: TestUser, ports = '1') =>
  (
    await as<{ scan: { id: string } }>(owner, 'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id } } }', {
      input: { targets: ['127.0.0.1'], ports },
    })
  ).scan.id;

async function until(condition: () => boolean, what: string, poke?: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await poke?.();
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

beforeAll(async () => {
  // No worker: nothing here needs a scan to run, and a started one stays QUEUED.
  server = await startServer({ env: { RUN_WORKER: 'false' } });
  [a, b, viewer, admin] = await Promise.all([
    server.createUser('ANALYST'),
    server.createUser('ANALYST'),
    server.createUser('VIEWER'),
    server.createUser('ADMIN'),
  ]);
  aScan = await createScan(a);
  const created = await as<{ secret: string; apiToken: { id: string } }>(
    a,
    'mutation { createApiToken(input: { name: "A\'s CI" }) { secret apiToken { id } } }',
  );
  aToken = { id: created.apiToken.id, secret: created.secret };
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

describe("another ANALYST's scan", () => {
  it('is null from scan(id) and node(id), without an error, as an unknown scan is', async () => {
    for (const query of ['query($id: ID!) { scan(id: $id) { id status } }', 'query($id: ID!) { node(id: $id) { id } }']) {
      const body = await sameAsUnknown(b, query, (id) => ({ id }), aScan, unknownId('Scan'));
      expect(body).toEqual({ data: { [query.includes('scan(') ? 'scan' : 'node']: null } });
      // The scan is real: its owner and a VIEWER read it with the same query.
      for (const reader of [a, viewer])
        expect(Object.values((await ask(reader, query, { id: aScan })).data!)[0]).toMatchObject({ id: aScan });
    }
  });

  it("never appears in the other's scans list, which is the same before and after it is created", async () => {
    const LIST = '{ scans(first: 100) { totalCount nodes { id } pageInfo { hasNextPage } } }';
    await createScan(b);
    const before = await ask(b, LIST);
    const another = await createScan(a);
    expect(await ask(b, LIST)).toEqual(before);
    const ids = (before.data as { scans: { nodes: { id: string }[] } }).scans.nodes.map((node) => node.id);
    expect(ids).not.toContain(aScan);
    expect(ids).not.toContain(another);
  });

  it('refuses startScan, cancelScan and deleteScan with the NOT_FOUND of an unknown scan, and stays untouched', async () => {
    for (const name of ['startScan', 'cancelScan', 'deleteScan']) {
      const selection = name === 'deleteScan' ? '{ deletedScanId }' : '{ scan { id status } }';
      const query = `mutation($id: ID!) { ${name}(input: { id: $id }) ${selection} }`;
      const body = await sameAsUnknown(b, query, (id) => ({ id }), aScan, unknownId('Scan'));
      expect(codesOf(body), name).toEqual(['NOT_FOUND']);
    }
    expect(await as<{ status: string }>(a, 'query($id: ID!) { scan(id: $id) { status } }', { id: aScan })).toEqual({ status: 'PENDING' });
  });

  it('refuses scanProgress and scanEvents with the NOT_FOUND of an unknown scan', async () => {
    const client = server.wsClient({ token: b.token });
    for (const query of [
      'subscription($id: ID!) { scanProgress(scanId: $id) { percent } }',
      'subscription($id: ID!) { scanEvents(scanId: $id) { scanId } }',
    ]) {
      const onTheirs = await firstOutcome(client, query, { id: aScan });
      const onUnknown = await firstOutcome(client, query, { id: unknownId('Scan') });
      expect(onTheirs).toEqual(onUnknown);
      expect(
        onTheirs.errors.map((error) => error.code),
        query,
      ).toEqual(['NOT_FOUND']);
      // Its owner is not refused, so the refusal above is about who asks.
      expect((await firstOutcome(server.wsClient({ token: a.token }), query, { id: aScan })).errors).toEqual([]);
    }
  });

  it('never reaches the other through scanUpdated, while a VIEWER gets it', async () => {
    const QUERY = 'subscription { scanUpdated { id } }';
    const ofB = subscribe<{ scanUpdated: { id: string } }>(server.wsClient({ token: b.token }), QUERY);
    const ofViewer = subscribe<{ scanUpdated: { id: string } }>(server.wsClient({ token: viewer.token }), QUERY);
    const seen = (feed: typeof ofB) => feed.results.map((result) => result.scanUpdated.id);
    // A subscribe message has no acknowledgement: B creates scans until both feeds show one, so both are live.
    const warmUp: string[] = [];
    await until(
      () => warmUp.some((id) => seen(ofB).includes(id) && seen(ofViewer).includes(id)),
      'both feeds to go live',
      async () => warmUp.push(await createScan(b)),
    );

    const theirs = await createScan(a, '1-3');
    await as(a, 'mutation($id: ID!) { startScan(input: { id: $id }) { scan { id } } }', { id: theirs });
    await as(a, 'mutation($id: ID!) { cancelScan(input: { id: $id }) { scan { id } } }', { id: theirs });
    // Each feed delivers in order, so once B's next scan is through, A's three updates have been passed over.
    const fence = await createScan(b);
    await until(() => seen(ofB).includes(fence) && seen(ofViewer).includes(fence), 'the fence scan');

    expect(ofB.errors).toEqual([]);
    expect(seen(ofB)).not.toContain(theirs);
    expect(seen(ofViewer)).toContain(theirs);
    ofB.dispose();
    ofViewer.dispose();
  });
});

describe("a scan's owner", () => {
  it('shows to the owner and to ADMIN, and as null to a VIEWER, who may read the scan but not see its owner', async () => {
    const query = 'query($id: ID!) { scan(id: $id) { owner { id email } } }';
    const owner = { id: a.id, email: a.email };
    expect(await ask(a, query, { id: aScan })).toEqual({ data: { scan: { owner } } });
    expect(await ask(admin, query, { id: aScan })).toEqual({ data: { scan: { owner } } });
    expect(await ask(viewer, query, { id: aScan })).toEqual({ data: { scan: { owner: null } } });
  });
});

describe('another user', () => {
  it('is null from node(id), for an ANALYST and a VIEWER, as an unknown user is', async () => {
    for (const other of [b, viewer]) {
      const body = await sameAsUnknown(
        other,
        'query($id: ID!) { node(id: $id) { id ... on User { email } } }',
        (id) => ({ id }),
        a.id,
        unknownId('User'),
      );
      expect(body).toEqual({ data: { node: null } });
    }
  });

  it('is missing from users, which lists only the caller, whatever the filter', async () => {
    // A is an ANALYST and active: each filter below would match A, were A visible.
    const cases: [TestUser, Record<string, unknown> | null, TestUser[]][] = [
      [b, null, [b]],
      [b, { role: ['ANALYST'] }, [b]],
      [b, { active: true }, [b]],
      [viewer, null, [viewer]],
      [viewer, { role: ['ANALYST'] }, []],
      [viewer, { active: true }, [viewer]],
    ];
    for (const [other, filter, expected] of cases) {
      const users = await as(other, 'query($filter: UserFilter) { users(filter: $filter) { totalCount nodes { id } } }', { filter });
      expect(users, JSON.stringify(filter)).toEqual({ totalCount: expected.length, nodes: expected.map((user) => ({ id: user.id })) });
    }
  });

  it('cannot be changed by updateUser: the refusal is the same as for an unknown user', async () => {
    for (const other of [b, viewer]) {
      const body = await sameAsUnknown(
        other,
        'mutation($id: ID!) { updateUser(input: { id: $id, name: "taken over" }) { user { id } } }',
        (id) => ({ id }),
        a.id,
        unknownId('User'),
      );
      expect(codesOf(body)).toEqual(['FORBIDDEN']);
    }
    expect(await as<{ name: string }>(a, '{ viewer { name } }')).not.toEqual({ name: 'taken over' });
  });

  it('shows as createdBy null on a scope, as a user who is gone does', async () => {
    await as(admin, 'mutation { createScope(input: { cidr: "127.42.0.0/16" }) { scope { id } } }');
    const QUERY = '{ scopes { nodes { cidr createdBy { id } } } }';
    const scopeOf = async (user: TestUser) =>
      (await as<{ nodes: { cidr: string; createdBy: { id: string } | null }[] }>(user, QUERY)).nodes.find(
        (scope) => scope.cidr === '127.42.0.0/16',
      );
    expect(await scopeOf(admin)).toEqual({ cidr: '127.42.0.0/16', createdBy: { id: admin.id } });
    for (const other of [b, viewer]) expect(await scopeOf(other)).toEqual({ cidr: '127.42.0.0/16', createdBy: null });
  });
});

describe("another user's API token", () => {
  it('is null from node(id), as an unknown token is', async () => {
    for (const other of [b, viewer]) {
      const body = await sameAsUnknown(
        other,
        'query($id: ID!) { node(id: $id) { id ... on ApiToken { name } } }',
        (id) => ({ id }),
        aToken.id,
        unknownId('ApiToken'),
      );
      expect(body).toEqual({ data: { node: null } });
    }
    expect(await as(admin, 'query($id: ID!) { node(id: $id) { id } }', { id: aToken.id })).toEqual({ id: aToken.id });
  });

  it('is missing from apiTokens, named by its owner or not', async () => {
    const QUERY = 'query($userId: ID) { apiTokens(userId: $userId) { totalCount nodes { id } } }';
    for (const other of [b, viewer]) {
      const body = await sameAsUnknown(other, QUERY, (userId) => ({ userId }), a.id, unknownId('User'));
      expect(body).toEqual({ data: { apiTokens: { totalCount: 0, nodes: [] } } });
      const own = await as<{ nodes: { id: string }[] }>(other, QUERY, { userId: null });
      expect(own.nodes.map((node) => node.id)).not.toContain(aToken.id);
    }
  });

  it('cannot be revoked: the refusal is the NOT_FOUND of an unknown token, and the token keeps working', async () => {
    for (const other of [b, viewer]) {
      const body = await sameAsUnknown(
        other,
        'mutation($id: ID!) { revokeApiToken(input: { id: $id }) { apiToken { id revokedAt } } }',
        (id) => ({ id }),
        aToken.id,
        unknownId('ApiToken'),
      );
      expect(codesOf(body)).toEqual(['NOT_FOUND']);
    }
    const { body } = await server.graphql('{ viewer { id } }', undefined, { authorization: `Bearer ${aToken.secret}` });
    expect(body).toEqual({ data: { viewer: { id: a.id } } });
  });
});
