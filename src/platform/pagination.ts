import { InvalidInputError } from '../errors.ts';

/** Relay connection arguments as the schema passes them. */
export type PageArgs = {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
};

/**
 * A validated page request: `forward` reads `size` items after `cursor`,
 * `backward` reads `size` items before it (and returns them in list order).
 */
export type Page = {
  direction: 'forward' | 'backward';
  size: number;
  cursor: readonly unknown[] | undefined;
};

export type Edge<T> = { cursor: string; node: T };

export type PageInfo = {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
};

export type Connection<T> = {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  /** Counted only when a client asks for it. */
  totalCount: () => Promise<number>;
};

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Checks the connection arguments: one direction at a time, sizes within 0..`MAX_PAGE_SIZE`, readable cursors. */
export function parsePage(args: PageArgs): Page {
  const { first, after, last, before } = args;
  if (first != null && last != null) throw new InvalidInputError('last', 'Pass either `first` or `last`, not both.');
  if (after != null && before != null) throw new InvalidInputError('before', 'Pass either `after` or `before`, not both.');
  if (last != null && after != null) throw new InvalidInputError('after', '`after` pages forward; use it with `first`.');
  if (first != null && before != null) throw new InvalidInputError('before', '`before` pages backward; use it with `last`.');
  const backward = last != null || before != null;
  const field = backward ? 'last' : 'first';
  const size = (backward ? last : first) ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw new InvalidInputError(field, `\`${field}\` must be between 0 and ${MAX_PAGE_SIZE}.`);
  }
  const rawCursor = backward ? before : after;
  return {
    direction: backward ? 'backward' : 'forward',
    size,
    cursor: rawCursor == null ? undefined : decodeCursor(rawCursor, backward ? 'before' : 'after'),
  };
}

/** Cursors are opaque to clients: base64url of a JSON array of the sort key values. */
export function encodeCursor(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

function decodeCursor(raw: string, field: string): unknown[] {
  try {
    const values: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(values)) return values;
  } catch {
    // fall through to the error below
  }
  throw new InvalidInputError(field, `\`${field}\` is not a cursor from this API.`);
}

/**
 * Builds a connection from rows fetched with `page.size + 1` as the limit, in
 * query order: the extra row only tells whether another page exists.
 */
export function toConnection<T>(
  rows: T[],
  page: Page,
  cursorOf: (row: T) => readonly unknown[],
  count: () => Promise<number>,
): Connection<T> {
  const hasMore = rows.length > page.size;
  const pageRows = rows.slice(0, page.size);
  if (page.direction === 'backward') pageRows.reverse();
  const edges = pageRows.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node }));
  let counted: Promise<number> | undefined;
  return {
    edges,
    pageInfo: {
      hasNextPage: page.direction === 'forward' ? hasMore : page.cursor !== undefined,
      hasPreviousPage: page.direction === 'backward' ? hasMore : page.cursor !== undefined,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: () => (counted ??= count()),
  };
}
