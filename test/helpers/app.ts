import { type App, type AppOverrides, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createContext, type GraphQLContext } from '../../src/graphql/context.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export type TestApp = App & {
  /** A request context, as the server builds one per request. */
  context(): GraphQLContext;
  dispose(): Promise<void>;
};

/** The real composition root on a database of its own, migrated, logging only errors. */
export async function createTestApp(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<TestApp> {
  const database: TestDatabase = await createTestDatabase();
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', ...env, DATABASE_URL: database.url });
  const app = await createApp(config, { logger: createLogger('error', false), ...overrides });
  let counter = 0;
  return {
    ...app,
    context: () => createContext(app, `test-${++counter}`),
    async dispose() {
      await app.close();
      await database.drop();
    },
  };
}
