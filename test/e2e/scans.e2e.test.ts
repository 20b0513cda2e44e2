import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServer, subscribe } from '../helpers/server.ts';

const SCAN_FIELDS = 'id targets ports scanType status createdAt updatedAt startedAt finishedAt error';
const CREATE = `mutation($input: CreateScanInput!) { createScan(input: $input) { scan { ${SCAN_FIELDS} } } }`;
const PAGE = `query($first: Int, $after: String, $last: Int, $before: String, $filter: ScanFilter, $orderBy: ScanOrder) {
  scans(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    edges { cursor node { id ports } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

type Scan = { id: string; targets: string[]; ports: string; scanType: string; status: string; createdAt: string };
type Page = {
  scans: {
    totalCount: number;
    edges: { cursor: string; node: { id: string; ports: string } }[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  };
};

let server: ServerProcess;

async function createScan(input: Record<string, unknown>): Promise<Scan> {
  const { body } = await server.graphql<{ createScan: { scan: Scan } }>(CREATE, { input });
  expect(body.errors).toBeUndefined();
  return body.data!.createScan.scan;
}

async function page(variables: Record<string, unknown>): Promise<Page['scans']> {
  const { body } = await server.graphql<Page>(PAGE, variables);
  expect(body.errors).toBeUndefined();
  return body.data!.scans;
}

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

describe('scans over HTTP', () => {
  it('creates a scan with normalized targets and ports, and defaults', async () => {
    const scan = await createScan({ targets: ['127.0.0.1', '::0:1', '127.0.0.9/24'], ports: '443,80,22,20-25' });
    expect(scan).toMatchObject({
      targets: ['127.0.0.1', '::1', '127.0.0.0/24'],
      ports: '20-25,80,443',
      scanType: 'CONNECT',
      status: 'PENDING',
      startedAt: null,
      finishedAt: null,
      error: null,
    });
    expect(new Date(scan.createdAt).toISOString()).toBe(scan.createdAt);

    const defaults = await createScan({ targets: ['localhost'], scanType: 'SYN' });
    expect(defaults).toMatchObject({ targets: ['localhost'], ports: '1-1000', scanType: 'SYN' });
  });

  it('reads a scan back by scan(id) and node(id)', async () => {
    const created = await createScan({ targets: ['127.0.0.2'] });
    const { body } = await server.graphql<{ scan: Scan; node: Scan & { __typename: string } }>(
      `query($id: ID!) { scan(id: $id) { ${SCAN_FIELDS} } node(id: $id) { __typename id ... on Scan { ports } } }`,
      { id: created.id },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.scan).toEqual(created);
    expect(body.data!.node).toEqual({ __typename: 'Scan', id: created.id, ports: '1-1000' });
  });

  it('answers null, not an error, for unknown and malformed IDs', async () => {
    const unknown = Buffer.from('Scan:00000000-0000-4000-8000-000000000000').toString('base64url');
    const wrongType = Buffer.from('User:00000000-0000-4000-8000-000000000000').toString('base64url');
    const { status, body } = await server.graphql(
      `query($a: ID!, $b: ID!, $c: ID!) { a: scan(id: $a) { id } b: scan(id: $b) { id } c: node(id: $c) { id } d: node(id: $b) { id } }`,
      { a: unknown, b: 'not-an-id', c: wrongType },
    );
    expect(status).toBe(200);
    expect(body).toEqual({ data: { a: null, b: null, c: null, d: null } });
  });

  it('deletes a scan, then finds it gone; a second delete is NOT_FOUND', async () => {
    const scan = await createScan({ targets: ['127.0.0.3'] });
    const mutation = 'mutation($id: ID!) { deleteScan(input: { id: $id }) { deletedScanId } }';
    const first = await server.graphql(mutation, { id: scan.id });
    expect(first.body).toEqual({ data: { deleteScan: { deletedScanId: scan.id } } });
    const lookup = await server.graphql('query($id: ID!) { scan(id: $id) { id } }', { id: scan.id });
    expect(lookup.body).toEqual({ data: { scan: null } });
    const again = await server.graphql(mutation, { id: scan.id });
    expect(again.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const malformed = await server.graphql(mutation, { id: '%%%' });
    expect(malformed.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('pagination and filters', () => {
  const ids: string[] = [];
  // A distinct port spec marks this test's scans, so other tests' scans can be filtered out by eye.
  beforeAll(async () => {
    for (let i = 1; i <= 7; i++)
      ids.push((await createScan({ targets: ['127.0.1.1'], ports: `${i}`, scanType: i % 2 ? 'UDP' : 'VERSION' })).id);
  });

  it('walks forward through first, middle and last pages without gaps or repeats', async () => {
    const filter = { scanType: ['UDP', 'VERSION'] };
    const orderBy = { field: 'CREATED_AT', direction: 'ASC' };
    const seen: string[] = [];
    let after: string | null = null;
    const pages: Page['scans'][] = [];
    do {
      const current: Page['scans'] = await page({ first: 3, after, filter, orderBy });
      pages.push(current);
      seen.push(...current.edges.map((edge) => edge.node.id));
      after = current.pageInfo.hasNextPage ? current.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(ids);
    expect(pages.map((p) => p.edges.length)).toEqual([3, 3, 1]);
    expect(pages.map((p) => [p.pageInfo.hasPreviousPage, p.pageInfo.hasNextPage])).toEqual([
      [false, true],
      [true, true],
      [true, false],
    ]);
    expect(pages.every((p) => p.totalCount === 7)).toBe(true);
  });

  it('walks backward with last/before', async () => {
    const filter = { scanType: ['UDP', 'VERSION'] };
    const orderBy = { field: 'CREATED_AT', direction: 'ASC' };
    const last = await page({ last: 3, filter, orderBy });
    expect(last.edges.map((e) => e.node.id)).toEqual(ids.slice(4));
    expect(last.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const middle = await page({ last: 3, before: last.pageInfo.startCursor, filter, orderBy });
    expect(middle.edges.map((e) => e.node.id)).toEqual(ids.slice(1, 4));
    const first = await page({ last: 3, before: middle.pageInfo.startCursor, filter, orderBy });
    expect(first.edges.map((e) => e.node.id)).toEqual(ids.slice(0, 1));
    expect(first.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
  });

  it('orders newest first by default and keeps cursors stable under inserts', async () => {
    const filter = { scanType: ['UDP', 'VERSION'] };
    const top = await page({ first: 2, filter });
    expect(top.edges.map((e) => e.node.id)).toEqual([ids[6], ids[5]]);
    await createScan({ targets: ['127.0.1.1'], ports: '99', scanType: 'UDP' });
    const next = await page({ first: 2, after: top.pageInfo.endCursor, filter });
    expect(next.edges.map((e) => e.node.id)).toEqual([ids[4], ids[3]]);
  });

  it('filters by status and scan type', async () => {
    const udp = await page({ first: 100, filter: { scanType: ['UDP'] } });
    expect(udp.edges.length).toBe(udp.totalCount);
    expect(udp.edges.map((e) => e.node.id)).toEqual(expect.arrayContaining([ids[0], ids[2], ids[4], ids[6]]));
    expect(udp.edges.map((e) => e.node.id)).not.toContain(ids[1]);
    const none = await page({ filter: { status: ['RUNNING'] } });
    expect(none).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, startCursor: null } });
    const pending = await page({ first: 1, filter: { status: ['PENDING'], scanType: ['VERSION'] } });
    expect(pending.totalCount).toBe(3);
  });

  it('orders by updatedAt too, and refuses a cursor from another order', async () => {
    const byUpdate = await page({ first: 2, orderBy: { field: 'UPDATED_AT', direction: 'DESC' } });
    expect(byUpdate.edges).toHaveLength(2);
    const { body } = await server.graphql(PAGE, {
      first: 2,
      after: byUpdate.pageInfo.endCursor,
      orderBy: { field: 'CREATED_AT', direction: 'DESC' },
    });
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('caps the page size and checks paging arguments', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ first: 101 }, 'first'],
      [{ first: -1 }, 'first'],
      [{ last: 500 }, 'last'],
      [{ first: 1, last: 1 }, 'last'],
      [{ after: 'bm90IGEgY3Vyc29y' }, 'after'],
      [{ first: 1, before: 'x' }, 'before'],
    ];
    for (const [variables, field] of cases) {
      const { status, body } = await server.graphql(PAGE, variables);
      expect(status).toBe(200);
      expect(body.errors?.[0]?.extensions, JSON.stringify(variables)).toEqual({ code: 'BAD_USER_INPUT', field });
    }
    const defaults = await page({});
    expect(defaults.edges.length).toBeLessThanOrEqual(20);
  });
});

describe('validation and error cases', () => {
  const refuse = async (input: Record<string, unknown>, field: string, message?: RegExp) => {
    const { status, body } = await server.graphql(CREATE, { input });
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    const error = body.errors?.[0];
    expect(error?.extensions, JSON.stringify(input)).toEqual({ code: 'BAD_USER_INPUT', field });
    if (message) expect(error?.message).toMatch(message);
  };

  it('refuses bad targets and ports with BAD_USER_INPUT naming the field', async () => {
    await refuse({ targets: [] }, 'targets');
    await refuse({ targets: [''] }, 'targets');
    await refuse({ targets: ['300.1.1.1'] }, 'targets');
    await refuse({ targets: ['127.0.0.1/33'] }, 'targets');
    await refuse({ targets: ['::1/129'] }, 'targets');
    await refuse({ targets: ['bad_host!'] }, 'targets');
    await refuse({ targets: ['127.0.0.0/8'] }, 'targets', /addresses; at most 65536/);
    await refuse({ targets: ['127.0.0.1'], ports: '' }, 'ports');
    await refuse({ targets: ['127.0.0.1'], ports: '0' }, 'ports');
    await refuse({ targets: ['127.0.0.1'], ports: '65536' }, 'ports');
    await refuse({ targets: ['127.0.0.1'], ports: '100-10' }, 'ports', /reversed/);
    await refuse({ targets: ['127.0.0.1'], ports: '80,,443' }, 'ports');
  });

  it('refuses targets outside the allowed scope before storing anything', async () => {
    const before = await page({ first: 0 });
    await refuse({ targets: ['127.0.0.1', '10.0.0.1'] }, 'targets', /outside the allowed scope/);
    await refuse({ targets: ['192.168.0.0/16'] }, 'targets', /outside the allowed scope/);
    await refuse({ targets: ['::2'] }, 'targets', /outside the allowed scope/);
    expect((await page({ first: 0 })).totalCount).toBe(before.totalCount);
  });

  it('rejects unknown enum values in GraphQL itself', async () => {
    const { status, body } = await server.graphql(CREATE, { input: { targets: ['127.0.0.1'], scanType: 'PING' } });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('answers malformed JSON with HTTP 400', async () => {
    const { status, body } = await server.post('{"query": ');
    expect(status).toBe(400);
    expect((body as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('BAD_REQUEST');
  });

  it('answers an invalid query with HTTP 400 and GRAPHQL_VALIDATION_FAILED', async () => {
    const { status, body } = await server.graphql('{ scans { edges { node { nope } } } }');
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const syntax = await server.graphql('{ scans(');
    expect(syntax.status).toBe(400);
    expect(syntax.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('answers missing or ill-typed variables with HTTP 400 and BAD_USER_INPUT', async () => {
    const missing = await server.graphql('query($id: ID!) { scan(id: $id) { id } }');
    expect(missing.status).toBe(400);
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const illTyped = await server.graphql(PAGE, { first: 'ten' });
    expect(illTyped.status).toBe(400);
    expect(illTyped.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('tags responses with a request id, echoing a sane one from the client', async () => {
    const { headers } = await server.graphql('{ __typename }', undefined, { 'x-request-id': 'trace-123' });
    expect(headers.get('x-request-id')).toBe('trace-123');
    const generated = await server.graphql('{ __typename }', undefined, { 'x-request-id': 'bad id with spaces' });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('subscriptions over graphql-ws', () => {
  it('delivers scanUpdated for a scan created after subscribing', async () => {
    const client = server.wsClient();
    const subscription = subscribe<{ scanUpdated: Scan }>(client, `subscription { scanUpdated { ${SCAN_FIELDS} } }`);
    // The server acknowledges the subscription before events are routed; give it a beat.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const scan = await createScan({ targets: ['127.0.0.4'], ports: '8080' });
    const [event] = await subscription.next(1);
    expect(event?.scanUpdated).toEqual(scan);
    subscription.dispose();
  });

  it('answers queries over the socket too, and reports invalid operations as errors', async () => {
    const client = server.wsClient();
    const query = subscribe<{ scans: { totalCount: number } }>(client, '{ scans { totalCount } }');
    const [result] = await query.next(1);
    expect(result?.scans.totalCount).toBeGreaterThan(0);
    const invalid = subscribe(client, 'subscription { nope }');
    await expect(invalid.next(1, 5_000)).rejects.toThrow(/Cannot query field.*GRAPHQL_VALIDATION_FAILED/);
    expect(JSON.stringify(invalid.errors)).not.toContain('"http"');
  });
});
