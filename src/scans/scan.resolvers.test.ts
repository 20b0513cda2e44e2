import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { toGlobalId } from '../graphql/global-id.ts';
import { createGraphQLServer, type GraphQLServer } from '../graphql/server.ts';
import { ScanRepository } from './scan.repository.ts';
import { ScanHostRepository } from './scan-host.repository.ts';
import { ScanResultRepository } from './scan-result.repository.ts';

const queries: string[] = [];
let app: TestApp;
let server: GraphQLServer;
let url: string;
let wideId: string;
let headers: Record<string, string>;

const ALL_FIELDS = 'id targets ports scanType status createdAt updatedAt startedAt finishedAt error';

/** SQL statements a request runs, beyond the one that checks its access token's session. */
async function countQueries(query: string): Promise<number> {
  queries.length = 0;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query }) });
  const body = (await response.json()) as { errors?: unknown };
  expect(body.errors).toBeUndefined();
  const [credential, ...rest] = queries;
  expect(credential).toMatch(/from "auth_sessions"/);
  return rest.length;
}

beforeAll(async () => {
  app = await createTestApp({}, { onQuery: (sql) => queries.push(sql) });
  const service = app.context().services.scanCommands;
  const results = new ScanResultRepository(app.orm.em.fork());
  // Seeded as a worker would leave them: results stored and counted.
  const scans = new ScanRepository(app.orm.em.fork());
  // The oldest scan, out of the pages of newest scans below.
  // A scan of a /26: host n has n % 5 open ports and 20 closed.
  const wide = await service.create({ targets: ['127.0.1.0/26'], ports: '1-25' });
  wideId = toGlobalId('Scan', wide.id);
  const hosts = Array.from({ length: 64 }, (_, n) => ({ address: `127.0.1.${n}`, family: 4 as const }));
  await new ScanHostRepository(app.orm.em.fork()).record(wide.id, hosts, new Date());
  await results.upsert(
    wide.id,
    hosts.flatMap(({ address }, n) =>
      Array.from({ length: 20 + (n % 5) }, (_, p) => ({
        address,
        port: p + 1,
        protocol: 'TCP' as const,
        state: p < n % 5 ? ('OPEN' as const) : ('CLOSED' as const),
      })),
    ),
    new Date(),
  );
  await scans.recount(wide.id);
  await new ScanHostRepository(app.orm.em.fork()).markUp(
    wide.id,
    hosts.filter((_, n) => n % 2 === 0).map((host) => host.address),
    new Date(),
  );
  for (let i = 0; i < 120; i++) {
    const scan = await service.create({ targets: ['127.0.0.1'], ports: `${i + 1}` });
    // Scan i found ports 1..(i % 15) open and 100 closed: 14 open at most, so the page of 10 is cut for some.
    const probes = Array.from({ length: 100 + (i % 15) }, (_, n) => ({
      address: '127.0.0.1',
      port: n + 1,
      protocol: 'TCP' as const,
      state: n < i % 15 ? ('OPEN' as const) : ('CLOSED' as const),
    }));
    await results.upsert(scan.id, probes, new Date());
    await scans.recount(scan.id);
  }
  headers = { 'content-type': 'application/json', authorization: `Bearer ${await app.tokenFor()}` };
  server = createGraphQLServer(app.server);
  const address = await server.listen(0, '127.0.0.1');
  url = `http://127.0.0.1:${address.port}/graphql`;
});

afterAll(async () => {
  await server.close();
  await app.dispose();
});

