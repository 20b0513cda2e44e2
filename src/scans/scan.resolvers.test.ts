import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphQLServer, type GraphQLServer } from '../graphql/server.ts';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { ScanResultRepository } from './scan-result.repository.ts';

const queries: string[] = [];
let app: TestApp;
let server: GraphQLServer;
let url: string;

const ALL_FIELDS = 'id targets ports scanType status createdAt updatedAt startedAt finishedAt error';

async function countQueries(query: string): Promise<number> {
  queries.length = 0;
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const body = await response.json() as { errors?: unknown };
  expect(body.errors).toBeUndefined();
  return queries.length;
}

beforeAll(async () => {
  app = await createTestApp({}, { onQuery: (sql) => queries.push(sql) });
  const service = app.context().services.scans;
  const results = new ScanResultRepository(app.orm.em.fork());
  for (let i = 0; i < 120; i++) {
    const scan = await service.create({ targets: ['127.0.0.1'], ports: `${i + 1}` });
    // Scan i found ports 1..(i % 15) open and 100 closed: 14 open at most, so the page of 10 is cut for some.
    const probes = Array.from({ length: 100 + (i % 15) }, (_, n) => ({
      address: '127.0.0.1', port: n + 1, protocol: 'TCP' as const, state: n < i % 15 ? 'OPEN' as const : 'CLOSED' as const,
    }));
    await results.upsert(scan.id, probes, new Date());
  }
  server = createGraphQLServer(app);
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
    expect(large).toBe(3);

    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: nested(50) }) });
    type Node = { ports: string; summary: { open: number; closed: number; total: number }; results: { totalCount: number; nodes: { port: number }[]; pageInfo: { hasNextPage: boolean } } };
    const { data } = await response.json() as { data: { scans: { edges: { node: Node }[] } } };
    for (const { node } of data.scans.edges) {
      const i = Number(node.ports) - 1;
      const open = i % 15;
      expect(node.summary).toEqual({ open, closed: 100, total: 100 + open });
      expect(node.results.totalCount).toBe(open);
      expect(node.results.nodes.map((r) => r.port)).toEqual(Array.from({ length: Math.min(open, 10) }, (_, n) => n + 1));
      expect(node.results.pageInfo.hasNextPage).toBe(open > 10);
    }
  });

  it('runs no count query unless totalCount is asked for', async () => {
    expect(await countQueries(`{ scans(first: 100) { edges { node { ${ALL_FIELDS} } } pageInfo { hasNextPage endCursor } } }`)).toBe(1);
  });

  it('batches many lookups by ID into one query', async () => {
    const { edges } = (await (await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ scans(first: 10) { edges { node { id } } } }' }),
    })).json() as { data: { scans: { edges: { node: { id: string } }[] } } }).data.scans;
    const aliases = edges.map((edge, i) => `s${i}: scan(id: "${edge.node.id}") { ${ALL_FIELDS} } n${i}: node(id: "${edge.node.id}") { id }`).join('\n');
    expect(await countQueries(`{ ${aliases} }`)).toBe(1);
  });
});
