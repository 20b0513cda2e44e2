import type { EventBus, JobQueue } from '../module.ts';
import type { Clock } from '../platform/clock.ts';
import type { Orm } from '../platform/db.ts';
import type { Logger } from '../platform/logger.ts';
import { Scan } from './scan.entity.ts';
import { publishScanUpdated } from './scan.events.ts';
import { ScanStatus } from './scan-status.ts';

export type RecoveryDeps = { orm: Orm; jobs: JobQueue; events: EventBus; clock: Clock; logger: Logger };

/** Scans changed more recently may still be on their way into the queue. */
const SETTLE_MS = 60_000;
/** Scans looked at per start; the rest wait for the next. */
const BATCH = 1_000;

/**
 * Run on start: finds scans QUEUED or RUNNING that no job will ever move on
 * (the process died between saving a scan and queuing it, or the queue lost
 * the job) so none waits forever. A QUEUED one is queued again; a RUNNING one
 * ends FAILED, since a job that was given up is past retrying.
 */
export async function recoverStrandedScans(deps: RecoveryDeps, settleMs = SETTLE_MS): Promise<{ requeued: number; failed: number }> {
  const em = deps.orm.em.fork();
  const before = new Date(deps.clock.now().getTime() - settleMs);
  const candidates = await em.find(
    Scan,
    { status: { $in: [ScanStatus.QUEUED, ScanStatus.RUNNING] }, updatedAt: { $lte: before } },
    { limit: BATCH, orderBy: { updatedAt: 'asc' } },
  );
  let requeued = 0;
  let failed = 0;
  for (const scan of candidates) {
    if (await deps.jobs.isPending('scan.run', { scanId: scan.id })) continue;
    if (scan.status === ScanStatus.QUEUED) {
      await deps.jobs.send('scan.run', { scanId: scan.id });
      requeued++;
      continue;
    }
    // Re-read: its worker may have finished it since.
    await em.refresh(scan);
    if (scan.status !== ScanStatus.RUNNING) continue;
    scan.fail(deps.clock.now(), 'Its worker stopped and no job is left to finish it.');
    await em.flush();
    await publishScanUpdated(deps.events, scan);
    failed++;
  }
  if (requeued || failed) deps.logger.warn({ requeued, failed }, 'recovered scans no job would move on');
  return { requeued, failed };
}
