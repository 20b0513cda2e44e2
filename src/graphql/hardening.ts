import type { IncomingMessage, ServerResponse } from 'node:http';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import { useQueryCost } from './query-cost.ts';

/**
 * Limits a query must pass before it runs. Set so that what a real dashboard
 * asks passes with room to spare: a page of 100 scans, each with its summary
 * and first 10 results (depth 7), or GraphiQL's introspection. The cost limit
 * is `useQueryCost` (see query-cost.ts for why not armor's).
 */
export const QUERY_LIMITS = {
  depth: 10,
  aliases: 30,
  directives: 20,
  tokens: 2_000,
} as const;

/** The codes of armor's (and the CSRF plugin's) refusals, recognised by their messages: they set none. */
const ARMOR_CODES: [RegExp, string][] = [
  [/Query depth limit of \d+ exceeded/, 'QUERY_TOO_DEEP'],
  [/Aliases limit of \d+ exceeded/, 'TOO_MANY_ALIASES'],
  [/Directives limit of \d+ exceeded/, 'TOO_MANY_DIRECTIVES'],
  [/Token limit of \d+ exceeded|more than \d+ tokens/, 'TOO_MANY_TOKENS'],
  [/^Required CSRF header/, 'FORBIDDEN'],
];

/**
 * Armor's validation rules throw their refusal by default, which ends the
 * validation without a result: yoga's validation cache keeps only results, so
 * a refused document would be walked again at every request. Reported as
 * validation errors, a refusal is cached with its document like any other.
 */
const reported = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

/** Headers only a script can set: one of them proves a request is not a cross-site form. */
export const CSRF_HEADERS = ['x-graphql-yoga-csrf', 'apollo-require-preflight', 'x-apollo-operation-name'] as const;

/**
 * graphql-armor's limits, our query cost limit, field suggestions hidden in production (they map
 * the schema for an attacker), introspection off in production unless
 * `INTROSPECTION=true`, and CSRF prevention: a GET or a form/multipart POST,
 * which a browser sends cross-site without a preflight, must carry a header
 * only a script can set (`x-graphql-yoga-csrf` or Apollo's `apollo-require-preflight`).
 */
export function useHardening(config: Config): Plugin[] {
  const plugins: (Plugin | undefined)[] = [
    useCSRFPrevention({ requestHeaders: [...CSRF_HEADERS] }),
    ...(config.graphql.introspection ? [] : [useDisableIntrospection() as unknown as Plugin]),
    EnvelopArmorPlugin({
      maxDepth: { n: QUERY_LIMITS.depth, ...reported },
      maxAliases: { n: QUERY_LIMITS.aliases, ...reported },
      maxDirectives: { n: QUERY_LIMITS.directives, ...reported },
      // A parse error: yoga's parse cache keeps it, thrown or not.
      maxTokens: { n: QUERY_LIMITS.tokens },
      costLimit: { enabled: false },
      blockFieldSuggestion: { enabled: config.env === 'production' },
    }) as unknown as Plugin,
    useArmorCodes(),
    useQueryCost(),
  ];
  return plugins.filter((plugin) => plugin !== undefined);
}

/** Gives each limit's refusal its own `extensions.code`, so clients can tell a bomb from a typo. */
function useArmorCodes(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !('errors' in result) || !result.errors?.length) return;
      setResult({ ...result, errors: (result.errors as GraphQLError[]).map(withLimitCode) });
    },
  };
}

/** An armor or CSRF refusal with its code (and HTTP status); any other error as it is. */
export function withLimitCode(error: GraphQLError): GraphQLError {
  const code = ARMOR_CODES.find(([pattern]) => pattern.test(error.message))?.[1];
  if (!code) return error;
  const message =
    code === 'FORBIDDEN'
      ? 'A GET or form request must carry an `x-graphql-yoga-csrf` (or `apollo-require-preflight`) header: CSRF prevention.'
      : error.message.replace(/^Syntax Error: /, '');
  // A refused document is a client error (400), like any invalid one; yoga drops `http` from the response.
  const http = { status: code === 'FORBIDDEN' ? 403 : 400 };
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code, http },
  });
}

/**
 * Refuses a request body over `maxBytes` before yoga reads it: 413 for a
 * declared length too large, 411 for a body of unknown length (chunked), which
 * could otherwise grow without end. Every GraphQL client sends a length.
 */
export function limitBody(maxBytes: number, next: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) {
      return refuse(res, 413, `The request body is larger than ${maxBytes} bytes.`, 'PAYLOAD_TOO_LARGE');
    }
    if (declared === undefined && req.headers['transfer-encoding']) {
      return refuse(res, 411, 'Send the request body with a Content-Length.', 'LENGTH_REQUIRED');
    }
    next(req, res);
  };
}

function refuse(res: ServerResponse, status: number, message: string, code: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}
