import { type EntityManager, LockMode } from '@mikro-orm/postgresql';
import { Viewer } from '../access/viewer.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { DomainError } from '../errors.ts';
import type { EventBus, Jobs } from '../module.ts';
import type { Scope } from '../net/scope.ts';
import { TargetRefusedError } from '../net/target.ts';
import type { Clock } from '../platform/clock.ts';
import type { Orm } from '../platform/db.ts';
import type { Resolve } from '../platform/dns.ts';
import type { JobFailure, JobHandler } from '../platform/jobs.ts';
import type { Logger } from '../platform/logger.ts';
import { currentScope } from '../scope/scope.service.ts';
import type { OnProgress, ProbeHost, ProbeResult, Scanner } from './engine/scanner.ts';
import { Scan } from './scan.entity.ts';
import { publishHostStates, publishPortsFound, publishScanUpdated } from './scan.events.ts';
import { ScanRepository } from './scan.repository.ts';
import type { StoredResult } from './scan.topics.ts';
import { type HostChange, ScanHostRepository } from './scan-host.repository.ts';
import { resolveHosts } from './scan-hosts.ts';
import { progressThrottle, watchCancellation } from './scan-job-controls.ts';
import { ScanOptions } from './scan-options.ts';
import { type ProgressSource, progressEvent } from './scan-progress.ts';
import { ScanResultRepository } from './scan-result.repository.ts';
import { isFinished, ScanStatus } from './scan-status.ts';

export type ScanJobDeps = {
  orm: Orm;
  events: EventBus;
  /** The configured baseline; networks admins added are read from the database for each scan. */
  scope: Scope;
  clock: Clock;
  logger: Logger;
  maxHosts: number;
  /** Engines by scan type; a type without one fails the scan with a clear reason. */
  scanners: Partial<Record<Scan['scanType'], Scanner>>;
  resolve: Resolve;
};

/** How often a running scan looks for a cancellation made elsewhere (another API process). */
const CANCEL_POLL_MS = 250;
/** At most ~10 progress events a second per scan. */
const PROGRESS_EVERY_MS = 100;

/**
 * Runs one scan job: resolve and re-check targets, probe, write results in
 * batches, finish. Safe to run again after a crash: results are upserted on
 * (scan, address, protocol, port), so a retry never duplicates a row.
 */
export function createScanJob(deps: ScanJobDeps): JobHandler<Jobs['scan.run']> {
  return async ({ scanId }, { lastAttempt, signal }) => {
    const em = deps.orm.em.fork();
    const scan = await em.findOne(Scan, { id: scanId });
    if (!scan || isFinished(scan.status)) return;
    try {
      await run(deps, em, scan, signal);
    } catch (error) {
      // Our own refusals (a name that resolves out of scope) will not change on retry.
      if (!(error instanceof DomainError) && !lastAttempt) {
        deps.logger.warn({ err: error, scanId }, 'scan attempt failed; the queue will retry it');
        throw error;
      }
      if (signal.aborted) throw error;
      if (error instanceof TargetRefusedError) await recordRefusal(deps, em.fork(), scanId, error);
      await finish(deps, em.fork(), scanId, (fresh, now) => fresh.fail(now, error instanceof Error ? error.message : String(error)));
    }
  };
}

/** A target refused at start, for the audit log: the worker is the one who refused, so no actor. */
async function recordRefusal(
  deps: Pick<ScanJobDeps, 'clock' | 'logger'>,
  em: EntityManager,
  scanId: string,
  error: TargetRefusedError,
): Promise<void> {
  const details = { target: error.target, reason: error.reason, stage: 'START' };
  deps.logger.warn({ scanId, ...details }, 'scan target refused');
  await new AuditLog({ em, viewer: Viewer.anonymous(), ip: null, clock: deps.clock }).record({
    action: 'SCAN_REFUSED',
    target: { type: 'Scan', id: scanId },
    details,
  });
}

/**
 * Ends a scan whose job was given up: every attempt failed, or the worker of
 * the last one died (a `kill -9` leaves no one to say so but the queue).
 */
