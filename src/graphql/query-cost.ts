import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../platform/pagination.ts';

/**
 * What a query may cost: the number of fields it may resolve, each list
 * field counted as many times as the page it asks for. A dashboard's page of
 * 100 scans with each one's summary and first 10 results costs about 8,000.
 */
export const MAX_QUERY_COST = 25_000;

/**
 * The cost of the operation to run, with its variables: every field costs 1,
 * and a field that pages (`first`/`last`) multiplies its subtree by its page
 * size, whether written in the query, passed as a variable or left to the
 * default. graphql-armor's cost rule reads only literal `first`s, so
 * `first: $n` (or none) would pass as a page of one.
 */
export function queryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): number {
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION && (!operationName || definition.name?.value === operationName),
  );
  if (!operation) return 0;
  const fragments = new Map(
    document.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  const defaults = new Map(
    operation.variableDefinitions?.map((definition) => [definition.variable.name.value, definition.defaultValue]) ?? [],
  );
  const pageSize = (field: FieldNode): number => {
    let size = 1;
    for (const argument of field.arguments ?? []) {
      if (argument.name.value !== 'first' && argument.name.value !== 'last') continue;
      size = Math.max(size, intOf(argument.value, variables ?? {}, defaults) ?? MAX_PAGE_SIZE);
    }
    return size;
  };
  const root = schema.getRootType(operation.operation);
  // Each fragment is costed once: re-walking it at every spread would make a wide, shallow document cost exponential time.
  const fragmentCosts = new Map<string, number>();
  const cost = (selectionSet: SelectionSetNode, type: GraphQLNamedType | undefined | null, seen: ReadonlySet<string>): number => {
    let total = 0;
    // Execution runs a fragment spread twice in one selection set once; so does this count.
    const spread = new Set<string>();
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        // Introspection has its own depth limit (graphql 17); __typename is free.
        if (selection.name.value.startsWith('__')) continue;
        const definition = isObjectType(type) || isInterfaceType(type) ? type.getFields()[selection.name.value] : undefined;
        const pages = definition?.args.some((arg) => arg.name === 'first' || arg.name === 'last') ?? false;
        const size = pages
          ? selection.arguments?.some((a) => a.name.value === 'first' || a.name.value === 'last')
            ? pageSize(selection)
            : DEFAULT_PAGE_SIZE
          : 1;
        const below = selection.selectionSet ? cost(selection.selectionSet, definition && getNamedType(definition.type), seen) : 0;
        total += size * (1 + below);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += cost(selection.selectionSet, selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type, seen);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // A cycle is refused by validation before this runs; `seen` only keeps this walk finite.
        if (!fragment || seen.has(name) || spread.has(name)) continue;
        spread.add(name);
        const known =
          fragmentCosts.get(name) ??
          cost(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), new Set([...seen, name]));
        fragmentCosts.set(name, known);
        total += known;
      }
    }
    return total;
  };
  return root ? cost(operation.selectionSet, root, new Set()) : 0;
}

/** An integer argument's value; `undefined` when it is not one (coercion will refuse it). */
function intOf(
  value: ValueNode,
  variables: Readonly<Record<string, unknown>>,
  defaults: Map<string, ValueNode | undefined>,
): number | undefined {
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind !== Kind.VARIABLE) return undefined;
  const name = value.name.value;
  if (name in variables) return Number.isInteger(variables[name]) ? (variables[name] as number) : undefined;
  const fallback = defaults.get(name);
  return fallback ? intOf(fallback, {}, new Map()) : DEFAULT_PAGE_SIZE;
}

/** Refuses, before it runs, an operation that costs more than `MAX_QUERY_COST`, with `QUERY_TOO_COMPLEX`. */
export function useQueryCost(max = MAX_QUERY_COST): Plugin {
  const check = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: unknown };
    setResultAndStopExecution: (result: never) => void;
  }) => {
    const cost = queryCost(args.schema, args.document, args.operationName, args.variableValues as Record<string, unknown> | undefined);
    if (cost <= max) return;
    setResultAndStopExecution({
      errors: [
        new GraphQLError(`Query cost ${cost} exceeds the limit of ${max}: ask for smaller pages, or fewer nested lists.`, {
          extensions: { code: 'QUERY_TOO_COMPLEX', cost, maxCost: max, http: { status: 400 } },
        }),
      ],
    } as never);
  };
  return { onExecute: check, onSubscribe: check };
}
