import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DateTimeResolver } from 'graphql-scalars';
import { createSchema, createYoga } from 'graphql-yoga';

/**
 * The references for `bench/api.ts`: graphql-yoga with nothing of ScanOps (no
 * database, context, plugins or logging). `{ __typename }` is the framework's
 * floor; `scans(first: 50)` over 50 scans held in memory, with the fields and
 * scalars of ScanOps's Scan, is the floor of building and sending that page's
 * response. Announces its URL in the same JSON shape as `src/main.ts`, so one
 * parser reads both.
 */
const typeDefs = /* GraphQL */ `
  scalar DateTime
  enum ScanStatus { PENDING QUEUED RUNNING COMPLETED FAILED CANCELLED }
  enum ScanType { CONNECT SYN UDP VERSION }
  type Scan {
    id: ID!
    targets: [String!]!
    ports: String!
    scanType: ScanType!
    status: ScanStatus!
    createdAt: DateTime!
    updatedAt: DateTime!
    startedAt: DateTime
    finishedAt: DateTime
    error: String
  }
  type ScanEdge { cursor: String! node: Scan! }
  type ScanConnection { edges: [ScanEdge!]! }
  type Query { scans(first: Int): ScanConnection! }
`;

const PAGE = 50;
const start = Date.now();
// Shaped as ScanOps stores and answers them: global IDs and cursors of the same length, Dates through DateTime.
const scans = Array.from({ length: PAGE }, (_, i) => {
  const createdAt = new Date(start - i * 60_000);
  return {
    id: Buffer.from(`Scan:${randomUUID()}`).toString('base64url'),
    targets: ['127.0.0.1'],
    ports: `1-${1000 + (i % 25)}`,
    scanType: 'CONNECT',
    status: 'COMPLETED',
    createdAt,
    updatedAt: createdAt,
    startedAt: createdAt,
    finishedAt: createdAt,
    error: null,
  };
});
const edges = scans.map((node) => ({
  cursor: Buffer.from(JSON.stringify([node.createdAt.toISOString(), randomUUID()])).toString('base64url'),
  node,
}));

const yoga = createYoga({
  schema: createSchema({
    typeDefs,
    resolvers: {
      DateTime: DateTimeResolver,
      Query: { scans: (_: unknown, { first }: { first?: number | null }) => ({ edges: edges.slice(0, first ?? 20) }) },
    },
  }),
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
