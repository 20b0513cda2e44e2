import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphQLResponse, type ServerProcess, startServer } from '../helpers/server.ts';

const DASHBOARD = `{ scans(first: 100) { nodes { id status createdAt summary { open closed filtered total }
  results(first: 10) { totalCount nodes { port state address protocol service } } } } }`;
const CREATE = 'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id } } }';
const SCAN_COUNT = '{ scans(first: 0) { totalCount } }';
const TYPO = '{ viewr { id } }';
// Production refuses to start without a key of its own; any key of 32+ characters does.
const JWT_SECRET = 'hostile-queries-e2e-secret-with-at-least-32-chars';

/** `n` times `make(i)`, space-separated. */
const repeat = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => make(i)).join(' ');

/** Each level adds three to the depth: a user's tokens, their nodes, each token's user. */
const deep = (levels: number) => `{ viewer { ${'apiTokens { nodes { user { '.repeat(levels)}id${' } } }'.repeat(levels)} } }`;

let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

type Body = GraphQLResponse['body'];

const codes = (body: Body) => body.errors?.map((error) => error.extensions?.code);

/** Refused before execution: a 400 with no `data` entry at all (a request error, in the spec's terms), every error carrying `code`. */
function expectRequestError({ status, body }: { status: number; body: unknown }, code: string, httpStatus = 400): void {
  expect(status).toBe(httpStatus);
  expect(body).not.toHaveProperty('data');
  expect(codes(body as Body)?.length).toBeGreaterThan(0);
  expect(new Set(codes(body as Body))).toEqual(new Set([code]));
}

async function expectStillAnswering(target = server): Promise<void> {
  const { status, body } = await target.graphql<{ viewer: { id: string } }>('{ viewer { id } }');
  expect(status).toBe(200);
  expect(body.errors).toBeUndefined();
  expect(body.data?.viewer.id).toEqual(expect.any(String));
}

async function get(query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Body }> {
  const response = await fetch(`${server.url}?query=${encodeURIComponent(query)}`, {
    headers: { accept: 'application/json', authorization: `Bearer ${server.adminToken}`, ...headers },
  });
  return { status: response.status, body: (await response.json()) as Body };
}

describe('hostile documents', () => {
  const bombs: [string, string, string][] = [
    ['a depth bomb', 'QUERY_TOO_DEEP', deep(5)],
    ['too many directives', 'TOO_MANY_DIRECTIVES', `{ ${repeat(25, (i) => `d${i}: viewer @include(if: true) { id }`)} }`],
    ['too many tokens', 'TOO_MANY_TOKENS', `{ ${'__typename '.repeat(2_100)}}`],
    ['a fragment cycle', 'GRAPHQL_VALIDATION_FAILED', '{ viewer { ...A } } fragment A on User { id ...B } fragment B on User { ...A }'],
    ['a huge literal page size', 'QUERY_TOO_COMPLEX', '{ scans(first: 1000000) { nodes { id } } }'],
    [
      'nested lists whose cost multiplies',
      'QUERY_TOO_COMPLEX',
      '{ scans(first: 100) { nodes { hosts(first: 100) { nodes { results(first: 100) { nodes { port } } } } } } }',
    ],
  ];

  it.each(bombs)('refuses %s with %s before running it, and keeps answering', async (_, code, query) => {
    expectRequestError(await server.graphql(query), code);
    await expectStillAnswering();
  });

  it('refuses an alias bomb of mutations with TOO_MANY_ALIASES, running none of them', async () => {
    const before = await server.graphql<{ scans: { totalCount: number } }>(SCAN_COUNT);
    const bomb = `mutation { ${repeat(40, (i) => `a${i}: createScan(input: { targets: ["127.0.0.1"] }) { scan { id } }`)} }`;
    expectRequestError(await server.graphql(bomb), 'TOO_MANY_ALIASES');
    const after = await server.graphql<{ scans: { totalCount: number } }>(SCAN_COUNT);
    expect(after.body.data!.scans.totalCount).toBe(before.body.data!.scans.totalCount);
    await expectStillAnswering();
  });

  it("counts page sizes passed as variables or left to the default, which armor's cost rule would take for 1", async () => {
    const nested = 'query($n: Int) { scans(first: $n) { nodes { hosts(first: $n) { nodes { results(first: $n) { nodes { port } } } } } } }';
    expectRequestError(await server.graphql(nested, { n: 100 }), 'QUERY_TOO_COMPLEX');
    expectRequestError(
      await server.graphql('query($first: Int) { scans(first: $first) { nodes { id } } }', { first: 1_000_000 }),
      'QUERY_TOO_COMPLEX',
    );
    const aliased = `{ ${repeat(25, (i) => `a${i}: scans { nodes { hosts { nodes { results { nodes { port } } } } } }`)} }`;
    expectRequestError(await server.graphql(aliased), 'QUERY_TOO_COMPLEX');
    await expectStillAnswering();
  });

  it('refuses an out-of-range page size that costs little when the field runs (BAD_USER_INPUT)', async () => {
    const { status, body } = await server.graphql('query($first: Int) { scans(first: $first) { nodes { id } } }', { first: 101 });
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([expect.objectContaining({ path: ['scans'], extensions: { code: 'BAD_USER_INPUT', field: 'first' } })]);
  });
});

