import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createGraphQLServer, GRAPHQL_PATH } from './graphql/server.ts';
import { bootstrapAdmin } from './users/bootstrap.ts';

/** Starts the API: database (embedded unless DATABASE_URL), migrations, HTTP + graphql-ws. */
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  // Before listening: a weak ADMIN_PASSWORD must stop the start, not leave an API nobody can log in to.
  let users: Awaited<ReturnType<typeof bootstrapAdmin>>;
  try {
    users = await bootstrapAdmin(app.orm.em.fork(), config.auth.bootstrapAdmin, app.clock);
  } catch (error) {
    await app.close();
    throw error;
  }
  const server = createGraphQLServer(app.server);
  let address: Awaited<ReturnType<typeof server.listen>>;
  try {
    address = await server.listen(config.http.port, config.http.host);
  } catch (error) {
    await app.close();
    throw error;
  }
  await app.start({ worker: config.worker.inProcess });
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  app.logger.info(
    {
      graphql: `http://${host}:${address.port}${GRAPHQL_PATH}`,
      subscriptions: `ws://${host}:${address.port}${GRAPHQL_PATH}`,
      database: app.database,
      events: app.eventBus,
      dataDir: config.dataDir,
      allowedTargets: app.baseline.networks.map(String),
      worker: config.worker.inProcess ? `in process, ${config.worker.concurrency} scans at a time` : 'none (run `npm run worker`)',
    },
    `ScanOps listening on http://${host}:${address.port}${GRAPHQL_PATH}${config.graphql.graphiql ? ' (GraphiQL in a browser)' : ''}`,
  );
  const login =
    'log in with `mutation { login(input: { email: "…", password: "…" }) { accessToken refreshToken } }` and send `Authorization: Bearer <accessToken>`';
  if (users.state === 'created')
    app.logger.info({ admin: users.email }, `Created the first admin, ${users.email}, from ADMIN_EMAIL: ${login}`);
  else if (users.state === 'empty') {
    app.logger.warn(
      'No user exists yet, so nobody can log in. Create the first admin: `npm run user -- create --email you@example.com --role ADMIN` (password on stdin), or start once with ADMIN_EMAIL and ADMIN_PASSWORD set.',
    );
  } else app.logger.info({ users: users.users }, `To use the API, ${login}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    try {
      await server.close();
      await app.close();
      process.exitCode = 0;
    } catch (error) {
      app.logger.error({ err: error }, 'unclean shutdown');
      process.exitCode = 1;
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  // The logger may not exist yet (bad config): stderr is the one sure channel.
  process.stderr.write(`${error instanceof ConfigError ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
