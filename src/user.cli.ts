import { parseArgs } from 'node:util';
import { ROLES, type Role } from './access/role.ts';
import { Viewer } from './access/viewer.ts';
import { entities, migrations } from './app.ts';
import { AuditLog } from './audit/audit-log.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DomainError, InvalidInputError } from './errors.ts';
import { systemClock } from './platform/clock.ts';
import { openDatabase } from './platform/db.ts';
import { startEmbeddedPostgres } from './platform/embedded-postgres.ts';
import { createLogger } from './platform/logger.ts';
import { createUserRecord } from './users/user.service.ts';

const USAGE = `Usage: npm run user -- create --email <email> --role <${ROLES.join('|')}> [--name <name>]
The password is read from USER_PASSWORD, or else from the first line of stdin
(e.g. \`printf '%s\\n' "$PW" | npm run user -- create …\`), never from the command line.`;

/** Operators' way in: creates a user on the configured database (the embedded one by default). */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { email: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals[0] !== 'create' || !values.email || !values.role) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const role = values.role.toUpperCase() as Role;
  if (!ROLES.includes(role)) throw new InvalidInputError('role', `The role must be one of ${ROLES.join(', ')}.`);
  const password = process.env.USER_PASSWORD ?? (await firstLineOfStdin());
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, false);
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({
        dataDir: config.dataDir,
        port: config.embeddedPostgresPort,
        fallbackDir: config.embeddedPostgresFallbackDir,
        logger,
      });
  const url = config.databaseUrl ?? embedded?.url ?? '';
  const orm = await openDatabase({ url, logger, entities, migrations, poolSize: 2 });
  try {
    const em = orm.em.fork();
    const user = await createUserRecord(em, { email: values.email, name: values.name, role, password }, systemClock.now());
    const audit = new AuditLog({ em, viewer: Viewer.anonymous(), ip: null, clock: systemClock });
    await audit.record({
      action: 'USER_CREATED',
      target: { type: 'User', id: user.id },
      actor: { id: null, email: null },
      details: { email: user.email, role: user.role, via: 'cli' },
    });
    process.stdout.write(`Created ${user.role} ${user.email}.\n`);
  } finally {
    await orm.close();
    await embedded?.stop();
  }
}

async function firstLineOfStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

main().catch((error: unknown) => {
  const message =
    error instanceof InvalidInputError
      ? `${error.field}: ${error.message}`
      : error instanceof DomainError || error instanceof ConfigError
        ? error.message
        : ((error as Error)?.stack ?? String(error));
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
});
