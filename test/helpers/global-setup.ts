import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/platform/embedded-postgres.ts';
import { createLogger } from '../../src/platform/logger.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A server where tests may create and drop their own databases. */
    adminDatabaseUrl: string;
  }
}

/**
 * Tests run against `DATABASE_URL` when set (CI: the machine's PostgreSQL),
 * otherwise against an embedded server of their own under `.data/test`,
 * apart from the one `npm start` uses.
 */
export default async function setup(project: TestProject) {
  const given = process.env.DATABASE_URL;
  if (given) {
    project.provide('adminDatabaseUrl', given);
    return;
  }
  const server = await startEmbeddedPostgres({
    dataDir: path.resolve('.data/test'),
    port: Number(process.env.TEST_EMBEDDED_POSTGRES_PORT ?? 54339),
    logger: createLogger('warn', false),
    portSetting: 'TEST_EMBEDDED_POSTGRES_PORT',
  });
  project.provide('adminDatabaseUrl', server.adminUrl);
  return () => server.stop();
}
