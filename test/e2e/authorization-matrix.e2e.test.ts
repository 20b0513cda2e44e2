import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTypeDefs } from '../../src/graphql/schema.ts';
import { SAMPLES, UPLOAD, uploaded } from '../helpers/evidence.ts';
import { upload } from '../helpers/multipart.ts';
import { firstOutcome, type Outcome, type ServerProcess, startServer, type TestUser } from '../helpers/server.ts';

/**
 * Every root field of the schema × every kind of caller. The list of fields
 * comes from the SDL itself, so a field added to the contract without a row
 * here fails the suite instead of shipping with whatever access it happens to get.
 */

const ROLES = ['VIEWER', 'ANALYST', 'ADMIN'] as const;
type Role = (typeof ROLES)[number];
const CALLERS = ['anonymous', ...ROLES] as const;
type Caller = (typeof CALLERS)[number];

type Expected = 'allowed' | 'UNAUTHENTICATED' | 'FORBIDDEN';

/** What one caller may do with a field: the whole row of the matrix. */
type Access = Record<Caller, Expected>;
const OPEN: Access = { anonymous: 'allowed', VIEWER: 'allowed', ANALYST: 'allowed', ADMIN: 'allowed' };
const SIGNED_IN: Access = { anonymous: 'UNAUTHENTICATED', VIEWER: 'allowed', ANALYST: 'allowed', ADMIN: 'allowed' };
const SCAN_WRITERS: Access = { anonymous: 'UNAUTHENTICATED', VIEWER: 'FORBIDDEN', ANALYST: 'allowed', ADMIN: 'allowed' };
const ADMIN_ONLY: Access = { anonymous: 'UNAUTHENTICATED', VIEWER: 'FORBIDDEN', ANALYST: 'FORBIDDEN', ADMIN: 'allowed' };

/**
 * `setup` runs once per caller before any test, for what the operation uses
 * up (a scan to delete, a refresh token to spend), so every case acts on an
 * object of its own and the order of the cases does not matter.
 */
type Row<T = unknown> = { access: Access; setup?: (caller: Caller) => Promise<T>; run: (caller: Caller, prepared: T) => Promise<Outcome> };
const row = <T>(spec: Row<T>): Row => spec as Row;

let server: ServerProcess;
const users = {} as Record<Role, TestUser>;
/** A user nobody acts as: what `updateUser` is tried on. */
let bystander: TestUser;
/** Owned by the ANALYST, so every signed-in role may read it. */
let analystScan: string;
let analystPcap: string;
let analystCapture: string;

const SCAN = '{ scan { id status } }';
const mutation = (name: string, inputType: string, selection: string) =>
  `mutation($input: ${inputType}!) { ${name}(input: $input) ${selection} }`;

const headersOf = (caller: Caller): Record<string, string> => (caller === 'anonymous' ? { authorization: '' } : users[caller].headers);
/** Whose objects a caller acts on: their own; anonymous tries the VIEWER's. */
const userOf = (caller: Caller): TestUser => users[caller === 'anonymous' ? 'VIEWER' : caller];

async function http(caller: Caller, query: string, variables?: Record<string, unknown>): Promise<Outcome> {
  const { body } = await server.graphql(query, variables, headersOf(caller));
  return {
    data: body.data ? Object.values(body.data)[0] : null,
    errors: (body.errors ?? []).map((error) => ({ message: error.message, code: error.extensions?.code })),
  };
}

/** `uploadEvidence` as a client sends it: multipart, with the CSRF header. */
async function uploadAs(caller: Caller, scanId: string): Promise<Outcome> {
  const { body } = await upload(server.url, {
    query: UPLOAD,
    variables: { input: { scanId, file: null } },
    file: { filename: 'matrix.png', contentType: 'image/png', content: SAMPLES.png },
    headers: { ...headersOf(caller), 'x-graphql-yoga-csrf': '1' },
  });
  return {
    data: body?.data ? Object.values(body.data)[0] : null,
    errors: (body?.errors ?? []).map((error) => ({ message: error.message, code: error.extensions?.code })),
  };
}

