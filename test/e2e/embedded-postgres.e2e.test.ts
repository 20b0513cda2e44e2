import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portToListenOn } from '../helpers/ports.ts';
import { startServer } from '../helpers/server.ts';

/**
 * A newcomer's machine: no DATABASE_URL, so `npm start` runs its own PostgreSQL.
 * `fallbackDir` (EMBEDDED_POSTGRES_FALLBACK_DIR) is a temporary folder rather
 * than /var/lib/scanops, so what a root run moves there is removed with it.
 */
type Place = { cwd?: string; env: Record<string, string>; fallbackDir: string };

const isRoot = process.getuid?.() === 0;
const temporaries: string[] = [];

/** A temporary folder with `mode` (mkdtemp makes 0700 ones). */
async function temporary(prefix: string, mode = 0o755): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(folder, mode);
  temporaries.push(folder);
  return folder;
}

/** The settings of one place: a port of its own, and a fallback folder (0755, as the user `postgres` must enter it). */
async function fallbackPlace(env: Record<string, string>, cwd?: string): Promise<Place> {
  const fallbackDir = await temporary('scanops-fallback-');
  return {
    cwd,
    fallbackDir,
    env: { ...env, EMBEDDED_POSTGRES_PORT: String(await portToListenOn()), EMBEDDED_POSTGRES_FALLBACK_DIR: fallbackDir },
  };
}

afterAll(async () => {
  await Promise.all(temporaries.map((folder) => rm(folder, { recursive: true, force: true })));
});

/** PIDs of postgres processes whose command line names `folder` (their cluster or the folder it was moved to). */
async function postgresProcesses(folder: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('postgres') && cmdline.includes(folder)) pids.push(Number(entry));
  }
  return pids;
}

const CREATE = 'mutation { createScan(input: { targets: ["127.0.0.1"], ports: "5432" }) { scan { id } } }';
const COUNT = '{ scans(filter: { status: [PENDING] }) { totalCount } }';

/** What `npm start` must do wherever it is cloned. `marker` names the cluster's folder in a postgres command line. */
function lifecycleTests(place: () => Place & { marker: string }, firstStart: (output: string) => void = () => {}) {
  it('starts on first run, keeps data across restarts, and leaves no postgres behind', async () => {
    const { cwd, env, marker } = place();
    const first = await startServer({ databaseUrl: null, env, cwd });
    expect(first.output.join('\n')).toContain('embedded PostgreSQL started');
    firstStart(first.output.join('\n'));
    expect((await first.graphql(CREATE)).body.errors).toBeUndefined();
    expect(await first.stop()).toBe(0);
    expect(await postgresProcesses(marker)).toEqual([]);

    const second = await startServer({ databaseUrl: null, env, cwd });
    expect((await second.graphql<{ scans: { totalCount: number } }>(COUNT)).body.data?.scans.totalCount).toBe(1);
    expect(await second.stop()).toBe(0);
    expect(await postgresProcesses(marker)).toEqual([]);
  });

  it('adopts a server orphaned by kill -9 instead of failing on its lock', async () => {
    const { cwd, env, marker } = place();
    const crashed = await startServer({ databaseUrl: null, env, cwd });
    const [orphan] = await postgresProcesses(marker);
    expect(orphan).toBeDefined();
    // The API dies without cleanup; its PostgreSQL lives on.
    process.kill(crashed.pid, 'SIGKILL');
    expect(await crashed.stop()).toBeNull();
    expect(await postgresProcesses(marker)).toContain(orphan);

    const next = await startServer({ databaseUrl: null, env, cwd });
    expect(next.output.join('\n')).toContain('adopted an embedded PostgreSQL');
    expect((await next.graphql<{ scans: { totalCount: number } }>(COUNT)).body.data?.scans.totalCount).toBe(1);
    expect(await next.stop()).toBe(0);
    expect(await postgresProcesses(marker)).toEqual([]);
  });
}

describe('embedded PostgreSQL', () => {
  let place: Place & { marker: string };
  beforeAll(async () => {
    const dataDir = await temporary('scanops-embedded-', 0o700);
    place = { ...(await fallbackPlace({ DATA_DIR: dataDir })), marker: path.join(dataDir, 'postgres') };
  });
  lifecycleTests(() => place);
});

/**
 * `git clone … && npm ci && npm start` as root in /root: a copy of the project
 * in a 0700 folder, its node_modules hard-linked so the server's binaries
 * really live there, and the default DATA_DIR inside it.
 */
describe.skipIf(!isRoot)('embedded PostgreSQL as root in a clone inside a 0700 home (root only: skipped otherwise)', () => {
  let home: string;
  let clone: string;
  let place: Place & { marker: string };

  beforeAll(async () => {
    home = await temporary('scanops-home-', 0o700);
    clone = path.join(home, 'scanops');
    await mkdir(clone);
    for (const entry of ['package.json', 'src', 'schema']) await cp(entry, path.join(clone, entry), { recursive: true });
    // Hard links cost no copy; across filesystems, a real copy does the same job slower.
    await promisify(execFile)('cp', ['-al', 'node_modules', clone]).catch(() => promisify(execFile)('cp', ['-a', 'node_modules', clone]));
    const fallback = await fallbackPlace({}, clone);
    place = { ...fallback, marker: fallback.fallbackDir };
  });

  lifecycleTests(
    () => place,
    (output) => {
      expect(output).toContain(
        `the user \\"postgres\\" cannot enter ${home}, so the embedded PostgreSQL runs from ${place.fallbackDir}/postgres-`,
      );
      expect(output).toContain(`keeps its cluster in ${place.fallbackDir}/clusters/`);
    },
  );

  it('has kept, across the starts above, the password with the clone and the cluster in one folder of the fallback', async () => {
    await expect(stat(path.join(clone, '.data', 'postgres.password'))).resolves.toBeTruthy();
    await expect(stat(path.join(clone, '.data', 'postgres'))).rejects.toThrow('ENOENT');
    expect(await readdir(path.join(place.fallbackDir, 'clusters'))).toHaveLength(1);
  });

  it('says why and what to do when the fallback is out of reach too, instead of a bare EACCES', async () => {
    const env = {
      ...place.env,
      DATA_DIR: path.join(clone, '.data-unreachable'),
      EMBEDDED_POSTGRES_FALLBACK_DIR: path.join(home, 'fallback'),
    };
    const error: Error = await startServer({ databaseUrl: null, env, cwd: clone }).then(
      () => new Error('started'),
      (failure: Error) => failure,
    );
    expect(error.message).toContain(`runs as the user "postgres" (PostgreSQL refuses root), who cannot enter ${home}`);
    expect(error.message).toContain('Set EMBEDDED_POSTGRES_FALLBACK_DIR to a folder that user can enter');
    expect(error.message).toContain('Set DATABASE_URL to use another PostgreSQL server');
    expect(error.message).not.toContain('EACCES');
  });
});

describe('embedded PostgreSQL on a taken port', () => {
  it('fails to start naming the port and what to set', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      const { env } = await fallbackPlace({ DATA_DIR: await temporary('scanops-port-taken-', 0o700) });
      const start = startServer({ databaseUrl: null, env: { ...env, EMBEDDED_POSTGRES_PORT: String(port) } });
      await expect(start).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: another program uses that port`);
      await expect(start).rejects.toThrow('Set EMBEDDED_POSTGRES_PORT to a free port, or DATABASE_URL to use another PostgreSQL server.');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
