import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphQLServer, type GraphQLServer } from '../graphql/server.ts';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';

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
  for (let i = 0; i < 120; i++) await service.create({ targets: ['127.0.0.1'], ports: `${i + 1}` });
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