/** As `user`, for fixtures: the root field's value; throws on any error. */
async function as<T>(user: TestUser, query: string, variables?: Record<string, unknown>): Promise<T> {
  const { body } = await server.graphql(query, variables, user.headers);
  if (!body.data || body.errors) throw new Error(`fixture failed: ${JSON.stringify(body.errors)}`);
  return Object.values(body.data)[0] as T;
}

const CAPTURE = '{ capture { id status } }';
/** A replay of the ANALYST's pcap, by `owner`: with no worker, it stays QUEUED. */
const startReplay = async (owner: TestUser) =>
  (
    await as<{ capture: { id: string } }>(owner, mutation('startCapture', 'StartCaptureInput', CAPTURE), {
      input: { evidenceId: analystPcap },
    })
  ).capture.id;

const createScan = async (owner: TestUser, ports = '1') =>
  (await as<{ scan: { id: string } }>(owner, mutation('createScan', 'CreateScanInput', SCAN), { input: { targets: ['127.0.0.1'], ports } }))
    .scan.id;

async function subscription(
  caller: Caller,
  query: string,
  variables?: Record<string, unknown>,
  poke?: () => Promise<unknown>,
): Promise<Outcome> {
  const client = server.wsClient({ token: caller === 'anonymous' ? null : users[caller].token });
  try {
    return await firstOutcome(client, query, variables, poke);
  } finally {
    await client.dispose();
  }
}

let scopes = 0;
/** A loopback network no other case uses: scopes are unique. */
const freshCidr = () => `127.${100 + ++scopes}.0.0/16`;
let emails = 0;

