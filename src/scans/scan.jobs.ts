import { type EntityManager, LockMode } from '@mikro-orm/postgresql';
import { AuditLog } from '../audit/audit-log.ts';
import { DomainError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import type { Resolve } from '../platform/dns.ts';
import type { Orm } from '../platform/db.ts';
import type { JobFailure, JobHandler } from '../platform/jobs.ts';
import type { EventBus, Jobs } from '../module.ts';
import type { Logger } from '../platform/logger.ts';
import type { Scope } from '../net/scope.ts';
import { currentScope } from '../scope/scope.service.ts';
import { DEFAULT_SCAN_OPTIONS, type ProbeResult, type Scanner } from './engine/scanner.ts';
import { ScanResultRepository } from './scan-result.repository.ts';
import { publishHostStates, publishPortsFound, publishScanUpdated } from './scan.events.ts';
import { ScanHostRepository } from './scan-host.repository.ts';
import { progressEvent, type ProgressSource } from './scan-progress.ts';
import { resolveHosts } from './scan-hosts.ts';
import { Scan } from './scan.entity.ts';
import { ScanRepository } from './scan.repository.ts';
import { isFinished, ScanStatus } from './scan-status.ts';
import { TargetRefusedError } from '../net/target.ts';
import { Viewer } from '../access/viewer.ts';

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
async function recordRefusal(deps: Pick<ScanJobDeps, 'clock' | 'logger'>, em: EntityManager, scanId: string, error: TargetRefusedError): Promise<void> {
  const details = { target: error.target, reason: error.reason, stage: 'START' };
  deps.logger.warn({ scanId, ...details }, 'scan target refused');
  await new AuditLog({ em, viewer: Viewer.anonymous(), ip: null, clock: deps.clock }).record({ action: 'SCAN_REFUSED', target: { type: 'Scan', id: scanId }, details });
}

/**
 * Ends a scan whose job was given up: every attempt failed, or the worker of
 * the last one died (a `kill -9` leaves no one to say so but the queue).
 */
export function createScanGivenUpHandler(deps: Pick<ScanJobDeps, 'orm' | 'events' | 'clock' | 'logger'>) {
  return async ({ scanId }: { scanId: string }, { reason, attempts }: JobFailure): Promise<void> => {
    const why = reason === 'job heartbeat timeout' ? 'its worker stopped responding' : reason;
    await finish(deps, deps.orm.em.fork(), scanId, (scan, now) => scan.fail(now, `Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${why}.`));
  };
}

async function run(deps: ScanJobDeps, em: EntityManager, scan: Scan, workerStopping: AbortSignal): Promise<void> {
  const scanner = deps.scanners[scan.scanType];
  if (!scanner) throw new DomainError(`This worker has no engine for ${scan.scanType} scans.`);
  // The scope as it is now: a network an admin removed since the scan was created is no longer allowed.
  const scope = await currentScope(em, deps.scope);
  scope.assertAllows(scan.targets);
  const hosts = await resolveHosts(scan.targets, scope, deps.maxHosts, deps.resolve);
  const total = hosts.length * scan.ports.count;
  const hostRepository = new ScanHostRepository(em);
  await hostRepository.record(scan.id, hosts, deps.clock.now());
  const retry = scan.status === ScanStatus.RUNNING;
  // What the worker last committed: progress events never tell counts that are not stored yet.
  const progress = await begin(em, scan, total, deps.clock.now());
  if (!progress) return;
  const started = { scanId: scan.id, scanType: scan.scanType, hosts: hosts.length, probesTotal: total };
  deps.logger.info(retry ? { ...started, probesDone: progress.probesDone } : started, retry ? 'scan started again after its worker stopped' : 'scan started');
  await publishScanUpdated(deps.events, scan);
  let lastProgress = 0;
  const progressed = (force = false) => {
    const now = deps.clock.now();
    if (!force && now.getTime() - lastProgress < PROGRESS_EVERY_MS) return false;
    lastProgress = now.getTime();
    void deps.events.publish('scanProgress', scan.id, progressEvent(progress, now));
    return true;
  };
  progressed(true);

  const stop = new AbortController();
  const onStopping = () => stop.abort();
  workerStopping.addEventListener('abort', onStopping, { once: true });
  const watcher = setInterval(() => {
    void new ScanRepository(em.fork()).isCancelled(scan.id).then((cancelled) => {
      if (cancelled) stop.abort();
    }, () => {});
  }, CANCEL_POLL_MS);
  // nmap reports a host's ports only once it is done with it; meanwhile its own estimate moves the percent.
  const onProgress = (estimate: number) => {
    if (estimate <= progress.probesEstimate) return;
    progress.probesEstimate = estimate;
    if (progressed()) void new ScanRepository(em.fork()).raiseEstimate(scan.id, estimate).catch(() => {});
  };
  try {
    const options = { ...DEFAULT_SCAN_OPTIONS, ...scan.options };
    for await (const batch of scanner.scan({ hosts, ports: scan.ports }, options, stop.signal, onProgress)) {
      const now = deps.clock.now();
      const written = await writeBatch(em.fork(), scan.id, batch, progress.probesEstimate, now);
      if (!written) {
        // Cancelled (or deleted) since: the batch is dropped, so the counts the cancel read stay those of the stored results.
        stop.abort();
        break;
      }
      Object.assign(progress, written.counts);
      // Announced once written, so a subscriber that queries on receipt finds them.
      await publishHostStates(deps.events, scan.id, written.up, now);
      await publishPortsFound(deps.events, scan.id, written.stored, now);
      progressed();
    }
  } finally {
    clearInterval(watcher);
    workerStopping.removeEventListener('abort', onStopping);
  }
  // The worker is shutting down: leave the job to a retry, which probes everything again.
  if (workerStopping.aborted) throw new Error('worker stopped during the scan');
  await finish(deps, em.fork(), scan.id, (fresh, now) => fresh.complete(now));
}

/**
 * Starts the scan, or, when a retry finds it RUNNING, goes on from the counts
 * of the results the last attempt stored: the retry probes everything again,
 * and a port stored before is counted once. `null` for a scan deleted since.
 */
async function begin(em: EntityManager, scan: Scan, total: number, now: Date): Promise<ProgressSource | null> {
  const retry = scan.status === ScanStatus.RUNNING;
  if (retry) scan.restart(total);
  else scan.start(now, total);
  await em.flush();
  const progress = progressOf(scan);
  if (!retry) return progress;
  const counts = await new ScanRepository(em.fork()).recount(scan.id);
  return counts && { ...progress, ...counts };
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
    const answered = new Set(batch.filter((result) => result.state !== 'FILTERED').map((result) => result.address));
    const up = await new ScanHostRepository(tx).markUp(scanId, [...answered], now);
    return { stored, counts, up };
  });
}

const progressOf = ({ id, status, probesTotal, probesDone, openPorts, probesEstimate, startedAt, finishedAt }: Scan): ProgressSource =>
  ({ id, status, probesTotal, probesDone, openPorts, probesEstimate, startedAt, finishedAt });

/**
 * Applies a final transition to a fresh copy, unless someone (a cancel)
 * already ended the scan, with the counts of its stored results. A completed
 * scan's silent hosts are DOWN, in the same commit as the status, so that
 * whoever sees COMPLETED sees them too.
 */
async function finish(deps: Pick<ScanJobDeps, 'events' | 'clock' | 'logger'>, em: EntityManager, scanId: string, end: (scan: Scan, now: Date) => unknown): Promise<void> {
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
  const counts = { scanId: scan.id, scanType: scan.scanType, status: scan.status, probesDone: scan.probesDone, probesTotal: scan.probesTotal, openPorts: scan.openPorts, durationMs };
  if (scan.status === ScanStatus.FAILED) logger.warn({ ...counts, reason: scan.error }, 'scan failed');
  else logger.info(counts, 'scan finished');
}
