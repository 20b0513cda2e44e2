import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { Scan } from './scan.entity.ts';
import { recoverStrandedScans } from './scan-recovery.ts';

let app: TestApp;

beforeAll(async () => {
  app = await createTestApp();
});

afterAll(() => app.dispose());

/** A scan left in `status` with no job, as a crash between saving and queuing leaves one. */
async function stranded(status: 'QUEUED' | 'RUNNING'): Promise<string> {
  const scan = await app.context().services.scanCommands.create({ targets: ['127.0.0.1'], ports: '80' });
  const em = app.orm.em.fork();
  const fresh = await em.findOneOrFail(Scan, { id: scan.id });
  fresh.queue(new Date());
  if (status === 'RUNNING') fresh.start(new Date(), 1);
  await em.flush();
  return scan.id;
}

const read = (id: string) => app.orm.em.fork().findOneOrFail(Scan, { id });

describe('recovering stranded scans on start', () => {
  it('queues again a QUEUED scan without a job, and fails a RUNNING one with the reason', async () => {
    const queued = await stranded('QUEUED');
    const running = await stranded('RUNNING');
    const result = await recoverStrandedScans(app, 0);
    expect(result).toEqual({ requeued: 1, failed: 1 });
    expect(await app.jobs.isPending('scan.run', { scanId: queued })).toBe(true);
    expect(await read(queued)).toMatchObject({ status: 'QUEUED' });
    expect(await read(running)).toMatchObject({ status: 'FAILED', error: 'Its worker stopped and no job is left to finish it.' });
  });

  it('leaves alone scans whose job waits or runs, and scans changed a moment ago', async () => {
    const withJob = await stranded('RUNNING');
    await app.jobs.send('scan.run', { scanId: withJob });
    expect(await recoverStrandedScans(app, 0)).toEqual({ requeued: 0, failed: 0 });
    expect(await read(withJob)).toMatchObject({ status: 'RUNNING' });

    // Just queued: its job may be on its way from another process.
    const recent = await stranded('RUNNING');
    expect(await recoverStrandedScans(app)).toEqual({ requeued: 0, failed: 0 });
    expect(await read(recent)).toMatchObject({ status: 'RUNNING' });
  });
});
