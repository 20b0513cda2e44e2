import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import type { Disposable, OperationResult, SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { type GraphQLParams, isAsyncIterable, type YogaServerInstance } from 'graphql-yoga';
import type { WebSocket, WebSocketServer } from 'ws';
import { Viewer } from '../access/viewer.ts';
import { ForbiddenError, RateLimitedError, UnauthenticatedError } from '../errors.ts';
import { clientAddress } from './client-address.ts';
import type { GraphQLContext, GraphQLServerDeps } from './context.ts';
import { internalError, toCodedError } from './errors.ts';
import { withLimitCode } from './hardening.ts';
import type { IdentityWatch } from './identity-watch.ts';
import { SharedSubscriptions } from './shared-subscriptions.ts';

/** What a request carries into yoga: from node's HTTP server, or from graphql-ws with the viewer already known. */
export type ServerContext = {
  req?: IncomingMessage;
  requestId?: string;
  viewer?: Viewer;
  ip?: string | null;
  /** A multipart request's operation, its files in place, as `withUploads` parsed it. */
  upload?: GraphQLParams;
};

/** What graphql-ws keeps per socket. */
type SocketState = {
  request: IncomingMessage;
  socket: WebSocket;
  /** Names the socket in the logs; each of its operations has its own request id besides. */
  socketId: string;
  /** The connection's identity, from `connectionParams`; `undefined` when none was given. */
  viewer?: Viewer;
  /** Set once a tokenless connection authenticated an operation; until then the grace timer runs. */
  graceTimer?: NodeJS.Timeout;
  unwatch?: () => void;
  /** Subscriptions running on the socket, ended when it closes. */
  live: Set<AsyncIterator<unknown>>;
  /** Operations accepted and not yet running, counted against the cap too. */
  starting: number;
  /** The start of the operation asked for last: operations on one socket start one at a time, in the order asked. */
  turn: Promise<unknown>;
};

/** Operations one socket may run at once: each subscription holds a listener and a buffer. */
const MAX_OPERATIONS_PER_SOCKET = 100;

/** Close codes of graphql-ws connections whose credential is refused, as HTTP would say 401 and 403. */
const WS_CLOSE = { unauthenticated: 4401, forbidden: 4403 } as const;

export type WebSocketDeps = {
  app: Pick<GraphQLServerDeps, 'config' | 'logger' | 'authenticator' | 'modules'>;
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  watch: IdentityWatch;
  wsServer: WebSocketServer;
};

/**
 * graphql-ws over yoga's envelop (the recipe from yoga's docs), with
 * authentication per socket and per operation, identities kept under watch,
 * and a cap on what one socket may run.
 */
export function serveGraphQLOverWebSocket({ app, yoga, watch, wsServer }: WebSocketDeps): Disposable {
  const shared = new SharedSubscriptions(app.modules.flatMap((module) => module.sharedSubscriptions ?? []));
  const closeWith = (state: SocketState, error: Error) => {
    const code = error instanceof ForbiddenError ? WS_CLOSE.forbidden : WS_CLOSE.unauthenticated;
    if (state.socket.readyState === state.socket.OPEN) {
      const userId = state.viewer?.isAuthenticated ? state.viewer.userId : undefined;
      app.logger.info(
        {
          socketId: state.socketId,
          code,
          reason: error.message,
          userId,
          ip: clientAddress(state.request, app.config.graphql.trustedProxyHops),
        },
        'socket closed: credentials refused',
      );
    }
    state.socket.close(code, code === WS_CLOSE.forbidden ? 'Forbidden' : 'Unauthorized');
  };
  /**
   * A token in `connectionParams` must be good, or the socket closes (4401,
   * or 4403 for a deactivated user). Without one the socket stays open for
   * operations that bring their own token, for a grace period.
   */
  const connect = async (state: SocketState, params: Readonly<Record<string, unknown>> | undefined): Promise<boolean> => {
    const header = connectionAuthorization(params);
    if (header === null) {
      closeWith(state, new Error('not a token'));
      return false;
    }
    if (header === undefined) {
      state.graceTimer = setTimeout(() => closeWith(state, new Error('no identity')), app.config.graphql.wsAuthGraceMs);
      state.graceTimer.unref();
      return true;
    }
    const viewer = await app.authenticator.authenticate(header);
    if (viewer.failure || !viewer.isAuthenticated) {
      closeWith(state, viewer.failure ?? new Error('no identity'));
      return false;
    }
    // Closed while we checked: watching now would leak the watcher, as onClose has run already.
    if (state.socket.readyState !== state.socket.OPEN) return false;
    state.viewer = viewer;
    state.unwatch = watch.watch(viewer.identity, (why) => closeWith(state, why)).unwatch;
    return true;
  };

  /**
   * Who runs one operation: the operation's own token (what GraphiQL's headers
   * editor sends), or else the socket's identity, checked again as HTTP checks
   * every request: a role changed or a credential revoked since the socket
   * opened applies to its next operation (and closes the socket if lost).
   */
  const operationViewer = async (state: SocketState, extensions: Readonly<Record<string, unknown>> | null | undefined): Promise<Viewer> => {
    const header = operationAuthorization(extensions);
    if (header !== undefined) return app.authenticator.authenticate(header);
    if (!state.viewer?.isAuthenticated) return Viewer.anonymous();
    try {
      state.viewer = app.authenticator.viewerOf(await app.authenticator.recheck(state.viewer.identity));
      return state.viewer;
    } catch (error) {
      if (!(error instanceof UnauthenticatedError || error instanceof ForbiddenError)) throw error;
      closeWith(state, error);
      return Viewer.rejected(error);
    }
  };

  /** Execution arguments for one operation on a socket, or the errors that refuse it. */
  const prepare = async (state: SocketState, params: SubscribePayload): Promise<ExecutionArgs | GraphQLError[]> => {
    const viewer = await operationViewer(state, params.extensions);
    if (!viewer.isAuthenticated) {
      return [
        toCodedError(
          viewer.failure ??
            new UnauthenticatedError(
              "Log in first: send a token in `connectionParams.authorization` or in the operation's `extensions.headers.authorization`.",
            ),
        ),
      ];
    }
    clearTimeout(state.graceTimer);
    const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
      req: state.request,
      socket: state.socket,
      params,
      requestId: randomUUID(),
      viewer,
      ip: clientAddress(state.request, app.config.graphql.trustedProxyHops),
    });
    let document: ReturnType<typeof parse> | undefined;
    let errors: readonly GraphQLError[];
    try {
      document = parse(params.query);
      errors = validate(schema, document);
    } catch (error) {
      // A parse error (graphql-armor's rules report their refusals as validation errors; see hardening.ts).
      if (!(error instanceof GraphQLError)) throw error;
      errors = [error];
    }
    if (errors.length > 0 || !document) return withoutHttp(errors.map(withLimitCode));
    const { identity } = viewer;
    // Everything the results depend on: who asks (credential and role) and what they ask.
    const sharedAs = shared.shareable(document, params.operationName)
      ? JSON.stringify([
          identity.via,
          identity.credentialId,
          identity.role,
          params.query,
          params.operationName ?? null,
          params.variables ?? null,
        ])
      : undefined;
    return {
      schema,
      operationName: params.operationName,
      document,
      variableValues: params.variables,
      contextValue: await contextFactory(),
      rootValue: { execute, subscribe, sharedAs } satisfies EnvelopedRoot,
    };
  };

  /** Ends an operation's "starting" count, once; keyed by its subscribe payload, which every hook receives. */
  const starts = new WeakMap<SubscribePayload, () => void>();

  return useServer<Record<string, unknown>, SocketState>(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => {
        const root = args.rootValue as EnvelopedRoot;
        return root.sharedAs === undefined ? root.subscribe(args) : shared.subscribe(root.sharedAs, () => root.subscribe(args));
      },
      onConnect: (ctx) =>
        connect(stateOf(ctx.extra), ctx.connectionParams).catch((error: unknown) => {
          // graphql-ws would send a thrown error's message as the close reason: log it, say nothing.
          app.logger.error({ err: error, socketId: stateOf(ctx.extra).socketId }, 'graphql-ws connection failed');
          ctx.extra.socket.close(1011, 'Internal error');
          return false;
        }),
      onClose: (ctx) => {
        const state = stateOf(ctx.extra);
        clearTimeout(state.graceTimer);
        state.unwatch?.();
        for (const operation of state.live) void operation.return?.()?.catch(() => {});
        state.live.clear();
      },
      onSubscribe: async (ctx, _id, params) => {
        const state = stateOf(ctx.extra);
        if (state.live.size + state.starting >= MAX_OPERATIONS_PER_SOCKET) {
          return [toCodedError(new RateLimitedError(`At most ${MAX_OPERATIONS_PER_SOCKET} operations at once on one socket.`, 1))];
        }
        state.starting += 1;
        let started = true;
        // Whichever hook comes first (the operation runs, fails, or completes) says it is no longer starting.
        starts.set(params, () => {
          if (started) state.starting -= 1;
          started = false;
        });
        // A burst waits its turn, and counts against the cap meanwhile, however quickly each start goes.
        const turn = state.turn.then(() => prepare(state, params));
        state.turn = turn.catch(() => {});
        const prepared = await turn.catch((error: unknown) => {
          const requestId = randomUUID();
          app.logger.error({ err: error, requestId, socketId: state.socketId }, 'graphql-ws operation failed to start');
          return [internalError(requestId)];
        });
        if (Array.isArray(prepared)) starts.get(params)?.();
        return prepared;
      },
      onError: (_ctx, _id, params) => void starts.get(params)?.(),
      onComplete: (_ctx, _id, params) => void starts.get(params)?.(),
      /**
       * Tracks each running subscription of the socket itself: graphql-ws
       * keeps one per ID, so an ID subscribed, completed and subscribed again
       * before its start finished would leave a stream nobody can end.
       */
      onOperation: (ctx, _id, params, _args, result) => {
        starts.get(params)?.();
        return isAsyncIterable(result) ? track(stateOf(ctx.extra).live, result) : undefined;
      },
      // Status hints mean nothing on a socket (a refused operation's `http` extension, say).
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: withoutHttp(result.errors) } : undefined),
    },
    wsServer,
  );
}

