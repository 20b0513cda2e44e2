import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from './logger.ts';

const run = promisify(execFile);

export type Binaries = { initdb: string; pg_ctl: string };
/** The user the server runs as when we are root; `undefined`: as ourselves. */
export type RunAs = { uid: number; gid: number } | undefined;

export type Location = {
  binaries: Binaries;
  /** The cluster's folder. Its parent is handed to the server's user on first start. */
  pgdata: string;
};

type Where = { dataDir: string; fallbackDir: string; runAs: RunAs; logger: Logger };

const ADVICE =
  'Set DATABASE_URL to use another PostgreSQL server, or clone ScanOps into a folder every user can enter (such as /opt or /srv).';

/**
 * Where the server runs from and keeps its cluster: the package's binaries and
 * `dataDir/postgres`, unless we are root and the user `postgres` (PostgreSQL
 * refuses root) cannot reach them, as in a clone under `/root` (mode 0700 on
 * most machines), where spawning `initdb` would fail with a bare EACCES. Then
 * the binaries are copied to `fallbackDir/postgres-<version>/` and the cluster
 * lives in `fallbackDir/clusters/<key of dataDir>/postgres`. The password and
 * owner files stay in `dataDir`: only ScanOps reads them.
 *
 * We probe as that user (`test -x` on each folder down the path) rather than
 * read mode bits ourselves, so ACLs, groups and noexec mounts count as the
 * kernel counts them.
 */
export async function locateEmbeddedPostgres(binaries: Binaries, where: Where): Promise<Location> {
  const { dataDir, fallbackDir, runAs, logger } = where;
  const local = path.join(dataDir, 'postgres');
  if (!runAs) return { binaries, pgdata: local };

  const binariesBlock = await firstUnenterable(runAs, binaries.initdb);
  const dataBlock = await firstUnenterable(runAs, path.dirname(dataDir));
  const moved = path.join(fallbackDir, 'clusters', await clusterKey(dataDir), 'postgres');
  // A cluster once moved stays there, even if the project folder opens up later: a restart must find its data.
  const keepMoved = await hasCluster(moved);
  if (!binariesBlock && !dataBlock && !keepMoved) return { binaries, pgdata: local };
  if (dataBlock && !keepMoved && (await hasCluster(local))) {
    throw new Error(
      `The embedded PostgreSQL runs as the user "postgres" (PostgreSQL refuses root), who cannot enter ${dataBlock}, so it cannot open the cluster in ${local}. ` +
        `Let that user enter ${dataBlock} (chmod o+x), move DATA_DIR to a folder it can reach, or set DATABASE_URL to use another PostgreSQL server.`,
    );
  }

  const location = { binaries, pgdata: keepMoved || dataBlock ? moved : local };
  if (binariesBlock) location.binaries = await copyBinaries(binaries, binariesBlock, fallbackDir, runAs);
  if (location.pgdata === moved) await prepareClusterFolder(moved, runAs);

  const blocked = [...new Set([binariesBlock, dataBlock].filter((folder) => folder !== undefined))];
  const moves = [
    ...(binariesBlock ? [`runs from ${path.dirname(path.dirname(location.binaries.initdb))}`] : []),
    ...(location.pgdata === moved ? [`keeps its cluster in ${moved}${dataBlock ? '' : ', where an earlier start made it'}`] : []),
  ];
  const why = blocked.length ? `the user "postgres" cannot enter ${blocked.join(' or ')}, so ` : '';
  logger.info(
    { binaries: location.binaries.initdb, pgdata: location.pgdata, dataDir, unreachable: blocked },
    `${why}the embedded PostgreSQL ${moves.join(' and ')} (its password stays in ${dataDir})`,
  );
  return location;
}

/** The first of `target` and the folders above it that `runAs` cannot enter (or, for `target`, execute). */
async function firstUnenterable(runAs: RunAs, target: string): Promise<string | undefined> {
  const chain: string[] = [];
  for (let folder = path.resolve(target); ; folder = path.dirname(folder)) {
    chain.unshift(folder);
    if (folder === path.dirname(folder)) break;
  }
  const script = 'for f in "$@"; do test -x "$f" || { printf %s "$f"; exit 1; }; done';
  return run('sh', ['-c', script, 'sh', ...chain], { ...runAs }).then(
    () => undefined,
    (error: { stdout?: string }) => error.stdout || target,
  );
}