const MATRIX: Record<string, Row> = {
  'Query.node': row({ access: SIGNED_IN, run: (caller) => http(caller, 'query($id: ID!) { node(id: $id) { id } }', { id: analystScan }) }),
  'Query.scan': row({ access: SIGNED_IN, run: (caller) => http(caller, 'query($id: ID!) { scan(id: $id) { id } }', { id: analystScan }) }),
  'Query.scans': row({ access: SIGNED_IN, run: (caller) => http(caller, '{ scans { totalCount } }') }),
  'Query.scopes': row({ access: SIGNED_IN, run: (caller) => http(caller, '{ scopes { totalCount } }') }),
  'Query.allowedTargets': row({ access: SIGNED_IN, run: (caller) => http(caller, '{ allowedTargets }') }),
  'Query.auditEvents': row({ access: ADMIN_ONLY, run: (caller) => http(caller, '{ auditEvents(first: 1) { totalCount } }') }),
  'Query.viewer': row({ access: SIGNED_IN, run: (caller) => http(caller, '{ viewer { id } }') }),
  'Query.users': row({ access: SIGNED_IN, run: (caller) => http(caller, '{ users { totalCount } }') }),
  'Query.apiTokens': row({ access: SIGNED_IN, run: (caller) => http(caller, '{ apiTokens { totalCount } }') }),

  'Mutation.createScan': row({
    access: SCAN_WRITERS,
    run: (caller) => http(caller, mutation('createScan', 'CreateScanInput', SCAN), { input: { targets: ['127.0.0.1'], ports: '1' } }),
  }),
  'Mutation.startScan': row({
    access: SCAN_WRITERS,
    // A VIEWER sees every scan, so refusing it is FORBIDDEN, not NOT_FOUND.
    setup: () => createScan(users.ANALYST, '1-3'),
    run: (caller, id: string) => http(caller, mutation('startScan', 'StartScanInput', SCAN), { input: { id } }),
  }),
  'Mutation.cancelScan': row({
    access: SCAN_WRITERS,
    setup: () => createScan(users.ANALYST),
    run: (caller, id: string) => http(caller, mutation('cancelScan', 'CancelScanInput', SCAN), { input: { id } }),
  }),
  'Mutation.deleteScan': row({
    access: SCAN_WRITERS,
    setup: () => createScan(users.ANALYST),
    run: (caller, id: string) => http(caller, mutation('deleteScan', 'DeleteScanInput', '{ deletedScanId }'), { input: { id } }),
  }),
  'Mutation.createScope': row({
    access: ADMIN_ONLY,
    run: (caller) => http(caller, mutation('createScope', 'CreateScopeInput', '{ scope { id } }'), { input: { cidr: freshCidr() } }),
  }),
  'Mutation.deleteScope': row({
    access: ADMIN_ONLY,
    setup: async () =>
      (
        await as<{ scope: { id: string } }>(users.ADMIN, mutation('createScope', 'CreateScopeInput', '{ scope { id } }'), {
          input: { cidr: freshCidr() },
        })
      ).scope.id,
    run: (caller, id: string) => http(caller, mutation('deleteScope', 'DeleteScopeInput', '{ deletedScopeId }'), { input: { id } }),
  }),
  'Mutation.login': row({
    access: OPEN,
    run: (caller) =>
      http(caller, mutation('login', 'LoginInput', '{ accessToken }'), {
        input: { email: userOf(caller).email, password: 'correct horse battery staple' },
      }),
  }),
  'Mutation.refreshAccessToken': row({
    access: OPEN,
    setup: async (caller) => (await server.login(userOf(caller).email)).refreshToken,
    run: (caller, refreshToken: string) =>
      http(caller, mutation('refreshAccessToken', 'RefreshAccessTokenInput', '{ accessToken }'), { input: { refreshToken } }),
  }),
  'Mutation.logout': row({
    // The refresh token is a credential of its own, as for refreshAccessToken: a client whose access token
    // expired can still end its session. Without either, logout is refused (see below).
    access: OPEN,
    // A second session of the caller's, so that ending it leaves the token the other cases use working.
    setup: async (caller) => (await server.login(userOf(caller).email)).refreshToken,
    run: (caller, refreshToken: string) =>
      http(caller, 'mutation($input: LogoutInput) { logout(input: $input) { loggedOut } }', { input: { refreshToken } }),
  }),
  'Mutation.changePassword': row({
    access: SIGNED_IN,
    // A user of the caller's role made for this case: a new password ends the user's other sessions, which other cases use.
    setup: (caller) => (caller === 'anonymous' ? Promise.resolve(null) : server.createUser(caller)),
    run: async (_caller, own: TestUser | null) => {
      const { body } = await server.graphql(
        mutation('changePassword', 'ChangePasswordInput', '{ user { id } }'),
        {
          input: { currentPassword: 'correct horse battery staple', newPassword: 'another horse, another staple' },
        },
        own?.headers ?? { authorization: '' },
      );
      return {
        data: body.data ? Object.values(body.data)[0] : null,
        errors: (body.errors ?? []).map((error) => ({ message: error.message, code: error.extensions?.code })),
      };
    },
  }),
  'Mutation.createApiToken': row({
    access: SIGNED_IN,
    run: (caller) =>
      http(caller, mutation('createApiToken', 'CreateApiTokenInput', '{ apiToken { id } }'), { input: { name: `matrix ${caller}` } }),
  }),
  'Mutation.revokeApiToken': row({
    access: SIGNED_IN,
    setup: async (caller) =>
      (
        await as<{ apiToken: { id: string } }>(userOf(caller), mutation('createApiToken', 'CreateApiTokenInput', '{ apiToken { id } }'), {
          input: { name: 'to revoke' },
        })
      ).apiToken.id,
    run: (caller, id: string) =>
      http(caller, mutation('revokeApiToken', 'RevokeApiTokenInput', '{ apiToken { id revokedAt } }'), { input: { id } }),
  }),
  'Mutation.createUser': row({
    access: ADMIN_ONLY,
    run: (caller) =>
      http(caller, mutation('createUser', 'CreateUserInput', '{ user { id } }'), {
        input: { email: `matrix-${process.pid}-${++emails}@scanops.test`, role: 'VIEWER', password: 'correct horse battery staple' },
      }),
  }),
  'Mutation.updateUser': row({
    access: ADMIN_ONLY,
    run: (caller) =>
      http(caller, mutation('updateUser', 'UpdateUserInput', '{ user { id } }'), {
        input: { id: bystander.id, name: `renamed by ${caller}` },
      }),
  }),

  'Mutation.uploadEvidence': row({
    // On the ANALYST's scan: the VIEWER sees it, so refusing it is FORBIDDEN, not NOT_FOUND.
    access: SCAN_WRITERS,
    run: (caller) => uploadAs(caller, analystScan),
  }),
  'Mutation.deleteEvidence': row({
    access: SCAN_WRITERS,
    setup: async () => {
      const { data } = await uploadAs('ANALYST', analystScan);
      return (data as { evidence: { id: string } }).evidence.id;
    },
    run: (caller, id: string) =>
      http(caller, mutation('deleteEvidence', 'DeleteEvidenceInput', '{ deletedEvidenceId }'), { input: { id } }),
  }),

  'Query.captureSensors': row({ access: SIGNED_IN, run: (caller) => http(caller, '{ captureSensors { name online } }') }),
  'Query.captures': row({ access: SIGNED_IN, run: (caller) => http(caller, '{ captures { totalCount } }') }),
  'Query.capture': row({
    access: SIGNED_IN,
    run: (caller) => http(caller, 'query($id: ID!) { capture(id: $id) { id status } }', { id: analystCapture }),
  }),
  'Mutation.startCapture': row({
    // A replay of the ANALYST's pcap: the VIEWER sees it, so refusing it is FORBIDDEN, not NOT_FOUND.
    access: SCAN_WRITERS,
    run: (caller) => http(caller, mutation('startCapture', 'StartCaptureInput', CAPTURE), { input: { evidenceId: analystPcap } }),
  }),
  'Mutation.stopCapture': row({
    access: SCAN_WRITERS,
    setup: () => startReplay(users.ANALYST),
    run: (caller, id: string) => http(caller, mutation('stopCapture', 'StopCaptureInput', CAPTURE), { input: { id } }),
  }),

  'Subscription.scanUpdated': row({
    access: SIGNED_IN,
    // The feed is silent until a scan changes; the ANALYST's new scans are ones every role may see.
    run: (caller) => subscription(caller, 'subscription { scanUpdated { id } }', undefined, () => createScan(users.ANALYST)),
  }),
  'Subscription.scanProgress': row({
    access: SIGNED_IN,
    run: (caller) => subscription(caller, 'subscription($id: ID!) { scanProgress(scanId: $id) { percent } }', { id: analystScan }),
  }),
  'Subscription.scanEvents': row({
    access: SIGNED_IN,
    run: (caller) => subscription(caller, 'subscription($id: ID!) { scanEvents(scanId: $id) { scanId } }', { id: analystScan }),
  }),
  'Subscription.captureUpdated': row({
    access: SIGNED_IN,
    // Silent until a capture changes; the ANALYST's new replays are ones every role may see.
    run: (caller) => subscription(caller, 'subscription { captureUpdated { id status } }', undefined, () => startReplay(users.ANALYST)),
  }),
  'Subscription.trafficEvents': row({
    access: SIGNED_IN,
    run: (caller) =>
      subscription(caller, 'subscription($id: ID!) { trafficEvents(captureId: $id) { captureId dropped } }', { id: analystCapture }),
  }),
  'Subscription.trafficStats': row({
    access: SIGNED_IN,
    run: (caller) => subscription(caller, 'subscription($id: ID!) { trafficStats(captureId: $id) { packets } }', { id: analystCapture }),
  }),
};

