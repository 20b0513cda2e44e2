import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { Scope } from '../net/scope.ts';
import { FakeNetwork, fakeScanner, scriptedScanner } from './engine/fake-scanner.ts';
import { DEFAULT_SCAN_OPTIONS, type PortState, type ProbeResult, type Scanner } from './engine/scanner.ts';
import type { CreateScanInput } from './scan.commands.ts';
import { Scan } from './scan.entity.ts';
import { createScanJob } from './scan.jobs.ts';
import { progressEvent, progressView, summaryView } from './scan-progress.ts';
import { ScanResultRepository } from './scan-result.repository.ts';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});

afterAll(() => app.dispose());

const probe = (port: number, state: PortState = 'CLOSED'): ProbeResult => ({ address: '127.0.0.1', port, protocol: 'TCP', state });
const probes = (from: number, to: number, open: readonly number[] = []) =>
  Array.from({ length: to - from + 1 }, (_, n) => probe(from + n, open.includes(from + n) ? 'OPEN' : 'CLOSED'));

/** A job run as a worker runs it, with `scanner` as its only engine (CONNECT). */
function runJob(
  scanId: string,
  scanner: Scanner,
  { lastAttempt = true, signal = new AbortController().signal, resolve = app.resolve } = {},
) {
  const job = createScanJob({
    orm: app.orm,
    events: app.events,
    scope: Scope.fromCidrs(app.config.scans.allowedTargets),
    clock: app.clock,
    logger: app.logger,
    resolve,
    maxHosts: 256,
    scanners: { CONNECT: scanner },
  });
  return job({ scanId }, { attempt: 1, lastAttempt, signal });
}

/** A QUEUED scan, of 127.0.0.1 unless said otherwise, as `startScan` leaves one, without a job in the queue. */
async function queued(ports: string, input: Omit<CreateScanInput, 'ports'> = { targets: ['127.0.0.1'] }): Promise<string> {
  const scan = await app.context().services.scanCommands.create({ ...input, ports });
  const em = app.orm.em.fork();
  (await em.findOneOrFail(Scan, { id: scan.id })).queue(new Date());
  await em.flush();
  return scan.id;
}

/** What a client reads of the scan, and what is stored: these must agree. */
async function readBoth(scanId: string) {
  const em = app.orm.em.fork();
  const scan = await em.findOneOrFail(Scan, { id: scanId });
  const counts = await new ScanResultRepository(em).counts(scanId);
  return {
    progress: progressView(progressEvent(scan, new Date())),
    summary: summaryView(scan),
    stored: { open: counts.OPEN, closed: counts.CLOSED, filtered: counts.FILTERED, total: counts.OPEN + counts.CLOSED + counts.FILTERED },
    scan,
  };
}

async function expectAgreement(scanId: string) {
  const read = await readBoth(scanId);
  expect(read.summary).toEqual(read.stored);
  expect(read.progress.probesDone).toBe(read.stored.total);
  expect(read.progress.openPorts).toBe(read.stored.open);
  return read;
}

