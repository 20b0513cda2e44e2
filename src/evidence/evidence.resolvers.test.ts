import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { createGraphQLServer, type GraphQLServer } from '../graphql/server.ts';
import { Evidence } from './evidence.entity.ts';

const queries: string[] = [];
let app: TestApp;
let server: GraphQLServer;
let url: string;
let dir: string;
let headers: Record<string, string>;

/** SQL statements a request runs, beyond the one that checks its access token's session. */
async function countQueries(query: string): Promise<number> {
  queries.length = 0;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query }) });
  const body = (await response.json()) as { errors?: unknown };
  expect(body.errors).toBeUndefined();
  return queries.length - 1;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'scanops-evidence-'));
  app = await createTestApp({ EVIDENCE_DIR: dir }, { onQuery: (sql) => queries.push(sql) });
  const context = app.context();
  const em = app.orm.em.fork();
  for (let i = 0; i < 25; i++) {
    const scan = await context.services.scanCommands.create({ targets: ['127.0.0.1'], ports: `${i + 1}` });
    for (let n = 0; n < i % 4; n++) {
      await em.insert(Evidence, {
        id: randomUUID(),
        scan: scan.id,
        sha256: 'a'.repeat(64),
        size: 10 + n,
        contentType: 'image/png',
        filename: `shot-${n}.png`,
        description: null,
        uploadedBy: context.viewer.userId,
        createdAt: new Date(Date.now() + n),
      });
    }
  }
  headers = { 'content-type': 'application/json', authorization: `Bearer ${await app.tokenFor()}` };
  server = createGraphQLServer(app.server);
  url = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}/graphql`;
});

afterAll(async () => {
  await server.close();
  await app.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('Scan.evidence', () => {
  const page = (size: number) =>
    `{ scans(first: ${size}) { edges { node { id evidence(first: 2) { totalCount pageInfo { hasNextPage endCursor }
       edges { node { id filename size contentType url uploadedBy { id } scan { id } } } } } } } }`;

  it('reads a page of scans with their first evidence in as many queries for 20 scans as for 2', async () => {
    const few = await countQueries(page(2));
    expect(await countQueries(page(20))).toBe(few);
  });

  it('pages on after the first page with the cursor it gave, newest first', async () => {
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query: page(25) }) });
    const { data } = (await response.json()) as {
      data: {
        scans: {
          edges: {
            node: {
              id: string;
              evidence: {
                totalCount: number;
                pageInfo: { hasNextPage: boolean; endCursor: string };
                edges: { node: { filename: string } }[];
              };
            };
          }[];
        };
      };
    };
    const full = data.scans.edges.find((edge) => edge.node.evidence.totalCount === 3)?.node;
    expect(full?.evidence.edges.map((edge) => edge.node.filename)).toEqual(['shot-2.png', 'shot-1.png']);
    expect(full?.evidence.pageInfo.hasNextPage).toBe(true);
    const next = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        query: 'query($id: ID!, $after: String) { scan(id: $id) { evidence(first: 2, after: $after) { edges { node { filename } } } } }',
        variables: { id: full?.id, after: full?.evidence.pageInfo.endCursor },
      }),
    });
    const rest = (await next.json()) as { data: { scan: { evidence: { edges: { node: { filename: string } }[] } } } };
    expect(rest.data.scan.evidence.edges.map((edge) => edge.node.filename)).toEqual(['shot-0.png']);
  });
});
