import type { z } from 'zod';
import { InvalidInputError } from '../errors.ts';

/**
 * Parses `input` with `schema`, or throws `InvalidInputError` for the first
 * issue zod found: one mapper from zod's issues to BAD_USER_INPUT for every
 * area, so a refused input names the same `field` and says the schema's own
 * words wherever it was parsed.
 *
 * Only the first issue is reported, as an `InvalidInputError` (and the
 * GraphQL error it becomes) names one field; zod checks an object's keys in
 * the order of its shape, so that order decides which one a client hears of.
 *
 * @param field Where `input` sits in the caller's input (`options`): the
 *   issue's path is appended to it with dots (`options.concurrency`,
 *   `targets.2`); an issue with the input as a whole names `field` itself.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, field = ''): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  throw new InvalidInputError(fieldOf(field, issue?.path ?? []), issue?.message ?? 'Invalid input.');
}

/** `options` + `['concurrency']` → `options.concurrency`. */
export function fieldOf(prefix: string, path: readonly PropertyKey[]): string {
  const segments = path.map(String);
  return (prefix ? [prefix, ...segments] : segments).join('.');
}