describe('a scan job keeps progress and stored results together', () => {
  it('counts each batch in the commit that stores it', async () => {
    const id = await queued('1-30');
    const seen: number[] = [];
    await runJob(
      id,
      scriptedScanner(async function* () {
        for (const batch of [probes(1, 10, [2]), probes(11, 20), probes(21, 30, [22, 23])]) {
          yield batch;
          seen.push((await expectAgreement(id)).progress.probesDone);
        }
      }),
    );
    expect(seen).toEqual([10, 20, 30]);
    const done = await expectAgreement(id);
    expect(done.scan.status).toBe('COMPLETED');
    expect(done.progress).toMatchObject({ probesTotal: 30, probesDone: 30, openPorts: 3, percent: 100, etaSeconds: 0 });
  });

  it('drops a batch the worker had ready when the scan was cancelled', async () => {
    const id = await queued('1-20');
    let cancelled: Scan | undefined;
    await runJob(
      id,
      scriptedScanner(async function* () {
        yield probes(1, 10, [5]);
        cancelled = await app.context().services.scanCommands.cancel(id);
        yield probes(11, 20, [15]);
      }),
    );
    const after = await expectAgreement(id);
    expect(after.scan.status).toBe('CANCELLED');
    expect(after.summary).toEqual({ open: 1, closed: 9, filtered: 0, total: 10 });
    expect(summaryView(cancelled!)).toEqual(after.summary);
  });

  it('cancels after the batch being written commits, and answers with its counts', async () => {
    const id = await queued('1-10');
    const em = app.orm.em.fork();
    const scan = await em.findOneOrFail(Scan, { id });
    scan.start(new Date(), 10);
    await em.flush();
    // A worker in the middle of writing a batch holds the scan's row.
    const worker = new pg.Client({ connectionString: app.config.databaseUrl });
    await worker.connect();
    try {
      await worker.query('begin');
      await worker.query('select 1 from scans where id = $1 for update', [id]);
      const cancel = app.context().services.scanCommands.cancel(id);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await worker.query(
        `insert into scan_results (scan_id, address, protocol, port, state, found_at) values ($1, '127.0.0.1', 'TCP', 1, 'OPEN', now()), ($1, '127.0.0.1', 'TCP', 2, 'CLOSED', now())`,
        [id],
      );
      await worker.query('update scans set probes_done = 2, open_ports = 1, closed_ports = 1, probes_estimate = 2 where id = $1', [id]);
      await worker.query('commit');
      const cancelled = await cancel;
      expect(cancelled.status).toBe('CANCELLED');
      expect(summaryView(cancelled)).toEqual({ open: 1, closed: 1, filtered: 0, total: 2 });
      expect(progressView(progressEvent(cancelled, new Date()))).toMatchObject({ probesDone: 2, openPorts: 1 });
      await expectAgreement(id);
    } finally {
      await worker.end();
    }
  });

  it('goes on from the stored counts on retry, moving a port that changed state', async () => {
    const id = await queued('1-20');
    await expect(
      runJob(
        id,
        scriptedScanner(async function* () {
          yield probes(1, 10, [3]);
          throw new Error('the worker lost its network');
        }),
        { lastAttempt: false },
      ),
    ).rejects.toThrow('the worker lost its network');
    expect((await expectAgreement(id)).scan).toMatchObject({ status: 'RUNNING', probesDone: 10, openPorts: 1 });

    const during: number[] = [];
    await runJob(
      id,
      scriptedScanner(async function* () {
        during.push((await expectAgreement(id)).progress.probesDone);
        // Port 3 closed since, port 4 opened: probed again, they move between the counts.
        yield probes(1, 10, [4]);
        during.push((await expectAgreement(id)).progress.probesDone);
        yield probes(11, 20, [12]);
      }),
    );
    expect(during).toEqual([10, 10]);
    const done = await expectAgreement(id);
    expect(done.scan.status).toBe('COMPLETED');
    expect(done.summary).toEqual({ open: 2, closed: 18, filtered: 0, total: 20 });
  });

  it('lets an engine estimate move the percent, never the counts', async () => {
    const id = await queued('1-1000');
    const percents: number[] = [];
    await runJob(
      id,
      scriptedScanner(async function* ({ onProgress }) {
        // Past the first progress event, so the estimate is written at once.
        await new Promise((resolve) => setTimeout(resolve, 150));
        onProgress(999);
        for (let waited = 0; (await readBoth(id)).scan.probesEstimate !== 999 && waited < 2_000; waited += 20) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const before = await expectAgreement(id);
        expect(before.progress.probesDone).toBe(0);
        percents.push(before.progress.percent);
        // nmap could say it is done before it hands the results over: still not 100.
        onProgress(1_000);
        yield probes(1, 999);
        percents.push((await expectAgreement(id)).progress.percent);
        yield probes(1_000, 1_000);
      }),
    );
    expect(percents).toEqual([99.9, 99.9]);
    expect((await expectAgreement(id)).progress).toMatchObject({ probesDone: 1_000, percent: 100 });
  });
});