describe('hostile requests', () => {
  it('refuses a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const padded = JSON.stringify({ query: `{ __typename } # ${'x'.repeat(110_000)}` });
    expectRequestError(await server.post(padded), 'PAYLOAD_TOO_LARGE', 413);
    await expectStillAnswering();
  });

  it('refuses a batched array body with 400 BAD_REQUEST', async () => {
    const batch = JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    expectRequestError(await server.post(batch), 'BAD_REQUEST');
    await expectStillAnswering();
  });

  it('refuses a GET without a CSRF header with 403 FORBIDDEN, and answers one that has it', async () => {
    expectRequestError(await get('{ viewer { id } }'), 'FORBIDDEN', 403);
    const allowed = await get('{ viewer { id } }', { 'x-graphql-yoga-csrf': '1' });
    expect(allowed.status).toBe(200);
    expect(allowed.body.errors).toBeUndefined();
    expect(allowed.body.data).toEqual({ viewer: { id: expect.any(String) } });
  });
});

describe('what real clients ask', () => {
  it('answers the dashboard query: 100 scans, each with its summary and first 10 results', async () => {
    for (const target of ['127.0.0.1', '127.0.0.2']) {
      expect((await server.graphql(CREATE, { input: { targets: [target] } })).body.errors).toBeUndefined();
    }
    const { status, body } = await server.graphql<{ scans: { nodes: { summary: unknown; results: { totalCount: number } }[] } }>(DASHBOARD);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data!.scans.nodes.length).toBeGreaterThanOrEqual(2);
    expect(body.data!.scans.nodes[0]).toMatchObject({
      summary: { open: 0, closed: 0, filtered: 0, total: 0 },
      results: { totalCount: 0, nodes: [] },
    });
  });

  it("answers GraphiQL's introspection query", async () => {
    const { status, body } = await server.graphql<{ __schema: { queryType: { name: string } } }>(getIntrospectionQuery());
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data!.__schema.queryType.name).toBe('Query');
  });

  it('suggests the field meant by a misspelled one outside production', async () => {
    const { status, body } = await server.graphql(TYPO);
    expectRequestError({ status, body }, 'GRAPHQL_VALIDATION_FAILED');
    expect(body.errors![0]!.message).toContain('Did you mean "viewer"?');
  });
});

describe('in production', () => {
  let production: ServerProcess;
  let withIntrospection: ServerProcess;

  beforeAll(async () => {
    [production, withIntrospection] = await Promise.all([
      startServer({ env: { NODE_ENV: 'production', JWT_SECRET } }),
      startServer({ env: { NODE_ENV: 'production', JWT_SECRET, INTROSPECTION: 'true', GRAPHIQL: 'true' } }),
    ]);
  });

  afterAll(async () => {
    const codes = await Promise.all([production?.stop(), withIntrospection?.stop()]);
    expect(codes).toEqual([0, 0]);
  });

  it('refuses introspection, but still answers __typename', async () => {
    const { status, body } = await production.graphql(getIntrospectionQuery());
    expectRequestError({ status, body }, 'GRAPHQL_VALIDATION_FAILED');
    expect(body.errors![0]!.message).toMatch(/introspection has been disabled/);
    expect((await production.graphql('{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
    await expectStillAnswering(production);
  });

  it("hides the suggestion in a misspelled field's error, which would map the schema", async () => {
    const { status, body } = await production.graphql(TYPO);
    expectRequestError({ status, body }, 'GRAPHQL_VALIDATION_FAILED');
    expect(body.errors![0]!.message).toMatch(/^Cannot query field "viewr" on type "Query"/);
    expect(body.errors![0]!.message).not.toMatch(/Did you mean|viewer/);
  });

  it('answers introspection when INTROSPECTION=true', async () => {
    const { status, body } = await withIntrospection.graphql<{ __schema: { queryType: { name: string } } }>(getIntrospectionQuery());
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data!.__schema.queryType.name).toBe('Query');
  });

  it('keeps every limit: a depth bomb is still QUERY_TOO_DEEP', async () => {
    expectRequestError(await production.graphql(deep(5)), 'QUERY_TOO_DEEP');
  });

  it('serves no GraphiQL page to a browser, unless GRAPHIQL=true', async () => {
    const page = (server: ServerProcess) =>
      fetch(server.url, { headers: { accept: 'text/html' } }).then(async (response) => ({
        type: response.headers.get('content-type'),
        text: await response.text(),
      }));
    expect((await page(production)).text).not.toContain('GraphiQL');
    expect((await page(withIntrospection)).text).toContain('<title>ScanOps GraphiQL</title>');
  });
});