export function createScanGivenUpHandler(deps: Pick<ScanJobDeps, 'orm' | 'events' | 'clock' | 'logger'>) {
  return async ({ scanId }: { scanId: string }, { reason, attempts }: JobFailure): Promise<void> => {
    const why = reason === 'job heartbeat timeout' ? 'its worker stopped responding' : reason;
    await finish(deps, deps.orm.em.fork(), scanId, (scan, now) =>
      scan.fail(now, `Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${why}.`),
    );
  };
}

async function run(deps: ScanJobDeps, em: EntityManager, scan: Scan, workerStopping: AbortSignal): Promise<void> {
  const scanner = deps.scanners[scan.scanType];
  if (!scanner) throw new DomainError(`This worker has no engine for ${scan.scanType} scans.`);
  const hosts = await hostsToProbe(deps, em, scan);
  // What the worker last committed: progress events never tell counts that are not stored yet.
  const progress = await begin(deps, em, scan, hosts);
  if (!progress) return;
  const tell = progressThrottle(
    (now) => void deps.events.publish('scanProgress', scan.id, progressEvent(progress, now)),
    PROGRESS_EVERY_MS,
    deps.clock,
  );
  tell(true);
  const cancellation = watchCancellation(() => new ScanRepository(em.fork()).isCancelled(scan.id), workerStopping, CANCEL_POLL_MS);
  try {
    const batches = scanner.scan(
      { hosts, ports: scan.ports },
      ScanOptions.of(scan.options).forEngine(),
      cancellation.signal,
      estimateReporter(em, progress, tell),
    );
    for await (const batch of batches) {
      const now = deps.clock.now();
      const written = await writeBatch(em.fork(), scan.id, batch, progress.probesEstimate, now);
      if (!written) {
        // Cancelled (or deleted) since: the batch is dropped, so the counts the cancel read stay those of the stored results.
        cancellation.abort();
        break;
      }
      Object.assign(progress, written.counts);
      await announce(deps.events, scan.id, written, now);
      tell();
    }
  } finally {
    cancellation.stop();
  }
  // The worker is shutting down: leave the job to a retry, which probes everything again.
  if (workerStopping.aborted) throw new Error('worker stopped during the scan');
  await finish(deps, em.fork(), scan.id, (fresh, now) => fresh.complete(now));
}

/** The addresses to probe: the targets in the scope as it is now (a network an admin removed since no longer allows them), names resolved and checked. */
async function hostsToProbe(deps: ScanJobDeps, em: EntityManager, scan: Scan): Promise<ProbeHost[]> {
  const scope = await currentScope(em, deps.scope);
  scope.assertAllows(scan.targets);
  return resolveHosts(scan.targets, scope, deps.maxHosts, deps.resolve);
}

/**
 * Records the hosts and starts the scan, or, when a retry finds it RUNNING,
 * goes on from the counts of the results the last attempt stored: the retry
 * probes everything again, and a port stored before is counted once. Then
 * says so, in the log and to subscribers. `null` for a scan deleted since.
 */
async function begin(deps: ScanJobDeps, em: EntityManager, scan: Scan, hosts: readonly ProbeHost[]): Promise<ProgressSource | null> {
  const total = hosts.length * scan.ports.count;
  // Under the row lock a cancel takes too: a scan cancelled while its targets were resolved stays cancelled.
  const retry = await em.transactional(async (tx) => {
    const fresh = await tx.refresh(scan, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!fresh || isFinished(scan.status)) return undefined;
    const again = scan.status === ScanStatus.RUNNING;
    if (again) scan.restart(total);
    else scan.start(deps.clock.now(), total);
    return again;
  });
  if (retry === undefined) return null;
  await new ScanHostRepository(em).record(scan.id, hosts, deps.clock.now());
  const counts = retry ? await new ScanRepository(em.fork()).recount(scan.id) : {};
  if (!counts) return null;
  const progress = { ...progressOf(scan), ...counts };
  const started = { scanId: scan.id, scanType: scan.scanType, hosts: hosts.length, probesTotal: total };
  deps.logger.info(
    retry ? { ...started, probesDone: progress.probesDone } : started,
    retry ? 'scan started again after its worker stopped' : 'scan started',
  );
  // A retry changes no status: subscribers were told of RUNNING once, by the first attempt.
  if (!retry) await publishScanUpdated(deps.events, scan);
  return progress;
}

