import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import type { OperationResult } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type Plugin, type YogaLogger } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { App } from '../app.ts';
import type { Logger } from '../platform/logger.ts';
import { createContext, type GraphQLContext } from './context.ts';
import { useErrorCodes } from './errors.ts';
import { buildSchema } from './schema.ts';

export const GRAPHQL_PATH = '/graphql';

export type GraphQLServer = {
  http: Server;
  /** Listens on `port` (0 picks a free one) and resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, closes sockets and in-flight HTTP connections. */
  close(): Promise<void>;
};

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Tags each HTTP request with an id (the caller's `x-request-id` if sane), echoed in the response and in logs. */
function useRequestId(ids: WeakMap<Request, string>): Plugin {
  return {
    onRequest({ request }) {
      const given = request.headers.get('x-request-id');
      ids.set(request, given && REQUEST_ID.test(given) ? given : randomUUID());
    },
    onResponse({ request, response }) {
      const id = ids.get(request);
      if (id) response.headers.set('x-request-id', id);
    },
  };
}

function yogaLogger(logger: Logger): YogaLogger {
  return {
    debug: (...args) => logger.debug({ args }, 'yoga'),
    info: (...args) => logger.info({ args }, 'yoga'),
    warn: (...args) => logger.warn({ args }, 'yoga'),
    error: (...args) => logger.error({ err: args[0] }, 'yoga'),
  };
}

/** GraphQL over HTTP (graphql-yoga) and graphql-ws on the same port and path. */
export function createGraphQLServer(app: App): GraphQLServer {
  const requestIds = new WeakMap<Request, string>();
  const yoga = createYoga<{ requestId?: string }, GraphQLContext>({
    schema: buildSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    context: ({ request, requestId }) => createContext(app, requestId ?? requestIds.get(request) ?? randomUUID()),
    // Served from the installed package: the page works on networks without internet.
    renderGraphiQL,
    graphiql: { title: 'ScanOps GraphiQL', subscriptionsProtocol: 'WS' },
    landingPage: false,
    // The backstop for errors outside execution; `useErrorCodes` maps those inside it.
    maskedErrors: { isDev: app.config.env === 'development' },
    logging: yogaLogger(app.logger),
    plugins: [useRequestId(requestIds), useErrorCodes(app.logger)],
  });

  const http = createServer(yoga);
  const wsServer = new WebSocketServer({ server: http, path: GRAPHQL_PATH });
  const ws = useServer<Record<string, unknown>, { requestId?: string }>(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const requestId = randomUUID();
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          requestId,
        });
        let document;
        try {
          document = parse(params.query);
        } catch (error) {
          return withoutHttp([error as GraphQLError]);
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return withoutHttp(errors);
        const args: ExecutionArgs = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } as EnvelopedRoot,
        };
        return args;
      },
    },
    wsServer,
  );

  return {
    http,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => resolve(http.address() as AddressInfo));
      }),
    async close() {
      await ws.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await yoga.dispose();
    },
  };
}

/** Drops yoga's HTTP status hints, which mean nothing on a socket. */
function withoutHttp(errors: readonly GraphQLError[]): GraphQLError[] {
  return errors.map((error) => {
    const { http: _, ...extensions } = error.extensions;
    return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions });
  });
}

/** yoga's enveloped execute/subscribe, passed to graphql-ws through `rootValue` (the recipe from yoga's docs). */
type EnvelopedRoot = {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
};
