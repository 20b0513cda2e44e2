import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';

/** A worker alone: takes scan jobs from the queue in PostgreSQL; run as many as you like, anywhere. */
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  await app.start({ worker: true });
  app.logger.info({ database: app.database, events: app.eventBus, concurrency: config.worker.concurrency }, 'ScanOps worker running');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'worker shutting down; running scans are left to a retry');
    await app.close();
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