/**
 * One copy per package version, shared by every clone on the machine. Built
 * under a temporary name and renamed into place, so concurrent first starts
 * agree on one complete copy and a crash leaves no half copy in use.
 */
async function copyBinaries(binaries: Binaries, block: string, fallbackDir: string, runAs: RunAs): Promise<Binaries> {
  const native = path.dirname(path.dirname(binaries.initdb));
  const target = path.join(fallbackDir, `postgres-${await packageVersion(native)}`);
  if (!(await exists(target))) {
    const temporary = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdirEnterable(fallbackDir);
      // verbatimSymlinks: lib/ holds relative links (the package's postinstall makes them from
      // pg-symlinks.json); cp would otherwise point them back into the folder we cannot reach.
      await cp(native, temporary, { recursive: true, verbatimSymlinks: true });
      await chmod(temporary, 0o755);
      await rename(temporary, target).catch(async (error: unknown) => {
        if (!(await exists(target))) throw error;
      });
    } catch (error) {
      throw new Error(
        `The embedded PostgreSQL runs as the user "postgres" (PostgreSQL refuses root), who cannot enter ${block}, and copying its binaries to ${target} failed (${String(error)}). ` +
          `Set EMBEDDED_POSTGRES_FALLBACK_DIR to a writable folder that user can enter. ${ADVICE}`,
        { cause: error },
      );
    } finally {
      // Nothing to remove when the copy never began (its folder could not be made): keep the error above.
      await rm(temporary, { recursive: true, force: true }).catch(() => undefined);
    }
  }
  const copied = { initdb: path.join(target, 'bin', 'initdb'), pg_ctl: path.join(target, 'bin', 'pg_ctl') };
  const copyBlock = await firstUnenterable(runAs, copied.initdb);
  if (copyBlock) {
    throw new Error(
      `The embedded PostgreSQL runs as the user "postgres" (PostgreSQL refuses root), who cannot enter ${block}, nor run the copy of its binaries in ${target} (${copyBlock} cannot be entered or run). ` +
        `Set EMBEDDED_POSTGRES_FALLBACK_DIR to a folder that user can enter, on a filesystem not mounted noexec. ${ADVICE}`,
    );
  }
  return copied;
}

async function prepareClusterFolder(pgdata: string, runAs: RunAs): Promise<void> {
  const clusters = path.dirname(path.dirname(pgdata));
  try {
    await mkdirEnterable(clusters);
    // Handed to the server's user, mode 0700, on first start (as `dataDir` is when it is reachable).
    await mkdir(path.dirname(pgdata), { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } catch (error) {
    throw new Error(
      `Could not create ${path.dirname(pgdata)} for the embedded PostgreSQL's cluster (${String(error)}). ` +
        `Set EMBEDDED_POSTGRES_FALLBACK_DIR to a writable folder the user "postgres" can enter. ${ADVICE}`,
      { cause: error },
    );
  }
  const block = await firstUnenterable(runAs, clusters);
  if (block) {
    throw new Error(
      `The user "postgres", who runs the embedded PostgreSQL, cannot enter ${block}, so it cannot keep its cluster in ${clusters}. ` +
        `Set EMBEDDED_POSTGRES_FALLBACK_DIR to a folder that user can enter. ${ADVICE}`,
    );
  }
}

/** The same folder by any path gives the same key; another clone, another cluster. */
async function clusterKey(dataDir: string): Promise<string> {
  return createHash('sha256')
    .update(await realpath(dataDir))
    .digest('hex')
    .slice(0, 16);
}

async function packageVersion(native: string): Promise<string> {
  const manifest: unknown = JSON.parse(await readFile(path.join(native, '..', 'package.json'), 'utf8'));
  const version = typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : undefined;
  if (typeof version !== 'string' || !/^[\w.+-]+$/.test(version))
    throw new Error(`No usable version in ${path.join(native, '..', 'package.json')}`);
  return version;
}

/** `mkdir -p` whose new folders anyone may enter, whatever the umask: the server's user must pass through them. */
async function mkdirEnterable(folder: string): Promise<void> {
  const first = await mkdir(folder, { recursive: true });
  if (first === undefined) return;
  for (let created = path.resolve(folder); created.startsWith(first); created = path.dirname(created)) await chmod(created, 0o755);
}

const hasCluster = (pgdata: string) => exists(path.join(pgdata, 'PG_VERSION'));
const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );
