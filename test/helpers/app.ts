import { randomUUID } from 'node:crypto';
import type { Role } from '../../src/access/role.ts';
import { Viewer } from '../../src/access/viewer.ts';
import { type App, type AppOverrides, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { GraphQLContext } from '../../src/graphql/context.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { AuthSession } from '../../src/users/auth-session.entity.ts';
import { createUserRecord } from '../../src/users/user.service.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export type TestApp = App & {
  /** A request context, as the server builds one per request; by default for an ADMIN on 127.0.0.1. */
  context(viewer?: Viewer, ip?: string): GraphQLContext;
  /** A new user of `role`, logged in: a viewer for `context`, and its session's access token for HTTP. */
  seedUser(role: Role): Promise<Viewer>;
  /** An access token of `viewer`'s session (the seeded ADMIN's by default). */
  tokenFor(viewer?: Viewer): Promise<string>;
  dispose(): Promise<void>;
};

export const TEST_PASSWORD = 'correct horse battery staple';

/** The real composition root on a database of its own, migrated, logging only errors. */
export async function createTestApp(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<TestApp> {
  const database: TestDatabase = await createTestDatabase();
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'error', ...env, DATABASE_URL: database.url });
  const app = await createApp(config, { logger: createLogger('error', false), ...overrides });
  let counter = 0;
  const seedUser = async (role: Role) => {
    const em = app.orm.em.fork();
    const user = await createUserRecord(
      em,
      { email: `${role.toLowerCase()}-${randomUUID()}@example.test`, role, password: TEST_PASSWORD },
      app.clock.now(),
    );
    const session = AuthSession.create(user, app.clock.now(), new Date(app.clock.now().getTime() + 86_400_000), '127.0.0.1');
    await em.persist(session).flush();
    return Viewer.of({ userId: user.id, email: user.email, role, via: 'session', credentialId: session.id, expiresAt: null }, app.grants);
  };
  const admin = await seedUser('ADMIN');
  return {
    ...app,
    context: (viewer = admin, ip = '127.0.0.1') => app.requestContext({ requestId: `test-${++counter}`, viewer, ip }),
    seedUser,
    tokenFor: async (viewer = admin) =>
      (await app.accessTokens.sign(viewer.userId, viewer.identity.role, viewer.identity.credentialId)).token,
    async dispose() {
      await app.close();
      await database.drop();
    },
  };
}
