import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server.ts';
import { unusedPort } from '../helpers/ports.ts';

/** A newcomer's machine: no DATABASE_URL, so `npm start` runs its own PostgreSQL under DATA_DIR. */
let dataDir: string;
let env: Record<string, string>;


/** PIDs of postgres processes serving our data directory. */
async function postgresProcesses(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('postgres') && cmdline.includes(path.join(dataDir, 'postgres'))) pids.push(Number(entry));
  }
  return pids;
}

const CREATE = 'mutation { createScan(input: { targets: ["127.0.0.1"], ports: "5432" }) { scan { id } } }';
const COUNT = '{ scans(filter: { status: [PENDING] }) { totalCount } }';

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'scanops-embedded-'));
  env = { DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await unusedPort()) };
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded PostgreSQL', () => {
  it('starts on first run, keeps data across restarts, and leaves no postgres behind', async () => {
    const first = await startServer({ databaseUrl: null, env });
    expect(first.output.join('\n')).toContain('embedded PostgreSQL started');
    expect((await first.graphql(CREATE)).body.errors).toBeUndefined();
    expect(await first.stop()).toBe(0);
    expect(await postgresProcesses()).toEqual([]);

    const second = await startServer({ databaseUrl: null, env });
    expect((await second.graphql<{ scans: { totalCount: number } }>(COUNT)).body.data?.scans.totalCount).toBe(1);
    expect(await second.stop()).toBe(0);
    expect(await postgresProcesses()).toEqual([]);
  });

  it('adopts a server orphaned by kill -9 instead of failing on its lock', async () => {
    const crashed = await startServer({ databaseUrl: null, env });
    const [orphan] = await postgresProcesses();
    expect(orphan).toBeDefined();
    // The API dies without cleanup; its PostgreSQL lives on.
    process.kill(crashed.pid, 'SIGKILL');
    expect(await crashed.stop()).toBeNull();
    expect(await postgresProcesses()).toContain(orphan);

    const next = await startServer({ databaseUrl: null, env });
    expect(next.output.join('\n')).toContain('adopted an embedded PostgreSQL');
    expect((await next.graphql<{ scans: { totalCount: number } }>(COUNT)).body.data?.scans.totalCount).toBe(1);
    expect(await next.stop()).toBe(0);
    expect(await postgresProcesses()).toEqual([]);
  });
});

describe('embedded PostgreSQL on a taken port', () => {
  it('fails to start naming the port and what to set', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      const start = startServer({ databaseUrl: null, env: { DATA_DIR: path.join(dataDir, 'port-taken'), EMBEDDED_POSTGRES_PORT: String(port) } });
      await expect(start).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: another program uses that port`);
      await expect(start).rejects.toThrow('Set EMBEDDED_POSTGRES_PORT to a free port, or DATABASE_URL to use another PostgreSQL server.');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
