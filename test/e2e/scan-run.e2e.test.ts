import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { unusedPort } from '../helpers/ports.ts';
import { redisSuite, type TestRedis, useRedis } from '../helpers/redis.ts';
import { allStarted, type ServerProcess, startServer, startWorkerProcess, subscribe, type WorkerProcess } from '../helpers/server.ts';
import { hasPython, silentPort } from '../helpers/silent-port.ts';

const listeners: Server[] = [];

async function listen(): Promise<number> {
  const server = createServer((socket) => socket.on('error', () => {}).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  listeners.push(server);
  return (server.address() as { port: number }).port;
}

type Scan = {
  id: string;
  status: string;
  error: string | null;
  progress: { probesTotal: number; probesDone: number; percent: number; openPorts: number };
};
const SCAN = 'id status error progress { probesTotal probesDone percent openPorts }';

async function create(server: ServerProcess, input: Record<string, unknown>): Promise<Scan> {
  const { body } = await server.graphql<{ createScan: { scan: Scan } }>(
    `mutation($input: CreateScanInput!) { createScan(input: $input) { scan { ${SCAN} } } }`,
    { input },
  );
  expect(body.errors).toBeUndefined();
  return body.data!.createScan.scan;
}

async function read(server: ServerProcess, id: string): Promise<Scan> {
  const { body } = await server.graphql<{ scan: Scan }>(`query($id: ID!) { scan(id: $id) { ${SCAN} } }`, { id });
  return body.data!.scan;
}

/** Polls as a dashboard would, until the scan reaches `status`. */
async function until(server: ServerProcess, id: string, status: string, timeoutMs = 20_000): Promise<Scan> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const scan = await read(server, id);
    if (scan.status === status) return scan;
    if (Date.now() > deadline) throw new Error(`scan stayed ${scan.status} (${scan.error ?? ''}), wanted ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type Told = {
  status: string;
  startedAt: string | null;
  finishedAt: string | null;
  progress: { probesTotal: number; probesDone: number; percent: number; openPorts: number; rate: number; etaSeconds: number | null };
  summary: { open: number; closed: number; filtered: number; total: number };
};
const TOLD =
  'status startedAt finishedAt progress { probesTotal probesDone percent openPorts rate etaSeconds } summary { open closed filtered total }';

/** Progress and stored results, read in one query, tell the same story. */
function expectTruthful(scan: Told): Told {
  const { progress, summary } = scan;
  const why = JSON.stringify(scan);
  expect(progress.probesDone, why).toBe(summary.open + summary.closed + summary.filtered);
  expect(summary.total, why).toBe(progress.probesDone);
  expect(progress.openPorts, why).toBe(summary.open);
  const { probesDone: done, probesTotal: total } = progress;
  expect(progress.percent, why).toBe(total === 0 ? 0 : done === total ? 100 : Math.floor((done * 1_000) / total) / 10);
  return scan;
}

async function tell(server: ServerProcess, id: string): Promise<Told> {
  const { body } = await server.graphql<{ scan: Told }>(`query($id: ID!) { scan(id: $id) { ${TOLD} } }`, { id });
  expect(body.errors).toBeUndefined();
  return expectTruthful(body.data!.scan);
}

/** Reads as a busy dashboard would, checking every read, until `enough`. */
async function watch(server: ServerProcess, id: string, enough: (scan: Told) => boolean, timeoutMs = 30_000): Promise<Told[]> {
  const deadline = Date.now() + timeoutMs;
  const reads: Told[] = [];
  for (;;) {
    const scan = await tell(server, id);
    reads.push(scan);
    if (enough(scan)) return reads;
    if (Date.now() > deadline) throw new Error(`gave up watching: ${JSON.stringify(scan)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const LIFE = ['PENDING', 'QUEUED', 'RUNNING', 'COMPLETED'];

type ScanEvent = {
  __typename: string;
  scanId: string;
  at: string;
  result?: { address: string; port: number; state: string; service: string | null };
  host?: { address: string; hostname: string | null; state: string };
  status?: string;
  scan?: { id: string; status: string };
};
const EVENTS = `subscription($id: ID!) { scanEvents(scanId: $id) {
  __typename scanId at
  ... on PortFound { result { address port state service } }
  ... on HostStateChanged { host { address hostname state } }
  ... on ScanStatusChanged { status error scan { id status } }
} }`;

/**
 * Each event carries the scan as committed when it is read, so a quick
 * transition can show the next state twice; the order never goes back.
 */
/** Every transition once and in order, each event carrying its own status (PENDING only when subscribed before the creation). */
function expectLifecycle(statuses: string[]): void {
  expect(statuses).toEqual(statuses[0] === 'PENDING' ? LIFE : LIFE.slice(1));
}

async function mutate(server: ServerProcess, name: 'startScan' | 'cancelScan', id: string) {
  return server.graphql<Record<string, { scan: Scan }>>(`mutation($id: ID!) { ${name}(input: { id: $id }) { scan { ${SCAN} } } }`, { id });
}

afterAll(async () => {
  await Promise.all(listeners.map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('running scans through the single-node server', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it('runs a scan to completion and lists exactly the open ports', async () => {
    const open = [await listen(), await listen()];
    const closed = await unusedPort();
    const updates = subscribe<{ scanUpdated: { id: string; status: string } }>(
      server.wsClient(),
      'subscription { scanUpdated { id status } }',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    const created = await create(server, { targets: ['127.0.0.1'], ports: [...open, closed].join(','), start: true });
    expect(created.status).toBe('QUEUED');
    const done = await until(server, created.id, 'COMPLETED');
    expect(done.progress).toEqual({ probesTotal: 3, probesDone: 3, percent: 100, openPorts: 2 });

    const { body } = await server.graphql<{
      scan: { results: { totalCount: number; nodes: { address: string; port: number; protocol: string; state: string }[] } };
    }>(
      `query($id: ID!) { scan(id: $id) { results(first: 10, filter: { state: [OPEN] }) { totalCount nodes { address port protocol state } } } }`,
      { id: created.id },
    );
    expect(body.data?.scan.results.totalCount).toBe(2);
    expect(body.data?.scan.results.nodes.map((r) => r.port).sort((a, b) => a - b)).toEqual([...open].sort((a, b) => a - b));
    expect(body.data?.scan.results.nodes.every((r) => r.address === '127.0.0.1' && r.protocol === 'TCP')).toBe(true);

    const all = await server.graphql<{ scan: { results: { totalCount: number } } }>(
      'query($id: ID!) { scan(id: $id) { results { totalCount } } }',
      { id: created.id },
    );
    expect(all.body.data?.scan.results.totalCount).toBe(3);

    await updates.next(4);
    expectLifecycle(updates.results.filter((u) => u.scanUpdated.id === created.id).map((u) => u.scanUpdated.status));
    updates.dispose();
  });

  it('cancels a running scan, after which it refuses to start or cancel again', async () => {
    const created = await create(server, { targets: ['127.0.0.1'], ports: '1-20000', options: { maxRate: 200 } });
    const started = await mutate(server, 'startScan', created.id);
    expect(started.body.data?.startScan?.scan.status).toBe('QUEUED');
    await until(server, created.id, 'RUNNING');

    const cancelled = await mutate(server, 'cancelScan', created.id);
    expect(cancelled.body.data?.cancelScan?.scan.status).toBe('CANCELLED');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const settled = await read(server, created.id);
    await new Promise((resolve) => setTimeout(resolve, 700));
    // The worker stopped: no probe is counted after the cancellation settled.
    expect((await read(server, created.id)).progress.probesDone).toBe(settled.progress.probesDone);
    expect(settled.progress.probesDone).toBeLessThan(20_000);

    for (const name of ['startScan', 'cancelScan'] as const) {
      const again = await mutate(server, name, created.id);
      expect(again.body.errors?.[0]?.extensions?.code, name).toBe('CONFLICT');
    }
    expect((await read(server, created.id)).status).toBe('CANCELLED');
  });

  it('reads progress that agrees with the stored results while running and once done, and a rate that stays put', async () => {
    const open = [await listen(), await listen()];
    const created = await create(server, {
      targets: ['127.0.0.1'],
      ports: `${open.join(',')},1-3000`,
      options: { maxRate: 1_500 },
      start: true,
    });
    const reads = await watch(server, created.id, (scan) => scan.status === 'COMPLETED');
    // Read mid-run, not only at the ends (a RUNNING scan may read 100 between its last batch and its finish).
    const midway = reads.filter((scan) => scan.status === 'RUNNING' && scan.progress.probesDone > 0 && scan.progress.probesDone < 3_002);
    expect(midway.length).toBeGreaterThanOrEqual(3);
    const done = reads.at(-1)!;
    expect(done.progress).toMatchObject({ probesTotal: 3_002, probesDone: 3_002, percent: 100, etaSeconds: 0 });
    expect(done.progress.openPorts).toBeGreaterThanOrEqual(2);

    // An ended scan's rate is that of its run, not of the time since it started.
    const ran = (Date.parse(done.finishedAt!) - Date.parse(done.startedAt!)) / 1_000;
    expect(done.progress.rate).toBe(Math.round((3_002 / ran) * 10) / 10);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await tell(server, created.id)).toEqual(done);
  });

  it('reads progress that agrees with the stored results around a cancel', async () => {
    const created = await create(server, { targets: ['127.0.0.1'], ports: '1-20000', options: { maxRate: 2_000 }, start: true });
    await watch(server, created.id, (scan) => scan.progress.probesDone >= 1_000);
    const { body } = await server.graphql<{ cancelScan: { scan: Told } }>(
      `mutation($id: ID!) { cancelScan(input: { id: $id }) { scan { ${TOLD} } } }`,
      { id: created.id },
    );
    expect(body.errors).toBeUndefined();
    const cancelled = expectTruthful(body.data!.cancelScan.scan);
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.progress.probesDone).toBeLessThan(20_000);
    // The batch a worker had on its way when the cancel came is not stored: what the cancel said stays true.
    const soon = await tell(server, created.id);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await tell(server, created.id)).toEqual(soon);
    expect(soon).toEqual(cancelled);
  });

  it("streams a scan's progress over graphql-ws from its current state to the end", async () => {
    const open = await listen();
    const created = await create(server, { targets: ['127.0.0.1'], ports: `${open},1-3000`, options: { maxRate: 3_000 } });
    const progress = subscribe<{
      scanProgress: {
        probesTotal: number;
        probesDone: number;
        percent: number;
        openPorts: number;
        rate: number;
        etaSeconds: number | null;
      };
    }>(
      server.wsClient(),
      'subscription($id: ID!) { scanProgress(scanId: $id) { probesTotal probesDone percent openPorts rate etaSeconds } }',
      { id: created.id },
    );
    const [first] = await progress.next(1);
    expect(first?.scanProgress).toEqual({ probesTotal: 0, probesDone: 0, percent: 0, openPorts: 0, rate: 0, etaSeconds: null });
    await mutate(server, 'startScan', created.id);
    await progress.completed;
    const updates = progress.results.map((r) => r.scanProgress);
    // About a second of probing at ~10 updates a second, not one per batch or per probe.
    expect(updates.length).toBeGreaterThan(3);
    expect(updates.length).toBeLessThan(40);
    const done = updates.map((u) => u.probesDone);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(updates.at(-1)).toMatchObject({ probesTotal: 3_001, probesDone: 3_001, percent: 100, etaSeconds: 0 });
    expect(updates.at(-1)!.openPorts).toBeGreaterThanOrEqual(1);
    expect(updates.at(-1)!.rate).toBeGreaterThan(0);

    // A late subscriber gets the final state and the end at once.
    const late = subscribe<{ scanProgress: { percent: number } }>(
      server.wsClient(),
      'subscription($id: ID!) { scanProgress(scanId: $id) { percent } }',
      { id: created.id },
    );
    await late.completed;
    expect(late.results).toEqual([{ scanProgress: { percent: 100 } }]);

    const unknown = subscribe(server.wsClient(), 'subscription($id: ID!) { scanProgress(scanId: $id) { percent } }', {
      id: Buffer.from('Scan:00000000-0000-4000-8000-000000000000').toString('base64url'),
    });
    await expect(unknown.next(1, 5_000)).rejects.toThrow(/NOT_FOUND/);
  });

  it('streams PortFound, HostStateChanged and status events, each once, and replays them to a late subscriber', async () => {
    const open = [await listen(), await listen()].sort((a, b) => a - b);
    const closed = await unusedPort();
    const created = await create(server, { targets: ['localhost'], ports: `${open.join(',')},${closed}` });
    const events = subscribe<{ scanEvents: ScanEvent }>(server.wsClient(), EVENTS, { id: created.id });
    const [first] = await events.next(1);
    expect(first?.scanEvents).toMatchObject({
      __typename: 'ScanStatusChanged',
      scanId: created.id,
      status: 'PENDING',
      scan: { id: created.id },
    });
    await mutate(server, 'startScan', created.id);
    await events.completed;
    const live = events.results.map((r) => r.scanEvents);
    expect(live.filter((e) => e.__typename === 'ScanStatusChanged').map((e) => e.status)).toEqual([
      'PENDING',
      'QUEUED',
      'RUNNING',
      'COMPLETED',
    ]);
    expect(live.at(-1)).toMatchObject({ status: 'COMPLETED', scan: { status: 'COMPLETED' } });
    expect(live.filter((e) => e.__typename === 'HostStateChanged').map((e) => e.host)).toEqual([
      { address: '127.0.0.1', hostname: 'localhost', state: 'UP' },
    ]);
    const found = live.filter((e) => e.__typename === 'PortFound').map((e) => e.result!);
    expect(found.map((r) => r.port).sort((a, b) => a - b)).toEqual(open);
    expect(found.every((r) => r.state === 'OPEN' && r.address === '127.0.0.1')).toBe(true);

    // Subscribing after the end replays the same news, the ended status last, then completes.
    const late = subscribe<{ scanEvents: ScanEvent }>(server.wsClient(), EVENTS, { id: created.id });
    await late.completed;
    const replayed = late.results.map((r) => r.scanEvents);
    expect(replayed.map((e) => e.__typename)).toEqual(['HostStateChanged', 'PortFound', 'PortFound', 'ScanStatusChanged']);
    expect(
      replayed
        .filter((e) => e.result)
        .map((e) => e.result!.port)
        .sort((a, b) => a - b),
    ).toEqual(open);
    expect(replayed.at(-1)).toMatchObject({ status: 'COMPLETED' });

    const { body } = await server.graphql<{
      scan: {
        hosts: {
          totalCount: number;
          nodes: { address: string; hostname: string; state: string; results: { totalCount: number; nodes: { port: number }[] } }[];
        };
      };
    }>(
      `query($id: ID!) { scan(id: $id) { hosts(first: 10) { totalCount nodes { address hostname state results(filter: { state: [OPEN] }) { totalCount nodes { port } } } } } }`,
      { id: created.id },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data?.scan.hosts.totalCount).toBe(1);
    expect(body.data?.scan.hosts.nodes[0]).toMatchObject({
      address: '127.0.0.1',
      hostname: 'localhost',
      state: 'UP',
      results: { totalCount: 2 },
    });
  });

  it.skipIf(!hasPython && !process.env.CI)('marks a host that never answered DOWN once the scan completes', async () => {
    const silent = await silentPort('127.0.0.3');
    try {
      const created = await create(server, {
        targets: ['127.0.0.3'],
        ports: String(silent.port),
        options: { timeoutMs: 200, retries: 0 },
        start: true,
      });
      await until(server, created.id, 'COMPLETED');
      const { body } = await server.graphql<{
        scan: {
          up: { totalCount: number };
          down: { nodes: { address: string; state: string }[] };
          results: { nodes: { state: string }[] };
        };
      }>(
        `query($id: ID!) { scan(id: $id) { up: hosts(filter: { state: [UP] }) { totalCount } down: hosts(filter: { address: "127.0.0.0/24", state: [DOWN] }) { nodes { address state } } results { nodes { state } } } }`,
        { id: created.id },
      );
      expect(body.data?.scan).toEqual({
        up: { totalCount: 0 },
        down: { nodes: [{ address: '127.0.0.3', state: 'DOWN' }] },
        results: { nodes: [{ state: 'FILTERED' }] },
      });
    } finally {
      silent.close();
    }
  });

  it('guesses the service of a port from the well-known ports', async () => {
    const created = await create(server, { targets: ['127.0.0.1'], ports: '1,22,443', start: true });
    await until(server, created.id, 'COMPLETED');
    const { body } = await server.graphql<{ scan: { results: { nodes: { port: number; service: string | null }[] } } }>(
      'query($id: ID!) { scan(id: $id) { results { nodes { port service } } } }',
      { id: created.id },
    );
    // Port 1 (tcpmux) is not in the table: no guess rather than a wrong one.
    expect(body.data?.scan.results.nodes.sort((a, b) => a.port - b.port)).toEqual([
      { port: 1, service: null },
      { port: 22, service: 'ssh' },
      { port: 443, service: 'https' },
    ]);
  });

  it('refuses bad options and unknown scans', async () => {
    const { body } = await server.graphql(
      'mutation { createScan(input: { targets: ["127.0.0.1"], options: { concurrency: 0 } }) { scan { id } } }',
    );
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'options.concurrency' });
    const unknown = await mutate(server, 'startScan', Buffer.from('Scan:00000000-0000-4000-8000-000000000000').toString('base64url'));
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

const hasNmap = spawnSync('nmap', ['-V']).status === 0;

describe.skipIf(!hasNmap && !process.env.CI)('nmap scans through the server', () => {
  let server: ServerProcess;
  let withoutNmap: ServerProcess;

  beforeAll(async () => {
    [server, withoutNmap] = await Promise.all([startServer(), startServer({ env: { NMAP_PATH: '/nonexistent/nmap' } })]);
  });

  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
    expect(await withoutNmap?.stop()).toBe(0);
  });

  it('runs a VERSION scan with nmap and streams what it identified', async () => {
    const ssh = createServer((socket) => socket.on('error', () => {}).write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'));
    await new Promise<void>((resolve) => ssh.listen(0, '127.0.0.1', resolve));
    listeners.push(ssh);
    const port = (ssh.address() as { port: number }).port;
    const closed = await unusedPort();
    const created = await create(server, { targets: ['127.0.0.1'], ports: `${port},${closed}`, scanType: 'VERSION' });
    const events = subscribe<{ scanEvents: ScanEvent & { result?: { version?: string } } }>(
      server.wsClient(),
      EVENTS.replace('service }', 'service version }'),
      { id: created.id },
    );
    await events.next(1);
    await mutate(server, 'startScan', created.id);
    await events.completed;
    const found = events.results.map((r) => r.scanEvents).filter((e) => e.__typename === 'PortFound');
    expect(found).toHaveLength(1);
    expect(found[0]?.result).toMatchObject({ port, state: 'OPEN', service: 'ssh', version: expect.stringContaining('OpenSSH 9.2p1') });
    const done = await read(server, created.id);
    expect(done).toMatchObject({ status: 'COMPLETED', progress: { probesTotal: 2, probesDone: 2, openPorts: 1 } });
  });

  it('fails a scan clearly, without retrying, when the worker has no nmap', async () => {
    const created = await create(withoutNmap, { targets: ['127.0.0.1'], ports: '80', scanType: 'SYN', start: true });
    const failed = await until(withoutNmap, created.id, 'FAILED');
    expect(failed.error).toMatch(/^nmap is not installed on this worker \(looked for "\/nonexistent\/nmap"\); SYN scans need it/);
  });
});

const separateWorker = redisSuite('a separate worker process');

describe.skipIf(separateWorker.skipped)(separateWorker.title, () => {
  let database: TestDatabase;
  let api: ServerProcess;
  let otherApi: ServerProcess;
  let worker: WorkerProcess;
  let redis: TestRedis;

  beforeAll(async () => {
    await allStarted(
      createTestDatabase().then((d) => (database = d)),
      useRedis().then((r) => (redis = r)),
    );
    const env = { REDIS_URL: redis.url };
    await allStarted(
      startServer({ databaseUrl: database.url, env: { RUN_WORKER: 'false', ...env } }).then((s) => (api = s)),
      startServer({ databaseUrl: database.url, env: { RUN_WORKER: 'false', ...env } }).then((s) => (otherApi = s)),
      startWorkerProcess(database.url, env).then((w) => (worker = w)),
    );
  });

  afterAll(async () => {
    const codes = [await worker?.stop(), await api?.stop(), await otherApi?.stop()];
    await Promise.all([database?.drop(), redis?.stop()]);
    expect(codes).toEqual([0, 0, 0]);
  });

  it('runs the scan one API queued, and its events reach subscribers of both APIs over Redis', async () => {
    const port = await listen();
    const updates = subscribe<{ scanUpdated: { id: string; status: string } }>(
      api.wsClient(),
      'subscription { scanUpdated { id status } }',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const created = await create(api, { targets: ['127.0.0.1'], ports: String(port) });
    const events = subscribe<{ scanEvents: ScanEvent }>(otherApi.wsClient(), EVENTS, { id: created.id });
    await events.next(1);
    await mutate(api, 'startScan', created.id);
    const done = await until(api, created.id, 'COMPLETED');
    expect(done.progress.openPorts).toBe(1);
    await updates.next(4);
    expectLifecycle(updates.results.map((u) => u.scanUpdated.status));
    updates.dispose();

    // The other API process heard the worker's events too.
    await events.completed;
    const heard = events.results.map((r) => r.scanEvents);
    expect(heard.filter((e) => e.__typename === 'PortFound').map((e) => e.result?.port)).toEqual([port]);
    expect(heard.filter((e) => e.__typename === 'ScanStatusChanged').map((e) => e.status)).toEqual([
      'PENDING',
      'QUEUED',
      'RUNNING',
      'COMPLETED',
    ]);
  });
});

describe('a worker killed mid-scan', () => {
  let database: TestDatabase;
  let api: ServerProcess;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startServer({ databaseUrl: database.url, env: { RUN_WORKER: 'false' } });
    workers.push(await startWorkerProcess(database.url));
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    expect(await api?.stop()).toBe(0);
    await database?.drop();
  });

  it('does not lose the scan: another worker retries it to exactly the right results', { timeout: 90_000 }, async () => {
    const open = [await listen(), await listen()];
    const ports = `${open.join(',')},1-20000`;
    const created = await create(api, { targets: ['127.0.0.1'], ports, options: { maxRate: 2_000 }, start: true });
    await until(api, created.id, 'RUNNING');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const [first] = workers;
    process.kill(first!.pid, 'SIGKILL');
    expect(await first!.stop()).toBeNull();
    expect((await read(api, created.id)).status).toBe('RUNNING');

    const before = await tell(api, created.id);
    expect(before.progress.probesDone).toBeGreaterThan(0);

    workers.push(await startWorkerProcess(database.url));
    // The retry probes everything again; what the first attempt stored stays counted.
    const reads = await watch(api, created.id, (scan) => scan.status === 'COMPLETED', 75_000);
    expect(Math.min(...reads.map((scan) => scan.progress.probesDone))).toBeGreaterThanOrEqual(before.progress.probesDone);
    const done = await read(api, created.id);
    expect(done.progress).toMatchObject({ probesTotal: 20_002, probesDone: 20_002 });
    const { body } = await api.graphql<{ scan: { all: { totalCount: number }; open: { totalCount: number; nodes: { port: number }[] } } }>(
      `query($id: ID!) { scan(id: $id) { all: results { totalCount } open: results(first: 100, filter: { state: [OPEN] }) { totalCount nodes { port } } } }`,
      { id: created.id },
    );
    // One row per probe: the retry rewrote what the dead worker had saved, duplicating nothing.
    expect(body.data?.scan.all.totalCount).toBe(20_002);
    // This is the host's loopback, where the machine's own services listen too (the exact
    // set is checked in a private namespace by the engine's full-range test).
    const found = body.data?.scan.open.nodes.map((r) => r.port) ?? [];
    expect(found).toEqual(expect.arrayContaining(open));
    expect(done.progress.openPorts).toBe(body.data?.scan.open.totalCount);
  });
});

describe('a scan whose retries are exhausted', () => {
  let database: TestDatabase;
  let api: ServerProcess;
  const workers: WorkerProcess[] = [];
  const noRetries = { SCAN_JOB_RETRIES: '0' };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startServer({ databaseUrl: database.url, env: { RUN_WORKER: 'false', ...noRetries } });
    workers.push(await startWorkerProcess(database.url, noRetries));
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    expect(await api?.stop()).toBe(0);
    await database?.drop();
  });

  it('ends FAILED with the reason once the worker of its last attempt died', { timeout: 60_000 }, async () => {
    const created = await create(api, { targets: ['127.0.0.1'], ports: '1-20000', options: { maxRate: 1_000 }, start: true });
    await until(api, created.id, 'RUNNING');
    const [first] = workers;
    process.kill(first!.pid, 'SIGKILL');
    expect(await first!.stop()).toBeNull();

    // No retry is left: once the queue notices the silence, a worker ends the scan.
    workers.push(await startWorkerProcess(database.url, noRetries));
    const failed = await until(api, created.id, 'FAILED', 45_000);
    expect(failed.error).toBe('Gave up after 1 attempt: its worker stopped responding.');
    expect(failed.progress.probesDone).toBeLessThan(20_000);
  });
});