/**
 * nmap reports a host's ports only once it is done with it; meanwhile its own
 * estimate moves the percent. It is stored when progress is told, so at most
 * as often, and never lowered.
 */
function estimateReporter(em: EntityManager, progress: ProgressSource, tell: () => boolean): OnProgress {
  return (estimate) => {
    if (estimate <= progress.probesEstimate) return;
    progress.probesEstimate = estimate;
    if (tell()) void new ScanRepository(em.fork()).raiseEstimate(progress.id, estimate).catch(() => {});
  };
}

/**
 * Stores one batch, counts it and marks the hosts that answered UP, in one
 * transaction holding the scan's row: whoever reads the scan then reads
 * counts that match its stored results. `null`, writing nothing, once the
 * scan is not RUNNING: a cancel took the row first.
 */
async function writeBatch(em: EntityManager, scanId: string, batch: readonly ProbeResult[], estimate: number, now: Date) {
  return em.transactional(async (tx) => {
    const scans = new ScanRepository(tx);
    if (!(await scans.lockRunning(scanId))) return null;
    const { stored, added } = await new ScanResultRepository(tx).upsert(scanId, batch, now);
    const counts = await scans.addCounts(scanId, added, estimate);
    const up = await new ScanHostRepository(tx).markUp(scanId, answeredHosts(batch), now);
    return { stored, counts, up };
  });
}

/** A host that answered any probe is UP, a refusal (CLOSED) being an answer too; only silence (FILTERED) is none. */
function answeredHosts(batch: readonly ProbeResult[]): string[] {
  return [...new Set(batch.filter((result) => result.state !== 'FILTERED').map((result) => result.address))];
}

/** What a written batch tells subscribers: once written, so a subscriber that queries on receipt finds it. */
async function announce(
  events: EventBus,
  scanId: string,
  { up, stored }: { up: HostChange[]; stored: StoredResult[] },
  now: Date,
): Promise<void> {
  await publishHostStates(events, scanId, up, now);
  await publishPortsFound(events, scanId, stored, now);
}

const progressOf = ({ id, status, probesTotal, probesDone, openPorts, probesEstimate, startedAt, finishedAt }: Scan): ProgressSource => ({
  id,
  status,
  probesTotal,
  probesDone,
  openPorts,
  probesEstimate,
  startedAt,
  finishedAt,
});

/**
 * Applies a final transition to a fresh copy, unless someone (a cancel)
 * already ended the scan, with the counts of its stored results. A completed
 * scan's silent hosts are DOWN, in the same commit as the status, so that
 * whoever sees COMPLETED sees them too.
 */
async function finish(
  deps: Pick<ScanJobDeps, 'events' | 'clock' | 'logger'>,
  em: EntityManager,
  scanId: string,
  end: (scan: Scan, now: Date) => unknown,
): Promise<void> {
  const ended = await em.transactional(async (tx) => {
    // The row first, as each batch takes it: the count below is final.
    const scan = await tx.findOne(Scan, { id: scanId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!scan || isFinished(scan.status)) return null;
    scan.countResults(await new ScanResultRepository(tx).counts(scanId));
    const now = deps.clock.now();
    end(scan, now);
    const down = scan.status === ScanStatus.COMPLETED ? await new ScanHostRepository(tx).markSilentDown(scanId, now) : [];
    return { scan, now, down };
  });
  if (!ended) return;
  const { scan, now, down } = ended;
  logEnd(deps.logger, scan, now);
  await publishHostStates(deps.events, scanId, down, now);
  await publishScanUpdated(deps.events, scan);
  // The final word: subscribers stop listening once they see an ended status.
  await deps.events.publish('scanProgress', scan.id, progressEvent(scan, now));
}

/** One line per ended scan: what an operator greps for. */
function logEnd(logger: Logger, scan: Scan, now: Date): void {
  const durationMs = scan.startedAt ? now.getTime() - scan.startedAt.getTime() : 0;
  const counts = {
    scanId: scan.id,
    scanType: scan.scanType,
    status: scan.status,
    probesDone: scan.probesDone,
    probesTotal: scan.probesTotal,
    openPorts: scan.openPorts,
    durationMs,
  };
  if (scan.status === ScanStatus.FAILED) logger.warn({ ...counts, reason: scan.error }, 'scan failed');
  else logger.info(counts, 'scan finished');
}
