import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, isAsyncIterable, type Plugin, type YogaLogger } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Logger } from '../platform/logger.ts';
import { clientAddress } from './client-address.ts';
import type { GraphQLContext, GraphQLServerDeps } from './context.ts';
import { useErrorCodes } from './errors.ts';
import { limitBody, useHardening } from './hardening.ts';
import { IdentityWatch } from './identity-watch.ts';
import { buildSchema } from './schema.ts';
import { useStreamedUploads, withUploads } from './uploads.ts';
import { type ServerContext, serveGraphQLOverWebSocket } from './ws.ts';

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

/**
 * A subscription's events flow only while its viewer's identity holds, over
 * graphql-ws and over HTTP (SSE) alike: re-checked as events pass, and ended
 * at once on a revocation or at expiry.
 */
function useIdentityGuard(watch: IdentityWatch): Plugin<GraphQLContext> {
  return {
    onSubscribe({ args }) {
      const { viewer } = args.contextValue;
      return {
        onSubscribeResult({ result, setResult }) {
          if (viewer.isAuthenticated && isAsyncIterable(result))
            setResult(watch.guard(result, viewer.identity, (error) => ({ errors: [error] })));
        },
      };
    },
  };
}

type Listener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The areas' plain HTTP routes (downloads, exports, health) beside
 * `/graphql`; everything else goes to yoga. A route that throws answers 500
 * and is logged, never crashes the server.
 */
function withRoutes({ modules, runtime, logger }: GraphQLServerDeps, next: Listener): Listener {
  const routes = modules.flatMap((module) => module.routes ?? []);
  if (routes.length === 0) return next;
  return (request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    for (const route of routes) {
      const match = route.method === request.method ? route.path.exec(path) : null;
      if (!match) continue;
      void Promise.resolve()
        .then(() => route.handle(request, response, { ...match.groups }, runtime))
        .catch((error: unknown) => {
          logger.error({ err: error, path, method: request.method }, 'unexpected error');
          if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' }).end('Unexpected error.');
          else response.destroy();
        });
      return;
    }
    next(request, response);
  };
}

/** GraphQL over HTTP (graphql-yoga) and graphql-ws on the same port and path. */
export function createGraphQLServer(app: GraphQLServerDeps): GraphQLServer {
  const requestIds = new WeakMap<Request, string>();
  const watch = new IdentityWatch(app.authenticator, app.events, app.logger);
  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema: buildSchema(app.modules),
    graphqlEndpoint: GRAPHQL_PATH,
    context: async ({ request, req, requestId, viewer, ip }) =>
      app.context({
        requestId: requestId ?? requestIds.get(request) ?? randomUUID(),
        viewer: viewer ?? (await app.authenticator.authenticate(request.headers.get('authorization'))),
        ip: ip ?? (req ? clientAddress(req, app.config.graphql.trustedProxyHops) : null),
      }),
    // Served from the installed package: the page works on networks without internet.
    renderGraphiQL,
    graphiql: app.config.graphql.graphiql ? { title: 'ScanOps GraphiQL', subscriptionsProtocol: 'WS' } : false,
    landingPage: false,
    // One operation per request: an array body would multiply every limit below.
    batching: false,
    // The backstop for errors outside execution; `useErrorCodes` maps those inside it.
    maskedErrors: { isDev: app.config.env === 'development' },
    logging: yogaLogger(app.logger),
    plugins: [
      useStreamedUploads(),
      useRequestId(requestIds),
      ...useHardening(app.config),
      useIdentityGuard(watch),
      useErrorCodes(app.logger),
    ],
  });

  // Multipart uploads are bounded per file by their resolver; every other body by `MAX_BODY_BYTES`.
  const uploads = { path: GRAPHQL_PATH, maxFieldBytes: app.config.graphql.maxBodyBytes, logger: app.logger };
  // Small stream buffers (16 KiB, not 64): an upload refused at its limit has had little more read off its socket.
  const http = createServer(
    { highWaterMark: 16 * 1024 },
    withRoutes(app, withUploads(yoga, uploads, limitBody(app.config.graphql.maxBodyBytes, yoga))),
  );
  const wsServer = new WebSocketServer({ server: http, path: GRAPHQL_PATH, maxPayload: app.config.graphql.maxBodyBytes });
  const ws = serveGraphQLOverWebSocket({ app, yoga, watch, wsServer });

  return {
    http,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => resolve(http.address() as AddressInfo));
      }),
    async close() {
      watch.close();
      await ws.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await yoga.dispose();
    },
  };
}