const schema = buildSchema(loadTypeDefs().join('\n'));
const ROOT_FIELDS = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
  type ? Object.keys(type.getFields()).map((field) => `${type.name}.${field}`) : [],
);

const prepared = new Map<string, unknown>();

beforeAll(async () => {
  // No worker: the matrix is about who may act, and a started scan stays QUEUED instead of probing.
  server = await startServer({ env: { RUN_WORKER: 'false' } });
  [users.VIEWER, users.ANALYST, users.ADMIN, bystander] = await Promise.all([
    server.createUser('VIEWER'),
    server.createUser('ANALYST'),
    server.createUser('ADMIN'),
    server.createUser('VIEWER'),
  ]);
  analystScan = await createScan(users.ANALYST);
  analystPcap = (
    await uploaded(
      server,
      analystScan,
      { filename: 'matrix.pcap', contentType: 'application/vnd.tcpdump.pcap', content: SAMPLES.pcapMicroLittle },
      users.ANALYST,
    )
  ).id;
  analystCapture = await startReplay(users.ANALYST);
  await Promise.all(
    Object.entries(MATRIX).flatMap(([field, { setup }]) =>
      setup ? CALLERS.map(async (caller) => prepared.set(`${field} ${caller}`, await setup(caller))) : [],
    ),
  );
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

describe('the authorization matrix', () => {
  it('has a row for every root field of the schema, and none for a field it lacks', () => {
    const rows = Object.keys(MATRIX);
    expect(
      ROOT_FIELDS.filter((field) => !rows.includes(field)),
      'root fields without a row',
    ).toEqual([]);
    expect(
      rows.filter((field) => !ROOT_FIELDS.includes(field)),
      'rows for fields the schema lacks',
    ).toEqual([]);
  });

  describe.each(ROOT_FIELDS.filter((field) => field in MATRIX))('%s', (field) => {
    const { access, run } = MATRIX[field]!;
    const cases = CALLERS.map((caller) => {
      const expected = access[caller];
      return { caller, expected, verdict: expected === 'allowed' ? `lets ${caller} in` : `refuses ${caller} with ${expected}` };
    });
    it.each(cases)('$verdict', async ({ caller, expected }) => {
      const outcome = await run(caller, prepared.get(`${field} ${caller}`));
      if (expected === 'allowed') {
        expect(outcome.errors).toEqual([]);
        expect(outcome.data).not.toBeNull();
      } else {
        expect(outcome.errors.map((error) => error.code)).toEqual([expected]);
        expect(outcome.data).toBeNull();
      }
    });
  });
});

/** What the ID-taking fields act on, and how to send them any ID. */
const BY_ID: Record<string, { type: string; run: (caller: Caller, id: string) => Promise<Outcome> }> = {
  'Query.node': { type: 'Scan', run: (caller, id) => http(caller, 'query($id: ID!) { node(id: $id) { id } }', { id }) },
  'Query.scan': { type: 'Scan', run: (caller, id) => http(caller, 'query($id: ID!) { scan(id: $id) { id } }', { id }) },
  'Query.apiTokens': {
    type: 'User',
    run: (caller, userId) => http(caller, 'query($userId: ID) { apiTokens(userId: $userId) { totalCount } }', { userId }),
  },
  'Mutation.startScan': {
    type: 'Scan',
    run: (caller, id) => http(caller, mutation('startScan', 'StartScanInput', SCAN), { input: { id } }),
  },
  'Mutation.cancelScan': {
    type: 'Scan',
    run: (caller, id) => http(caller, mutation('cancelScan', 'CancelScanInput', SCAN), { input: { id } }),
  },
  'Mutation.deleteScan': {
    type: 'Scan',
    run: (caller, id) => http(caller, mutation('deleteScan', 'DeleteScanInput', '{ deletedScanId }'), { input: { id } }),
  },
  'Mutation.deleteScope': {
    type: 'Scope',
    run: (caller, id) => http(caller, mutation('deleteScope', 'DeleteScopeInput', '{ deletedScopeId }'), { input: { id } }),
  },
  'Mutation.revokeApiToken': {
    type: 'ApiToken',
    run: (caller, id) => http(caller, mutation('revokeApiToken', 'RevokeApiTokenInput', '{ apiToken { id } }'), { input: { id } }),
  },
  'Mutation.updateUser': {
    type: 'User',
    run: (caller, id) => http(caller, mutation('updateUser', 'UpdateUserInput', '{ user { id } }'), { input: { id, name: 'nobody' } }),
  },
  'Mutation.uploadEvidence': { type: 'Scan', run: (caller, id) => uploadAs(caller, id) },
  'Mutation.deleteEvidence': {
    type: 'Evidence',
    run: (caller, id) => http(caller, mutation('deleteEvidence', 'DeleteEvidenceInput', '{ deletedEvidenceId }'), { input: { id } }),
  },
  'Subscription.scanProgress': {
    type: 'Scan',
    run: (caller, id) => subscription(caller, 'subscription($id: ID!) { scanProgress(scanId: $id) { percent } }', { id }),
  },
  'Subscription.scanEvents': {
    type: 'Scan',
    run: (caller, id) => subscription(caller, 'subscription($id: ID!) { scanEvents(scanId: $id) { scanId } }', { id }),
  },
};

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64url');
const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';

describe('refusals that do not depend on the ID', () => {
  // A caller refused the operation gets that refusal whatever ID they send: answering
  // NOT_FOUND for some IDs would let them probe what exists, or which IDs are well formed.
  const cases = Object.entries(BY_ID).flatMap(([field, { type, run }]) =>
    CALLERS.filter((caller) => MATRIX[field]?.access[caller] !== 'allowed').map((caller) => ({
      field,
      caller,
      expected: MATRIX[field]!.access[caller],
      type,
      run,
    })),
  );

  it.each(cases)(
    '$field refuses $caller with $expected for an unknown, a malformed and a foreign ID',
    async ({ caller, expected, type, run }) => {
      const ids = {
        unknown: globalId(type, UNKNOWN_UUID),
        malformed: 'not-an-id',
        foreign: globalId(type === 'User' ? 'Scan' : 'User', UNKNOWN_UUID),
      };
      for (const [kind, id] of Object.entries(ids)) {
        const outcome = await run(caller, id);
        expect(
          outcome.errors.map((error) => error.code),
          `${kind} ID`,
        ).toEqual([expected]);
      }
    },
  );
});

describe('logout', () => {
  it('is refused to a caller with neither an access token nor a refresh token', async () => {
    const outcome = await http('anonymous', 'mutation { logout { loggedOut } }');
    expect(outcome.errors.map((error) => error.code)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('API tokens and roles', () => {
  const CREATE_TOKEN = mutation('createApiToken', 'CreateApiTokenInput', '{ secret apiToken { role } }');

  it('refuses a token with more power than its owner', async () => {
    for (const [caller, role] of [
      ['VIEWER', 'ANALYST'],
      ['VIEWER', 'ADMIN'],
      ['ANALYST', 'ADMIN'],
    ] as const) {
      const outcome = await http(caller, CREATE_TOKEN, { input: { name: 'escalation', role } });
      expect(
        outcome.errors.map((error) => error.code),
        `${caller} → ${role}`,
      ).toEqual(['BAD_USER_INPUT']);
    }
  });

  it("acts with the token's role when it is weaker than its owner's", async () => {
    const created = await as<{ secret: string; apiToken: { role: string } }>(users.ANALYST, CREATE_TOKEN, {
      input: { name: 'read only', role: 'VIEWER' },
    });
    expect(created.apiToken.role).toBe('VIEWER');
    const { body } = await server.graphql(
      mutation('createScan', 'CreateScanInput', SCAN),
      { input: { targets: ['127.0.0.1'], ports: '1' } },
      { authorization: `Bearer ${created.secret}` },
    );
    expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
  });
});
