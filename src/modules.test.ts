import { type GraphQLEnumType, GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { composeGrants } from './access/viewer.ts';
import { buildSchema } from './graphql/schema.ts';
import { modules } from './modules.ts';

/** What the areas declare must agree with the contract in schema/, area by area, without a central list. */
describe('the area modules', () => {
  const schema = buildSchema(modules);
  const declared = <T>(pick: (module: (typeof modules)[number]) => readonly T[] | undefined) =>
    modules.flatMap((module) => pick(module) ?? []);

  it('have distinct names', () => {
    const names = modules.map((module) => module.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('declare exactly the audit actions the schema lists, each once', () => {
    const actions = declared((module) => module.auditActions);
    const values = (schema.getType('AuditAction') as GraphQLEnumType).getValues().map((value) => value.name);
    expect([...actions].sort()).toEqual([...values].sort());
    expect(new Set(actions).size).toBe(actions.length);
  });

  it('give a node lookup for every type of the schema that implements Node, and for no other', () => {
    const nodeTypes = Object.values(schema.getTypeMap())
      .filter(
        (type): type is GraphQLObjectType => type instanceof GraphQLObjectType && type.getInterfaces().some((face) => face.name === 'Node'),
      )
      .map((type) => type.name);
    expect(declared((module) => Object.keys(module.nodes ?? {})).sort()).toEqual(nodeTypes.sort());
  });

  it('name their topics and queues once across the app', () => {
    for (const names of [declared((module) => module.topics), declared((module) => module.queues?.map((queue) => queue.name))]) {
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('grant each permission from one area only, and every role something', () => {
    const grants = composeGrants(modules.map((module) => module.grants));
    expect(Object.keys(grants).sort()).toEqual(['ADMIN', 'ANALYST', 'VIEWER']);
    expect(() => composeGrants([...modules.map((module) => module.grants), { VIEWER: { 'scan:read': 'all' } }])).toThrow('granted twice');
  });
});
