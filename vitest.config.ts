import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 17 exports a "development" build; Vite would pick it (or the CJS one) for our
    // sources while node_modules get Node's choice, and two copies break `instanceof GraphQLError`.
    // Pin our imports to the file Node itself resolves, as the server does outside tests.
    alias: [{ find: /^graphql$/, replacement: fileURLToPath(import.meta.resolve('graphql')) }],
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    // Each file gets its own database; two cores, so two files at a time.
    maxWorkers: 2,
  },
});
