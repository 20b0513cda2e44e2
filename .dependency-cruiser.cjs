/**
 * The layering, as rules `npm run check` holds the code to (dependency-cruiser).
 * Type-only imports count: a type is a dependency too.
 */
const AREAS = '(scans|scope|users|audit|evidence|traffic)';

module.exports = {
  forbidden: [
    {
      name: 'platform-knows-no-area',
      comment: 'platform/ is the shared machinery: it imports only itself and the domain errors, never an area or the GraphQL layer.',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/', pathNot: ['^src/platform/', '^src/errors\\.ts$'] },
    },
    {
      name: 'only-resolvers-and-modules-speak-graphql',
      comment: "Inside an area, only its resolvers and its module file import graphql/: services, entities and jobs run in the worker too, without GraphQL.",
      severity: 'error',
      from: { path: `^src/${AREAS}/`, pathNot: ['\\.resolvers\\.ts$', '\\.module\\.ts$', '\\.test\\.ts$'] },
      to: { path: '^src/graphql/' },
    },
    {
      name: 'no-generated-types-in-services',
      comment: 'Services take domain inputs; the generated GraphQL types stay with the resolvers.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['\\.resolvers\\.ts$', '\\.module\\.ts$', '\\.test\\.ts$', '^src/graphql/'] },
      to: { path: '^src/graphql/generated/' },
    },
    {
      name: 'no-folder-cycles',
      comment: 'The folders of src/ depend on each other in one direction: no cycle between folders, type-only imports included.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    parser: 'swc',
    // swc reads type-only imports too (`import type`), and they count: TypeScript 7 has no compiler API to ask instead.
    tsPreCompilationDeps: false,
    doNotFollow: { path: 'node_modules' },
    // The product's code. Tests sit beside it and reach across areas to seed and inspect: they are not a layer.
    includeOnly: { path: '^src/' },
    // Generated code, by name; and the tests, by their suffix.
    exclude: { path: ['^src/graphql/generated/', '\\.test\\.ts$'] },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
