import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { InvalidInputError } from '../errors.ts';
import { ScanRepository } from './scan.repository.ts';
import { ScanHostRepository } from './scan-host.repository.ts';
import { ScanResultRepository } from './scan-result.repository.ts';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});

afterAll(() => app.dispose());

const create = (ports = '1-10') => app.context().services.scanCommands.create({ targets: ['127.0.0.1'], ports });

/** A scan whose results are stored and counted, as a worker leaves them: ports 1..`count`, the first `open` OPEN. */
async function withResults(count: number, open: number) {
  const scan = await create(`1-${count}`);
  const em = app.orm.em.fork();
  await new ScanHostRepository(em).record(scan.id, [{ address: '127.0.0.1', family: 4 }], new Date());
  await new ScanResultRepository(em).upsert(
    scan.id,
    Array.from({ length: count }, (_, n) => ({
      address: '127.0.0.1',
      port: n + 1,
      protocol: 'TCP' as const,
      state: n < open ? ('OPEN' as const) : ('CLOSED' as const),
    })),
    new Date(),
  );
  await new ScanRepository(em).recount(scan.id);
  return (await app.context().services.scans.get(scan.id))!;
}

describe('ScanQueries on PostgreSQL', () => {
  it('batches lookups by ID into one query per request', async () => {
    const queries: string[] = [];
    const counted = await createTestApp({}, { onQuery: (sql) => queries.push(sql) });
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await counted.context().services.scanCommands.create({ targets: ['127.0.0.1'] })).id);
      queries.length = 0;
      const service = counted.context().services.scans;
      const found = await Promise.all([...ids, '00000000-0000-4000-8000-000000000000'].map((id) => service.get(id)));
      expect(found.map((scan) => scan?.id ?? null)).toEqual([...ids, null]);
      expect(queries.filter((sql) => /^select/i.test(sql))).toHaveLength(1);
    } finally {
      await counted.dispose();
    }
  });

  it("shows an ANALYST its own scans only: another's is missing, in a list and by ID", async () => {
    const analyst = await app.seedUser('ANALYST');
    const own = await app.context(analyst).services.scanCommands.create({ targets: ['127.0.0.1'] });
    const others = await create();
    const reads = app.context(analyst).services.scans;
    expect(await reads.get(others.id)).toBeNull();
    expect((await reads.get(own.id))?.id).toBe(own.id);
    const listed = await reads.list({ first: 100 });
    expect(listed.edges.map((edge) => edge.node.id)).toEqual([own.id]);
    const viewer = await app.seedUser('VIEWER');
    expect((await app.context(viewer).services.scans.get(others.id))?.id).toBe(others.id);
  });

  it('pages results past the first page, which is batched, with the later pages read on their own', async () => {
    const scan = await withResults(5, 3);
    const reads = app.context().services.scans;
    const first = await reads.results({ scanId: scan.id }, { first: 2 });
    expect(first.edges.map((edge) => edge.node.port)).toEqual([1, 2]);
    expect(await first.totalCount()).toBe(5);
    const next = await reads.results({ scanId: scan.id }, { first: 10, after: first.pageInfo.endCursor });
    expect(next.edges.map((edge) => edge.node.port)).toEqual([3, 4, 5]);
    const open = await reads.results({ scanId: scan.id, address: '127.0.0.1' }, { filter: { state: ['OPEN'] } });
    expect(open.edges.map((edge) => edge.node.port)).toEqual([1, 2, 3]);
  });

  it('refuses a host filter that is not an address or network, naming it', async () => {
    const scan = await withResults(1, 0);
    const attempt = app.context().services.scans.hosts(scan.id, { filter: { address: 'not-an-address!' } });
    await expect(attempt).rejects.toThrow(InvalidInputError);
    await expect(attempt).rejects.toMatchObject({ field: 'filter.address' });
  });

  it("reads progress and summary from the scan's own row", async () => {
    const scan = await withResults(10, 4);
    const reads = app.context().services.scans;
    expect(reads.summary(scan)).toEqual({ open: 4, closed: 6, filtered: 0, total: 10 });
    // Never started, so no rate or time left can be told.
    expect(reads.progress(scan)).toMatchObject({ probesDone: 10, openPorts: 4, rate: 0, etaSeconds: null });
  });
});
