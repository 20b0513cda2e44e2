import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import type { AreaModule } from '../module.ts';
import { createGraphQLServer, type GraphQLServer } from './server.ts';

/** An area's plain HTTP routes beside /graphql, as the server composes them. */
let app: TestApp;
let server: GraphQLServer;
let base: string;

const routed = {
  name: 'routed',
  routes: [
    {
      method: 'GET',
      path: /^\/things\/(?<id>\d+)$/,
      async handle(_request, response, { id }, runtime) {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, env: runtime.config.env }));
      },
    },
    {
      method: 'GET',
      path: /^\/broken$/,
      async handle() {
        throw new Error('a route failed');
      },
    },
  ],
} satisfies AreaModule;

beforeAll(async () => {
  app = await createTestApp();
  server = createGraphQLServer({ ...app.server, modules: [...app.modules, routed] });
  base = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await server.close();
  await app.dispose();
});

describe('area routes', () => {
  it('answer their method and path, with the named parts of the path', async () => {
    const response = await fetch(`${base}/things/42`);
    expect([response.status, await response.json()]).toEqual([200, { id: '42', env: 'test' }]);
  });

  it('leave every other request to GraphQL', async () => {
    expect((await fetch(`${base}/things/42`, { method: 'DELETE' })).status).toBe(404);
    const graphql = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
    });
    expect(await graphql.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('answer 500 when they throw, and the server goes on', async () => {
    const response = await fetch(`${base}/broken`);
    expect([response.status, await response.text()]).toEqual([500, 'Unexpected error.']);
    expect((await fetch(`${base}/things/1`)).status).toBe(200);
  });
});