/**
 * `connectionParams.authorization` (or `Authorization`, or `headers.authorization`,
 * as some clients nest it); `undefined` when absent, `null` when present but not a string.
 */
function connectionAuthorization(params: Readonly<Record<string, unknown>> | undefined): string | null | undefined {
  if (!params) return undefined;
  const nested = params.headers as Record<string, unknown> | undefined;
  const value = params.authorization ?? params.Authorization ?? nested?.authorization ?? nested?.Authorization;
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : null;
}

/** `extensions.headers.authorization` of a subscribe message: where GraphiQL puts its headers editor's values. */
function operationAuthorization(extensions: Readonly<Record<string, unknown>> | null | undefined): string | undefined {
  const headers = extensions?.headers as Record<string, unknown> | undefined;
  const value = headers?.authorization ?? headers?.Authorization;
  return typeof value === 'string' ? value : undefined;
}

/** A socket's state, its bookkeeping created on first use (graphql-ws hands it over as a partial). */
function stateOf(extra: Partial<SocketState> & Pick<SocketState, 'request' | 'socket'>): SocketState {
  extra.socketId ??= randomUUID();
  extra.live ??= new Set();
  extra.starting ??= 0;
  extra.turn ??= Promise.resolve();
  return extra as SocketState;
}

/** `result`, leaving `live` when it ends or is ended. */
function track<T>(live: Set<AsyncIterator<unknown>>, result: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = result[Symbol.asyncIterator]();
  live.add(iterator);
  const forget = () => live.delete(iterator);
  const tracked: AsyncGenerator<T> = {
    [Symbol.asyncIterator]: () => tracked,
    async next() {
      const step = await iterator.next();
      if (step.done) forget();
      return step;
    },
    async return(value) {
      forget();
      return (await iterator.return?.(value)) ?? { done: true, value: value as T };
    },
    async throw(error) {
      forget();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
    [Symbol.asyncDispose]: async () => {
      await tracked.return(undefined);
    },
  };
  return tracked;
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
  /** The key of the shared stream this subscription joins, if it may share one. */
  sharedAs: string | undefined;
};
