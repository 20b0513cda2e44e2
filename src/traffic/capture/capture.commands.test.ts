import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import type { Viewer } from '../../access/viewer.ts';
import { Evidence } from '../../evidence/evidence.entity.ts';
import { CaptureSensor } from '../sensors/capture-sensor.entity.ts';
import { Capture } from './capture.entity.ts';
import { endCapturesOfLostSensors } from './capture.jobs.ts';

/** The rules of starting and stopping captures, on a real database; no worker runs, so captures stay QUEUED. */
let app: TestApp;
let analyst: Viewer;
let scanId: string;
let pcapId: string;
let pngId: string;

const lo = { name: 'lo', addresses: ['127.0.0.1/8', '::1/128'], up: true, loopback: true };

async function sensor(name: string, lastSeenSecondsAgo = 0, interfaces = [lo]) {
  const em = app.orm.em.fork();
  const seen = new Date(app.clock.now().getTime() - lastSeenSecondsAgo * 1000);
  await em.insert(CaptureSensor, { id: randomUUID(), name, interfaces, startedAt: seen, lastSeenAt: seen });
}

async function evidence(contentType: string, owner: Viewer): Promise<string> {
  const id = randomUUID();
  await app.orm.em.fork().insert(Evidence, {
    id,
    scan: scanId,
    sha256: 'b'.repeat(64),
    size: 40,
    contentType,
    filename: 'x',
    description: null,
    uploadedBy: owner.userId,
    createdAt: app.clock.now(),
  });
  return id;
}

const start = (input: Record<string, unknown>, viewer?: Viewer) => app.context(viewer).services.captureCommands.start(input);

beforeAll(async () => {
  app = await createTestApp({ RUN_WORKER: 'false', CAPTURE_MAX_PACKETS: '1000' });
  analyst = await app.seedUser('ANALYST');
  scanId = (await app.context(analyst).services.scanCommands.create({ targets: ['127.0.0.1'], ports: '1' })).id;
  pcapId = await evidence('application/vnd.tcpdump.pcap', analyst);
  pngId = await evidence('image/png', analyst);
});

afterAll(async () => {
  await app.dispose();
});

beforeEach(async () => {
  await app.orm.em.fork().nativeDelete(CaptureSensor, {});
});

