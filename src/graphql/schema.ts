import { readdirSync, readFileSync } from 'node:fs';
import { DateTimeResolver } from 'graphql-scalars';
import { createSchema } from 'graphql-yoga';
import type { AreaModule } from '../module.ts';
import type { GraphQLContext } from './context.ts';
import { nodeResolvers } from './node.resolvers.ts';

const SCHEMA_DIR = new URL('../../schema/', import.meta.url);

/** The SDL in schema/ is the contract: `base.graphql` first, then one file per area. */
export function loadTypeDefs(): string[] {
  return readdirSync(SCHEMA_DIR)
    .filter((file) => file.endsWith('.graphql'))
    .sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)))
    .map((file) => readFileSync(new URL(file, SCHEMA_DIR), 'utf8'));
}

/** The contract, with each area's resolvers and `Query.node` over every area's node types attached. */
export function buildSchema(modules: readonly AreaModule[]) {
  return createSchema<GraphQLContext>({
    typeDefs: loadTypeDefs(),
    resolvers: [{ DateTime: DateTimeResolver }, nodeResolvers(modules), ...modules.flatMap((module) => module.resolvers ?? [])] as never,
  });
}
