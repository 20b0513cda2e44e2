import { GraphQLError, type GraphQLErrorOptions } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
  QuotaExceededError,
  RateLimitedError,
  UnauthenticatedError,
} from '../errors.ts';
import type { Logger } from '../platform/logger.ts';

/** The one place that knows error codes: each domain error class and its `extensions.code`. */
const CODES: [new (...args: never[]) => Error, string][] = [
  [InvalidInputError, 'BAD_USER_INPUT'],
  [NotFoundError, 'NOT_FOUND'],
  [UnauthenticatedError, 'UNAUTHENTICATED'],
  [ForbiddenError, 'FORBIDDEN'],
  [ConflictError, 'CONFLICT'],
  [RateLimitedError, 'RATE_LIMITED'],
  [PayloadTooLargeError, 'PAYLOAD_TOO_LARGE'],
  [QuotaExceededError, 'QUOTA_EXCEEDED'],
];

/** A domain error that has a code. */
export type CodedError =
  | InvalidInputError
  | NotFoundError
  | UnauthenticatedError
  | ForbiddenError
  | ConflictError
  | RateLimitedError
  | PayloadTooLargeError
  | QuotaExceededError;

const codeOf = (error: Error): string | undefined => CODES.find(([type]) => error instanceof type)?.[1];

/** Where in a document and a result an error happened. */
type Location = Pick<GraphQLErrorOptions, 'nodes' | 'source' | 'positions' | 'path'>;

type ErrorContext = { requestId?: string; logger?: Logger };

/**
 * A domain error as clients see it, from anywhere (a resolver, a socket, a
 * stream that loses its identity): its message and code, with `field` for bad
 * input and `retryAfterSeconds` for a rate limit.
 */
export function toCodedError(error: CodedError, location: Location = {}): GraphQLError {
  const code = codeOf(error);
  // Only the classes of the table are CodedErrors; a subclass of DomainError outside it is a mistake here, not a client's.
  if (!code) throw new TypeError(`${error.name} has no error code.`);
  const extensions: Record<string, unknown> = { code };
  if (error instanceof InvalidInputError) extensions.field = error.field;
  if (error instanceof RateLimitedError) extensions.retryAfterSeconds = error.retryAfterSeconds;
  if (error instanceof PayloadTooLargeError) extensions.maxBytes = error.maxBytes;
  return new GraphQLError(error.message, { ...location, extensions });
}

/** What an unexpected error becomes: nothing of it but the request id, under which it is logged. */
export function internalError(requestId: string | undefined, location: Location = {}): GraphQLError {
  return new GraphQLError('Unexpected error.', {
    ...location,
    extensions: { code: 'INTERNAL_SERVER_ERROR', ...(requestId ? { requestId } : {}) },
  });
}

/**
 * Maps one execution error: GraphQL's own errors pass through, domain errors
 * get their code (and `field` for bad input), anything else is masked as
 * `INTERNAL_SERVER_ERROR` carrying the request id, and logged with its stack.
 */
export function toClientError(error: GraphQLError, context: ErrorContext, fallback: Logger): GraphQLError {
  const original = error.originalError;
  if (!original || original instanceof GraphQLError) return error;
  const location = { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path };
  if (codeOf(original)) return toCodedError(original as CodedError, location);
  (context.logger ?? fallback).error({ err: original, requestId: context.requestId, path: error.path }, 'unexpected error');
  return internalError(context.requestId, location);
}

type Result = { errors?: readonly GraphQLError[]; data?: unknown };

/**
 * Applies `toClientError` to query, mutation and subscription results, with
 * the request's context at hand. Also makes two client mistakes explicit:
 * - a query that fails parsing or validation answers HTTP 400 even to
 *   `Accept: application/json` clients (yoga follows the legacy 200 there);
 * - a result with no `data` at all is a request error (variables that do
 *   not coerce, an unknown operation name): `BAD_USER_INPUT`.
 */
export function useErrorCodes(logger: Logger): Plugin<ErrorContext> {
  const mapErrors =
    (context: ErrorContext) =>
    ({ result, setResult }: { result: Result; setResult: (r: never) => void }) => {
      if (!result.errors?.length) return;
      const requestError = !('data' in result);
      const errors = result.errors.map((error) =>
        requestError && !error.extensions.code
          ? new GraphQLError(error.message, {
              nodes: error.nodes,
              source: error.source,
              positions: error.positions,
              extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
            })
          : toClientError(error, context, logger),
      );
      setResult({ ...result, errors } as never);
    };
  return {
    onResultProcess({ result }) {
      // yoga marks parse and validation errors "spec" so that `application/json` clients get 200; we want 400 for all.
      for (const single of Array.isArray(result) ? result : [result]) {
        for (const error of (single as Result).errors ?? []) {
          const http = error.extensions.http as { spec?: boolean } | undefined;
          if (http?.spec) http.spec = false;
        }
      }
    },
    onExecute({ args }) {
      return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, mapErrors(args.contextValue)) };
    },
    onSubscribe({ args }) {
      return {
        onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, mapErrors(args.contextValue)),
        onSubscribeError: ({ error, setError }) => {
          if (error instanceof GraphQLError) setError(toClientError(error, args.contextValue, logger));
        },
      };
    },
  };
}