describe('starting a capture', () => {
  it('takes exactly one of an interface and an evidence file', async () => {
    await expect(start({})).rejects.toMatchObject({ name: 'InvalidInputError', field: 'input' });
    await expect(start({ interface: 'lo', evidenceId: pcapId })).rejects.toMatchObject({ field: 'input' });
  });

  it('replays a pcap the caller may see, with the configured ceilings as defaults', async () => {
    const capture = await start({ evidenceId: pcapId, scanId }, analyst);
    expect(capture).toMatchObject({ status: 'QUEUED', sourceEvidenceId: pcapId, sensor: null, maxPackets: 1000, speed: 0, scanId });
    await expect(start({ evidenceId: pngId })).rejects.toMatchObject({
      field: 'evidenceId',
      message: expect.stringContaining('image/png'),
    });
    await expect(start({ evidenceId: randomUUID() })).rejects.toMatchObject({ name: 'NotFoundError' });
  });

  it('refuses limits past their ceilings, bad speeds, and filters and sensors on replays', async () => {
    await expect(start({ evidenceId: pcapId, maxPackets: 1001 })).rejects.toMatchObject({
      field: 'maxPackets',
      message: expect.stringContaining('1000'),
    });
    await expect(start({ evidenceId: pcapId, maxSeconds: 0 })).rejects.toMatchObject({ field: 'maxSeconds' });
    await expect(start({ evidenceId: pcapId, speed: -1 })).rejects.toMatchObject({ field: 'speed' });
    await expect(start({ evidenceId: pcapId, filter: 'tcp' })).rejects.toMatchObject({ field: 'filter' });
    await expect(start({ evidenceId: pcapId, sensor: 'vm' })).rejects.toMatchObject({ field: 'sensor' });
    await expect(start({ evidenceId: pcapId, saveEvidence: true, scanId })).rejects.toMatchObject({ field: 'saveEvidence' });
  });

  it('picks the only sensor online, and says which ones when there are several', async () => {
    await expect(start({ interface: 'lo' })).rejects.toMatchObject({
      field: 'sensor',
      message: expect.stringContaining('No sensor is online'),
    });
    await sensor('alpha');
    await sensor('gone', 120);
    expect(await start({ interface: 'lo' })).toMatchObject({ sensor: 'alpha', interface: 'lo', effectiveFilter: null });
    await sensor('beta');
    await expect(start({ interface: 'lo' })).rejects.toMatchObject({ message: expect.stringContaining('alpha, beta') });
    expect(await start({ interface: 'lo', sensor: 'beta' })).toMatchObject({ sensor: 'beta' });
    await expect(start({ interface: 'lo', sensor: 'gone' })).rejects.toMatchObject({ message: expect.stringContaining('offline') });
    await expect(start({ interface: 'lo', sensor: 'nobody' })).rejects.toMatchObject({ field: 'sensor' });
    await expect(start({ interface: 'eth9', sensor: 'alpha' })).rejects.toMatchObject({
      field: 'interface',
      message: expect.stringContaining('lo'),
    });
    await expect(start({ interface: 'lo', sensor: 'alpha', speed: 1 })).rejects.toMatchObject({ field: 'speed' });
  });

  it('compiles the filter at once, and reads it only as a filter', async () => {
    await sensor('alpha');
    await expect(start({ interface: 'lo', filter: 'tcp port' })).rejects.toMatchObject({
      field: 'filter',
      message: expect.stringContaining('syntax error'),
    });
    await expect(start({ interface: 'lo', filter: '-w /tmp/scanops-filter' })).rejects.toMatchObject({ field: 'filter' });
    await expect(start({ interface: 'lo', filter: 'x'.repeat(5000) })).rejects.toMatchObject({ field: 'filter' });
  });

  it("keeps an ANALYST's live capture to the networks they may scan; an ADMIN's sees all", async () => {
    await sensor('alpha');
    expect((await start({ interface: 'lo', filter: 'udp' }, analyst)).effectiveFilter).toBe('(udp) and (net 127.0.0.0/8 or net ::1/128)');
    expect((await start({ interface: 'lo' }, analyst)).effectiveFilter).toBe('net 127.0.0.0/8 or net ::1/128');
    expect((await start({ interface: 'lo', filter: 'udp' })).effectiveFilter).toBe('udp');
  });

  it('is not for a VIEWER', async () => {
    await expect(start({ evidenceId: pcapId }, await app.seedUser('VIEWER'))).rejects.toMatchObject({ name: 'ForbiddenError' });
  });
});

describe('stopping a capture', () => {
  it('ends a queued one STOPPED at once, and refuses to stop it again', async () => {
    const { id } = await start({ evidenceId: pcapId });
    expect(await app.context().services.captureCommands.stop(id)).toMatchObject({ status: 'STOPPED' });
    await expect(app.context().services.captureCommands.stop(id)).rejects.toMatchObject({ name: 'ConflictError' });
  });

  it("is another ANALYST's to see only as missing", async () => {
    const { id } = await start({ evidenceId: pcapId }, analyst);
    const other = await app.seedUser('ANALYST');
    await expect(app.context(other).services.captureCommands.stop(id)).rejects.toMatchObject({ name: 'NotFoundError' });
    expect(await app.context(other).services.captures.get(id)).toBeNull();
  });
});

describe('the captures of a sensor that went silent', () => {
  it('end FAILED, saying why', async () => {
    await sensor('alpha');
    const { id } = await start({ interface: 'lo' });
    await app.orm.em.fork().nativeUpdate(CaptureSensor, { name: 'alpha' }, { lastSeenAt: new Date(app.clock.now().getTime() - 120_000) });
    // Earlier cases left captures queued for an `alpha` too: they go as well.
    expect(await endCapturesOfLostSensors(app.server.runtime)).toBeGreaterThanOrEqual(1);
    const ended = await app.orm.em.fork().findOneOrFail(Capture, { id });
    expect([ended.status, ended.error]).toEqual(['FAILED', expect.stringContaining('sensor stopped answering')]);
  });
});
