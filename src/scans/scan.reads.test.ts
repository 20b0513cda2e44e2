import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import type { Scan } from './scan.entity.ts';
import { Scan as ScanEntity } from './scan.entity.ts';
import type { ScanView } from './scan.view.ts';
import { scanView } from './scan.view.ts';
import { ScanHost } from './scan-host.entity.ts';
import { ScanHostRepository } from './scan-host.repository.ts';
import { progressEvent, progressView, summaryView } from './scan-progress.ts';
import { ScanResult } from './scan-result.entity.ts';
import { ScanResultRepository } from './scan-result.repository.ts';

/**
 * The differential test of the read views: what the plain-row reads give is
 * exactly what the entities, read through MikroORM, give, field by field,
 * for scans in every order and page, their results, hosts, summary and progress.
 */
let app: TestApp;
const ids: string[] = [];

beforeAll(async () => {
  app = await createTestApp();
  const commands = app.context().services.scanCommands;
  const analyst = await app.seedUser('ANALYST');
  // Scans of several shapes: hostnames and networks, two owners, several states, one with an error, results in all states.
  const shapes = [
    { targets: ['127.0.0.1'], ports: '22,80,443' },
    { targets: ['127.0.0.0/30', 'localhost'], ports: '1-5,8000-8010', scanType: 'CONNECT' as const },
    { targets: ['::1'], ports: '7' },
  ];
  for (let n = 0; n < 9; n++) {
    const by = n % 2 === 0 ? commands : app.context(analyst).services.scanCommands;
    const scan = await by.create(shapes[n % shapes.length]!);
    ids.push(scan.id);
  }
  const em = app.orm.em.fork();
  const now = new Date();
  for (const [n, id] of ids.entries()) {
    if (n % 3 === 2) continue;
    await new ScanHostRepository(em).record(
      id,
      [
        { address: '127.0.0.1', family: 4 },
        { address: '127.0.0.2', family: 4, hostname: 'localhost' },
      ],
      now,
    );
    await new ScanHostRepository(em).markUp(id, ['127.0.0.2'], now);
    await new ScanResultRepository(em).upsert(
      id,
      Array.from({ length: 12 }, (_, port) => ({
        address: port % 2 ? '127.0.0.1' : '127.0.0.2',
        port: port + 1,
        protocol: port % 5 === 0 ? ('UDP' as const) : ('TCP' as const),
        state: (['OPEN', 'CLOSED', 'FILTERED'] as const)[port % 3]!,
        ...(port === 3 ? { banner: 'SSH-2.0-OpenSSH_9.2' } : {}),
        ...(port === 4 ? { service: 'http', version: 'nginx 1.22' } : {}),
      })),
      now,
    );
  }
  // Counts and states as a worker leaves them: recounted, one running, one failed with a reason.
  for (const id of ids)
    await em.execute(
      `update scans s set (probes_done, open_ports, closed_ports, filtered_ports, probes_estimate) =
    (select count(*), count(*) filter (where state = 'OPEN'), count(*) filter (where state = 'CLOSED'), count(*) filter (where state = 'FILTERED'), count(*) + 3
     from scan_results where scan_id = s.id), probes_total = 40 where id = ?`,
      [id],
    );
  await em.execute(`update scans set status = 'RUNNING', started_at = now() - interval '2 seconds', updated_at = now() where id = ?`, [
    ids[1],
  ]);
  await em.execute(
    `update scans set status = 'FAILED', started_at = now() - interval '5 seconds', finished_at = now(), error = 'gave up', updated_at = now() where id = ?`,
    [ids[4]],
  );
});

afterAll(() => app.dispose());

const entities = async (order: { createdAt?: 'asc' | 'desc'; updatedAt?: 'asc' | 'desc'; id: 'asc' | 'desc' }, where = {}) =>
  (await app.orm.em.fork().find(ScanEntity, { id: { $in: ids }, ...where }, { orderBy: order })).map(scanView);