describe('SQL per request', () => {
  it('does not grow with the page size of scans', async () => {
    const small = await countQueries(`{ scans(first: 1) { totalCount edges { cursor node { ${ALL_FIELDS} } } } }`);
    const large = await countQueries(`{ scans(first: 100) { totalCount edges { cursor node { ${ALL_FIELDS} } } } }`);
    expect(large).toBe(small);
    expect(large).toBe(2);
  });

  it('does not grow with the page size when each scan brings its summary and first open ports', async () => {
    const nested = (first: number) => `{ scans(first: ${first}) { edges { node { ports summary { open closed total }
      results(first: 10, filter: { state: [OPEN] }) { totalCount nodes { port state } pageInfo { hasNextPage } } } } } }`;
    const small = await countQueries(nested(2));
    const large = await countQueries(nested(50));
    expect(large).toBe(small);
    // The scans, then their first results; each summary is read with its scan.
    expect(large).toBe(2);

    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query: nested(50) }) });
    type Node = {
      ports: string;
      summary: { open: number; closed: number; total: number };
      results: { totalCount: number; nodes: { port: number }[]; pageInfo: { hasNextPage: boolean } };
    };
    const { data } = (await response.json()) as { data: { scans: { edges: { node: Node }[] } } };
    for (const { node } of data.scans.edges) {
      const i = Number(node.ports) - 1;
      const open = i % 15;
      expect(node.summary).toEqual({ open, closed: 100, total: 100 + open });
      expect(node.results.totalCount).toBe(open);
      expect(node.results.nodes.map((r) => r.port)).toEqual(Array.from({ length: Math.min(open, 10) }, (_, n) => n + 1));
      expect(node.results.pageInfo.hasNextPage).toBe(open > 10);
    }
  });

  it('does not grow with the page size when each host brings its first open ports', async () => {
    const hosts = (first: number) => `{ scan(id: "${wideId}") { hosts(first: ${first}) { totalCount nodes { address state
      results(first: 3, filter: { state: [OPEN] }) { totalCount nodes { port } } } } } }`;
    const small = await countQueries(hosts(2));
    const large = await countQueries(hosts(50));
    expect(large).toBe(small);
    expect(large).toBe(4);

    type Host = { address: string; state: string; results: { totalCount: number; nodes: { port: number }[] } };
    const { data } = (await (await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query: hosts(50) }) })).json()) as {
      data: { scan: { hosts: { totalCount: number; nodes: Host[] } } };
    };
    expect(data.scan.hosts.totalCount).toBe(64);
    data.scan.hosts.nodes.forEach((host, n) => {
      expect(host).toEqual({
        address: `127.0.1.${n}`,
        state: n % 2 === 0 ? 'UP' : 'UNKNOWN',
        results: { totalCount: n % 5, nodes: Array.from({ length: Math.min(n % 5, 3) }, (_, p) => ({ port: p + 1 })) },
      });
    });
  });

  it('filters and pages hosts', async () => {
    const page = async (args: string) => {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          query: `{ scan(id: "${wideId}") { hosts(${args}) { totalCount nodes { address } pageInfo { hasNextPage endCursor } } } }`,
        }),
      });
      return (
        (await response.json()) as {
          data: {
            scan: { hosts: { totalCount: number; nodes: { address: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
          };
        }
      ).data.scan.hosts;
    };
    const first = await page('first: 3, filter: { address: "127.0.1.8/29", state: [UP] }');
    expect(first.totalCount).toBe(4);
    expect(first.nodes.map((h) => h.address)).toEqual(['127.0.1.8', '127.0.1.10', '127.0.1.12']);
    const next = await page(`first: 3, after: "${first.pageInfo.endCursor}", filter: { address: "127.0.1.8/29", state: [UP] }`);
    expect(next.nodes.map((h) => h.address)).toEqual(['127.0.1.14']);
    expect(next.pageInfo.hasNextPage).toBe(false);
    expect((await page('filter: { address: "127.0.1.63" }')).nodes).toEqual([{ address: '127.0.1.63' }]);
  });

  it('runs no count query unless totalCount is asked for', async () => {
    expect(await countQueries(`{ scans(first: 100) { edges { node { ${ALL_FIELDS} } } pageInfo { hasNextPage endCursor } } }`)).toBe(1);
  });

  it('batches many lookups by ID into one query', async () => {
    const { edges } = (
      (await (
        await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ query: '{ scans(first: 10) { edges { node { id } } } }' }),
        })
      ).json()) as { data: { scans: { edges: { node: { id: string } }[] } } }
    ).data.scans;
    const aliases = edges
      .map((edge, i) => `s${i}: scan(id: "${edge.node.id}") { ${ALL_FIELDS} } n${i}: node(id: "${edge.node.id}") { id }`)
      .join('\n');
    expect(await countQueries(`{ ${aliases} }`)).toBe(1);
  });
});
