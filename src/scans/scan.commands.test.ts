import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { AuditEvent } from '../audit/audit-event.entity.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../errors.ts';
import { Scan } from './scan.entity.ts';
import { scanRecord, scanView } from './scan.view.ts';

let app: TestApp;
const createdIds: string[] = [];

beforeAll(async () => {
  app = await createTestApp({ SCAN_MAX_TARGETS: '3', SCAN_MAX_HOSTS: '300' });
});

afterAll(() => app.dispose());

const scans = () => app.context().services.scanCommands;

describe('ScanCommands on PostgreSQL', () => {
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
    // With the scan as the change left it: subscribers need not read it again.
    expect(value).toEqual({ scanId: scan.id, status: 'PENDING', at: scan.updatedAt.toISOString(), scan: scanRecord(scanView(scan)) });
    expect(value.scan).toMatchObject({ id: scan.id, status: 'PENDING', targets: ['127.0.0.2'], probesDone: 0 });
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

  it('deletes a scan and reports NOT_FOUND for one that is gone', async () => {
    const scan = await scans().create({ targets: ['127.0.0.9'] });
    expect(await scans().delete(scan.id)).toBe(scan.id);
    expect(await app.context().services.scans.get(scan.id)).toBeNull();
    await expect(scans().delete(scan.id)).rejects.toThrow(NotFoundError);
  });

  it('forgets a deleted scan for the rest of the request that deleted it', async () => {
    const { services } = app.context();
    const scan = await services.scanCommands.create({ targets: ['127.0.0.11'] });
    expect((await services.scans.get(scan.id))?.id).toBe(scan.id);
    await services.scanCommands.delete(scan.id);
    expect(await services.scans.get(scan.id)).toBeNull();
    await expect(services.scanCommands.cancel(scan.id)).rejects.toThrow(NotFoundError);
  });

  it("lets an ANALYST change its own scans only, another's being missing, and a VIEWER none", async () => {
    const analyst = await app.seedUser('ANALYST');
    const viewer = await app.seedUser('VIEWER');
    const own = await app.context(analyst).services.scanCommands.create({ targets: ['127.0.0.12'] });
    const others = await scans().create({ targets: ['127.0.0.13'] });
    await expect(app.context(analyst).services.scanCommands.cancel(others.id)).rejects.toThrow(NotFoundError);
    await expect(app.context(viewer).services.scanCommands.cancel(own.id)).rejects.toThrow(ForbiddenError);
    await expect(app.context(viewer).services.scanCommands.create({ targets: ['127.0.0.1'] })).rejects.toThrow(ForbiddenError);
    expect((await app.context(analyst).services.scanCommands.cancel(own.id)).status).toBe('CANCELLED');
  });

  it('deletes a PENDING scan as a deletion, never as a cancellation', async () => {
    const scan = await scans().create({ targets: ['127.0.0.10'] });
    await scans().delete(scan.id);
    const actions = await app.orm.em.fork().find(AuditEvent, { targetId: `Scan:${scan.id}` }, { orderBy: { id: 'asc' } });
    expect(actions.map((event) => event.action)).toEqual(['SCAN_CREATED', 'SCAN_DELETED']);
  });
});

describe('starting a scan twice at once', () => {
  it('queues it once: the second start finds it QUEUED and is a CONFLICT', async () => {
    const scan = await scans().create({ targets: ['127.0.0.11'], ports: '1' });
    const outcomes = await Promise.allSettled([scans().start(scan.id), app.context().services.scanCommands.start(scan.id)]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    const started = await app.orm.em.fork().count(AuditEvent, { action: 'SCAN_STARTED', targetId: `Scan:${scan.id}` });
    expect(started).toBe(1);
  });

  it('reports a bad port range as such, whatever its targets: spelling is checked before any lookup', async () => {
    await expect(scans().create({ targets: ['10.0.0.1'], ports: '100-10' })).rejects.toMatchObject({ field: 'ports' });
  });
});

describe('hostname targets at creation', () => {
  let named: TestApp;
  // Real names cannot be made to point outside the scope here, so this app's resolver is a stand-in.
  const zone: Record<string, string[] | 'never'> = {
    'db.lab': ['127.0.0.5', '::1'],
    'evil.lab': ['127.0.0.1', '10.0.0.5'],
    'empty.lab': [],
    'slow.lab': 'never',
  };

  beforeAll(async () => {
    named = await createTestApp(
      {},
      {
        lookup: (name) => {
          const answer = zone[name];
          if (answer === 'never') return new Promise(() => {});
          if (!answer) return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
          return Promise.resolve(answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
        },
      },
    );
  });

  afterAll(() => named?.dispose());

  const refusals = async () =>
    (await named.orm.em.fork().find(AuditEvent, { action: 'SCAN_REFUSED' }, { orderBy: { id: 'asc' } })).map((event) => event.details);

  it('accepts a name whose every address is in scope, and stores the name', async () => {
    const scan = await named.context().services.scanCommands.create({ targets: ['DB.lab'] });
    expect(scan.targets.map(String)).toEqual(['db.lab']);
  });

  it.each([
    ['evil.lab', 'Hostname evil.lab resolves to 10.0.0.5, which is outside the allowed scope', 'OUT_OF_SCOPE'],
    ['empty.lab', 'Hostname empty.lab does not resolve.', 'UNRESOLVED'],
    ['nowhere.lab', 'Hostname nowhere.lab does not resolve.', 'UNRESOLVED'],
    ['slow.lab', 'Hostname slow.lab did not resolve within 2 s', 'RESOLVE_TIMEOUT'],
  ])('refuses %s, stores nothing, and audits the refusal', async (name, message, reason) => {
    const before = await named.orm.em.fork().count(Scan);
    const attempt = named.context().services.scanCommands.create({ targets: ['127.0.0.1', name] });
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toMatchObject({ field: 'targets' });
    expect(await named.orm.em.fork().count(Scan)).toBe(before);
    expect((await refusals()).at(-1)).toEqual({ via: 'session', target: name, reason, stage: 'CREATE' });
  });

  it('audits an address in another notation too', async () => {
    await expect(named.context().services.scanCommands.create({ targets: ['0x08080808'] })).rejects.toThrow(
      'IPv4 address 8.8.8.8 in another notation',
    );
    expect((await refusals()).at(-1)).toEqual({ via: 'session', target: '0x08080808', reason: 'NUMERIC_ADDRESS', stage: 'CREATE' });
  });
});