/** Every page of `list`, `size` at a time, through the API's reads. */
async function allPages(size: number, orderBy: { field: 'createdAt' | 'updatedAt'; direction: 'ASC' | 'DESC' }, filter = {}) {
  const views: ScanView[] = [];
  for (let after: string | null = null; ; ) {
    const page = await app.context().services.scans.list({ first: size, after, orderBy, filter });
    views.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage) return views.filter((view) => ids.includes(view.id));
    after = page.pageInfo.endCursor;
  }
}

describe('read views against the entities', () => {
  it('pages of scans, in each order and direction, field by field', async () => {
    for (const field of ['createdAt', 'updatedAt'] as const) {
      for (const direction of ['ASC', 'DESC'] as const) {
        const sort = direction === 'ASC' ? 'asc' : 'desc';
        const expected = await entities({ [field]: sort, id: sort });
        expect(await allPages(4, { field, direction })).toEqual(expected);
      }
    }
    expect(await allPages(2, { field: 'createdAt', direction: 'DESC' }, { status: ['RUNNING', 'FAILED'] })).toEqual(
      await entities({ createdAt: 'desc', id: 'desc' }, { status: { $in: ['RUNNING', 'FAILED'] } }),
    );
  });

  it('scans by id, and an analyst sees only their own, as before', async () => {
    const service = app.context().services.scans;
    const byId = await Promise.all(ids.map((id) => service.get(id)));
    expect(byId).toEqual(await Promise.all(ids.map(async (id) => scanView((await app.orm.em.fork().findOne(ScanEntity, { id })) as Scan))));
  });

  it('results: first pages (batched), later pages and filters, of scans and of hosts', async () => {
    const service = app.context().services.scans;
    for (const id of ids) {
      const expected = (await app.orm.em.fork().find(ScanResult, { scan: id }, { orderBy: { id: 'asc' } })).map(
        ({ id: rowId, address, port, protocol, state, banner, service: name, version }) => ({
          id: rowId,
          address,
          port,
          protocol,
          state,
          banner: banner ?? null,
          service: name ?? null,
          version: version ?? null,
        }),
      );
      const first = await service.results({ scanId: id }, { first: 5 });
      const rest = await service.results({ scanId: id }, { first: 100, after: first.pageInfo.endCursor });
      expect([...first.edges, ...rest.edges].map((edge) => edge.node)).toEqual(expected);
      expect(await first.totalCount()).toBe(expected.length);
      const open = await service.results(
        { scanId: id, address: '127.0.0.2' },
        { first: 3, filter: { state: ['OPEN'], protocol: ['TCP'] } },
      );
      expect(open.edges.map((edge) => edge.node)).toEqual(
        expected.filter((row) => row.address === '127.0.0.2' && row.state === 'OPEN' && row.protocol === 'TCP').slice(0, 3),
      );
      const backward = await service.results({ scanId: id }, { last: 4 });
      expect(backward.edges.map((edge) => edge.node)).toEqual(expected.slice(-4));
    }
  });

  it('hosts, with their filters, as the entities hold them', async () => {
    const service = app.context().services.scans;
    for (const id of ids) {
      const rows = await app.orm.em.fork().find(ScanHost, { scan: id }, { orderBy: { id: 'asc' } });
      const expected = rows.map((host) => ({
        id: host.id,
        scanId: id,
        address: host.address,
        hostname: host.hostname ?? null,
        state: host.state,
      }));
      const page = await service.hosts(id, { first: 10 });
      expect(page.edges.map((edge) => edge.node)).toEqual(expected);
      const filtered = await service.hosts(id, { filter: { address: '127.0.0.0/30', state: ['UP'], hostname: 'LOCALHOST' } });
      expect(filtered.edges.map((edge) => edge.node)).toEqual(expected.filter((host) => host.state === 'UP'));
    }
  });

  it('summary and progress, from the view as from the entity', async () => {
    const service = app.context().services.scans;
    const now = app.clock.now();
    for (const id of ids) {
      const entity = (await app.orm.em.fork().findOne(ScanEntity, { id })) as Scan;
      const view = (await service.get(id)) as ScanView;
      expect(service.summary(view)).toEqual(summaryView(entity));
      expect(progressView(progressEvent(view, now))).toEqual(progressView(progressEvent(entity, now)));
    }
  });
});
