import {
  type ConstValueNode,
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

/** An operation's cost for the variables of one request. */
export type CostOfVariables = (variables: Readonly<Record<string, unknown>>) => number;

/** A cost known from the document alone, or one that waits for the variables. */
type Term = number | CostOfVariables;
type IntTerm = number | undefined | ((variables: Readonly<Record<string, unknown>>) => number | undefined);

const termAt = (term: Term, variables: Readonly<Record<string, unknown>>) => (typeof term === 'number' ? term : term(variables));

function sum(terms: readonly Term[]): Term {
  let known = 0;
  const pending: CostOfVariables[] = [];
  for (const term of terms) {
    if (typeof term === 'number') known += term;
    else pending.push(term);
  }
  return pending.length === 0 ? known : (variables) => pending.reduce((total, term) => total + term(variables), known);
}

function product(a: Term, b: Term): Term {
  return typeof a === 'number' && typeof b === 'number' ? a * b : (variables) => termAt(a, variables) * termAt(b, variables);
}

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
  return (costOfOperation(schema, document, operationName) ?? (() => 0))(variables ?? {});
}

/**
 * What `queryCost` needs of the document and the schema, worked out once: the
 * cost as a function of the variables alone. `undefined` when the document has
 * no such operation.
 */
export function costOfOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
): CostOfVariables | undefined {
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION && (!operationName || definition.name?.value === operationName),
  );
  if (!operation) return undefined;
  const fragments = new Map(
    document.definitions
      .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );
  const defaults = new Map(
    operation.variableDefinitions?.map((definition) => [definition.variable.name.value, definition.defaultValue]) ?? [],
  );
  const pageSize = (field: FieldNode): Term => {
    const sizes: IntTerm[] = (field.arguments ?? [])
      .filter((argument) => argument.name.value === 'first' || argument.name.value === 'last')
      .map((argument) => intOf(argument.value, defaults));
    const size = (values: readonly (number | undefined)[]) => Math.max(1, ...values.map((value) => value ?? MAX_PAGE_SIZE));
    if (sizes.every((term) => typeof term !== 'function')) return size(sizes as (number | undefined)[]);
    return (variables) => size(sizes.map((term) => (typeof term === 'function' ? term(variables) : term)));
  };
  const root = schema.getRootType(operation.operation);
  // Each fragment is costed once: re-walking it at every spread would make a wide, shallow document cost exponential time.
  const fragmentCosts = new Map<string, Term>();
  const cost = (selectionSet: SelectionSetNode, type: GraphQLNamedType | undefined | null, seen: ReadonlySet<string>): Term => {
    const terms: Term[] = [];
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
        terms.push(product(size, sum([1, below])));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        terms.push(cost(selection.selectionSet, selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type, seen));
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
        terms.push(known);
      }
    }
    return sum(terms);
  };
  const total = root ? cost(operation.selectionSet, root, new Set()) : 0;
  return (variables) => termAt(total, variables);
}

/** An integer argument's value, or how to read it from the variables; `undefined` when it is not one (coercion will refuse it). */
function intOf(value: ValueNode, defaults: ReadonlyMap<string, ConstValueNode | undefined>): IntTerm {
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind !== Kind.VARIABLE) return undefined;
  const name = value.name.value;
  // A default is a literal; none leaves the field to its default page.
  const fallback = defaults.get(name);
  const absent = !fallback ? DEFAULT_PAGE_SIZE : fallback.kind === Kind.INT ? Number(fallback.value) : undefined;
  return (variables) => {
    if (!(name in variables)) return absent;
    return Number.isInteger(variables[name]) ? (variables[name] as number) : undefined;
  };
}

/**
 * Refuses, before it runs, an operation that costs more than `MAX_QUERY_COST`, with `QUERY_TOO_COMPLEX`.
 * yoga's parse cache hands every request of one query the same DocumentNode,
 * so the walk of the document is done once per document and operation; a
 * request only applies its variables.
 */
export function useQueryCost(max = MAX_QUERY_COST): Plugin {
  const costs = new WeakMap<DocumentNode, Map<string, { schema: GraphQLSchema; cost: CostOfVariables }>>();
  const costOf = (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined) => {
    let byName = costs.get(document);
    if (!byName) {
      byName = new Map();
      costs.set(document, byName);
    }
    const known = byName.get(operationName ?? '');
    if (known?.schema === schema) return known.cost;
    const cost = costOfOperation(schema, document, operationName);
    // An operation name the document lacks is not kept: requests could otherwise grow the map without end.
    if (cost) byName.set(operationName ?? '', { schema, cost });
    return cost;
  };
  const check = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: unknown };
    setResultAndStopExecution: (result: never) => void;
  }) => {
    const cost = costOf(args.schema, args.document, args.operationName)?.((args.variableValues ?? {}) as Record<string, unknown>) ?? 0;
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
