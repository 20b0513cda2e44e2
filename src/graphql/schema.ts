import { readdirSync, readFileSync } from 'node:fs';
import { createSchema } from 'graphql-yoga';
import { auditResolvers } from '../audit/audit.resolvers.ts';
import { scanResolvers } from '../scans/scan.resolvers.ts';
import { scopeResolvers } from '../scope/scope.resolvers.ts';
import { userResolvers } from '../users/user.resolvers.ts';
import type { GraphQLContext } from './context.ts';
import { nodeResolvers } from './node.resolvers.ts';

const SCHEMA_DIR = new URL('../../schema/', import.meta.url);

/** The SDL in schema/ is the contract; resolvers from each area are attached to it. */
export function loadTypeDefs(): string[] {
  return readdirSync(SCHEMA_DIR)
    .filter((file) => file.endsWith('.graphql'))
    .sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)))
    .map((file) => readFileSync(new URL(file, SCHEMA_DIR), 'utf8'));
}

export function buildSchema() {
  return createSchema<GraphQLContext>({
    typeDefs: loadTypeDefs(),
    resolvers: [nodeResolvers, scanResolvers, userResolvers, scopeResolvers, auditResolvers],
  });
}
