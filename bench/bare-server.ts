import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';

/**
 * The reference for `bench/api.ts`: graphql-yoga with nothing of ScanOps (no
 * database, context, plugins or logging), so the ratio shows what our own
 * layers cost over the framework's floor. Announces its URL in the same JSON
 * shape as `src/main.ts`, so one parser reads both.
 */
const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { ok: Boolean }' }),
  graphqlEndpoint: '/graphql',
  landingPage: false,
  graphiql: false,
  logging: false,
});
const server = createServer(yoga);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ graphql: `http://127.0.0.1:${port}/graphql` })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
