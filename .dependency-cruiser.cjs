/**
 * The layering, as rules `npm run check` holds the code to (dependency-cruiser).
 * Type-only imports count: a type is a dependency too. An area is any folder of
 * src/ but the shared ones below, so a new area needs no line here.
 */
const SHARED = '(graphql|platform|access|net)';
const VOCABULARY = '^src/(errors|config|module)\\.ts$';
const GENERATED = '^src/graphql/generated/';

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
      name: 'vocabulary-knows-no-area',
      comment: 'net/, access/ and the top-level vocabulary (errors, config, the module shape) sit below every area.',
      severity: 'error',
      from: { path: ['^src/(net|access)/', VOCABULARY] },
      to: { path: '^src/', pathNot: ['^src/(platform|net|access)/', VOCABULARY] },
    },
    {
      name: 'graphql-knows-no-area',
      comment: 'graphql/ composes the modules it is given; it imports no area (its generated types aside, which map the areas\' views).',
      severity: 'error',
      from: { path: '^src/graphql/', pathNot: GENERATED },
      to: { path: '^src/', pathNot: [`^src/${SHARED}/`, VOCABULARY] },
    },
    {
      name: 'only-resolvers-and-modules-speak-graphql',
      comment: 'Inside an area, only its resolvers and its module file import graphql/: services, entities and jobs run in the worker too, without GraphQL.',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: [`^src/${SHARED}/`, '\\.resolvers\\.ts$', '\\.module\\.ts$'] },
      to: { path: '^src/graphql/' },
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
    // Generated code is left out by name (it maps every area's views, as it must), and the tests by their suffix;
    // who may import the generated types is checked apart, by .dependency-cruiser.generated.cjs.
    exclude: { path: [GENERATED, '\\.test\\.ts$'] },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
