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
  // The same reading of the code as the main rules, with the generated code kept in.
  options: { ...require('./.dependency-cruiser.cjs').options, exclude: { path: '\\.test\\.ts$' } },
};
