/**
 * Who may import the generated GraphQL types: only resolvers and module files
 * (and graphql/ itself). Apart from .dependency-cruiser.cjs, which leaves the
 * generated code out so that its imports of every area make no folder cycle.
 */
const GENERATED = '^src/graphql/generated/';

module.exports = {
  forbidden: [
    {
      name: 'no-generated-types-in-services',
      comment: 'Services take domain inputs; the generated GraphQL types stay with the resolvers.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['\\.resolvers\\.ts$', '\\.module\\.ts$', '^src/graphql/'] },
      to: { path: GENERATED },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: false,
    doNotFollow: { path: 'node_modules' },
    includeOnly: { path: '^src/' },
    exclude: { path: '\\.test\\.ts$' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