/** Waits until `ready` holds, checking every 10 ms, for at most 5 s. */
async function until(ready: () => boolean | Promise<boolean>): Promise<void> {
  for (let waited = 0; !(await ready()); waited += 10) {
    if (waited > 5_000) throw new Error('not within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const statusOf = async (id: string) => (await app.orm.em.fork().findOneOrFail(Scan, { id })).status;

describe('a scan job drives its engine', () => {
  it("hands the engine the scan's hosts, its ports and its options over the engine's defaults", async () => {
    const id = await queued('1-3', { targets: ['127.0.0.1', '::1'], options: { timeoutMs: 300, concurrency: 7 } });
    const scanner = fakeScanner(new FakeNetwork());
    await runJob(id, scanner);
    expect(scanner.scans).toHaveLength(1);
    const [{ plan, options }] = scanner.scans as [(typeof scanner.scans)[0]];
    expect(plan.hosts.map((host) => [host.address, host.family])).toEqual([
      ['127.0.0.1', 4],
      ['::1', 6],
    ]);
    expect(plan.ports.toString()).toBe('1-3');
    expect(options).toEqual({ ...DEFAULT_SCAN_OPTIONS, timeoutMs: 300, concurrency: 7 });
    expect((await expectAgreement(id)).scan).toMatchObject({ status: 'COMPLETED', probesTotal: 6, probesDone: 6 });
  });

  it('marks a host that answered UP and, once complete, one that stayed silent DOWN', async () => {
    const id = await queued('1-3', { targets: ['127.0.0.1', '127.0.0.2'], options: { timeoutMs: 50, retries: 0 } });
    const network = new FakeNetwork();
    network.open('127.0.0.1', 2);
    for (const port of [1, 2, 3]) network.silent('127.0.0.2', port);
    await runJob(id, fakeScanner(network));
    const hosts = await app.context().services.scans.hosts(id, {});
    expect(hosts.edges.map(({ node }) => [node.address, node.state])).toEqual([
      ['127.0.0.1', 'UP'],
      ['127.0.0.2', 'DOWN'],
    ]);
    expect((await expectAgreement(id)).summary).toEqual({ open: 1, closed: 2, filtered: 3, total: 6 });
  });

  it('stops its engine within a poll of a cancel made by another process, storing nothing after it', async () => {
    // 2,000 probes at 1,000 a second, handed over in one batch: nothing comes for 2 s unless the job stops it.
    const id = await queued('1-2000', { targets: ['127.0.0.1'], options: { maxRate: 1_000 } });
    const scanner = fakeScanner(new FakeNetwork(), { batchSize: 2_000 });
    const running = runJob(id, scanner);
    await until(() => scanner.scans.length === 1);
    const cancelledAt = Date.now();
    await app.context().services.scanCommands.cancel(id);
    await running;
    expect(Date.now() - cancelledAt).toBeLessThan(1_000);
    expect(scanner.scans[0]?.signal?.aborted).toBe(true);
    expect((await expectAgreement(id)).scan).toMatchObject({ status: 'CANCELLED', probesDone: 0 });
  });

  it('leaves the scan RUNNING for a retry when its worker stops during it', async () => {
    const id = await queued('1-2000', { targets: ['127.0.0.1'], options: { maxRate: 1_000 } });
    const scanner = fakeScanner(new FakeNetwork(), { batchSize: 2_000 });
    const stopping = new AbortController();
    const running = runJob(id, scanner, { signal: stopping.signal });
    await until(() => scanner.scans.length === 1);
    stopping.abort();
    await expect(running).rejects.toThrow('worker stopped during the scan');
    expect(scanner.scans[0]?.signal?.aborted).toBe(true);
    expect(await statusOf(id)).toBe('RUNNING');
  });

  it('fails a scan of a type this worker has no engine for, saying so', async () => {
    const id = await queued('1', { targets: ['127.0.0.1'], scanType: 'SYN' });
    const scanner = fakeScanner(new FakeNetwork());
    await runJob(id, scanner);
    expect(scanner.scans).toHaveLength(0);
    expect((await readBoth(id)).scan).toMatchObject({ status: 'FAILED', error: 'This worker has no engine for SYN scans.' });
  });
});

describe('a scan cancelled while its worker resolves its targets', () => {
  it('stays cancelled: the worker sends nothing and stores nothing', async () => {
    const scanId = await queued('1-3', { targets: ['localhost'] });
    const network = new FakeNetwork();
    const engine = fakeScanner(network);
    // The cancel lands while the worker looks the name up, after it read the scan.
    await runJob(scanId, engine, {
      resolve: async () => {
        await app.context().services.scanCommands.cancel(scanId);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });
    const { scan, stored } = await readBoth(scanId);
    expect(scan.status).toBe('CANCELLED');
    expect(stored.total).toBe(0);
    expect(engine.scans).toHaveLength(0);
  });
});
