import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { Scan } from './scan.entity.ts';

let app: TestApp;
const createdIds: string[] = [];

beforeAll(async () => {
  app = await createTestApp({ SCAN_MAX_TARGETS: '3', SCAN_MAX_HOSTS: '300' });
});

afterAll(() => app.dispose());

const scans = () => app.context().services.scans;

describe('ScanService on PostgreSQL', () => {
  it('stores a scan with canonical targets and ports, and reads it back from the database', async () => {
    const created = await scans().create({ targets: ['127.0.0.1', '127.0.0.1', '::1/128'], ports: '80,22-25,24' });
    createdIds.push(created.id);
    const stored = await app.orm.em.fork().findOneOrFail(Scan, { id: created.id });
    expect(stored.targets.map(String)).toEqual(['127.0.0.1', '::1/128']);
    expect(stored.ports.toString()).toBe('22-25,80');
    expect(stored).toMatchObject({ status: 'PENDING', scanType: 'CONNECT', error: null });
    expect(stored.createdAt.getTime()).toBe(created.createdAt.getTime());
  });

  it('publishes scanUpdated after the scan is committed', async () => {
    const iterator = app.events.subscribe('scanUpdated')[Symbol.asyncIterator]();
    const next = iterator.next();
    const scan = await scans().create({ targets: ['127.0.0.2'] });
    createdIds.push(scan.id);
    const { value } = await next;
    expect(value).toEqual({ scanId: scan.id, status: 'PENDING', at: scan.updatedAt.toISOString() });
    expect(await app.orm.em.fork().count(Scan, { id: value.scanId })).toBe(1);
    await iterator.return?.();
  });

  it('enforces the target count and host limits from config', async () => {
    await expect(scans().create({ targets: ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'] })).rejects.toThrow('At most 3 targets');
    await expect(scans().create({ targets: ['127.0.0.0/24', '127.0.1.0/26'] })).rejects.toThrow('Targets cover 320 addresses; at most 300');
    await expect(scans().create({ targets: ['127.0.0.0/23'] })).rejects.toThrow(InvalidInputError);
  });

  it('writes nothing when any target or the port spec is refused', async () => {
    const before = await app.orm.em.fork().count(Scan);
    await expect(scans().create({ targets: ['127.0.0.1', '8.8.8.8'] })).rejects.toThrow('outside the allowed scope');
    await expect(scans().create({ targets: ['127.0.0.1'], ports: '1-70000' })).rejects.toThrow(InvalidInputError);
    expect(await app.orm.em.fork().count(Scan)).toBe(before);
  });

  it('batches lookups by ID into one query per request', async () => {
    const queries: string[] = [];
    const counted = await createTestApp({}, { onQuery: (sql) => queries.push(sql) });
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await counted.context().services.scans.create({ targets: ['127.0.0.1'] })).id);
      queries.length = 0;
      const service = counted.context().services.scans;
      const found = await Promise.all([...ids, '00000000-0000-4000-8000-000000000000'].map((id) => service.get(id)));
      expect(found.map((scan) => scan?.id ?? null)).toEqual([...ids, null]);
      expect(queries.filter((sql) => /^select/i.test(sql))).toHaveLength(1);
    } finally {
      await counted.dispose();
    }
  });

  it('deletes a scan and reports NOT_FOUND for one that is gone', async () => {
    const scan = await scans().create({ targets: ['127.0.0.9'] });
    expect(await scans().delete(scan.id)).toBe(scan.id);
    expect(await scans().get(scan.id)).toBeNull();
    await expect(scans().delete(scan.id)).rejects.toThrow(NotFoundError);
  });
});
