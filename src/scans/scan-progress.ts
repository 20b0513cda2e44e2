import type { Scan } from './scan.entity.ts';
import type { ScanProgressed } from './scan.topics.ts';
import { isFinished } from './scan-status.ts';

/** What progress is told from: a scan as stored, or the worker's latest word on one. */
export type ProgressSource = Pick<
  Scan,
  'id' | 'status' | 'probesTotal' | 'probesDone' | 'openPorts' | 'probesEstimate' | 'startedAt' | 'finishedAt'
>;

/** A scan's progress as the API shows it, from the entity or from a progress event alike. */
export type ScanProgressView = {
  probesTotal: number;
  /** Probes whose results are stored. */
  probesDone: number;
  openPorts: number;
  /** Rounded down to one decimal: 100 only once every probe's result is stored. */
  percent: number;
  /** Probes per second from the start until the scan ended, or until now while it runs. */
  rate: number;
  /** Seconds left at that rate; 0 once the scan has ended, `null` when it cannot be told. */
  etaSeconds: number | null;
};

/** A scan's results counted by state, as `Scan.summary` shows them. */
export type ScanSummaryView = { open: number; closed: number; filtered: number; total: number };

export function progressEvent(scan: ProgressSource, now: Date): ScanProgressed {
  return {
    scanId: scan.id,
    status: scan.status,
    probesTotal: scan.probesTotal,
    probesDone: scan.probesDone,
    openPorts: scan.openPorts,
    probesEstimate: scan.probesEstimate,
    startedAt: scan.startedAt?.toISOString() ?? null,
    finishedAt: scan.finishedAt?.toISOString() ?? null,
    at: now.toISOString(),
  };
}

export function progressView(event: ScanProgressed): ScanProgressView {
  const { probesTotal, probesDone, openPorts } = event;
  // How far the engine has come: nmap's estimate runs ahead of the results it holds back.
  const reached = Math.min(probesTotal, Math.max(probesDone, event.probesEstimate));
  // An ended scan's rate is its rate while it ran, however long ago that was.
  const until = Date.parse(event.finishedAt ?? event.at);
  const elapsed = event.startedAt ? (until - Date.parse(event.startedAt)) / 1_000 : 0;
  const rate = elapsed > 0 ? reached / elapsed : 0;
  const left = probesTotal - reached;
  return {
    probesTotal,
    probesDone,
    openPorts,
    percent: percentOf(probesDone, reached, probesTotal),
    rate: Math.round(rate * 10) / 10,
    etaSeconds: isFinished(event.status) ? 0 : !event.startedAt ? null : left === 0 ? 0 : rate > 0 ? Math.ceil(left / rate) : null,
  };
}

/**
 * Rounded down to one decimal (999 of 1,000 is 99.9, not 100), and below 100
 * until every result is stored, however far the engine says it has come.
 */
function percentOf(done: number, reached: number, total: number): number {
  if (total === 0) return 0;
  if (done >= total) return 100;
  // Multiplied before dividing: the percent times 10 can land just below a whole number (23 of 40: 574.99…).
  return Math.min(99.9, Math.floor((reached * 1_000) / total) / 10);
}

export function summaryView(scan: Pick<Scan, 'probesDone' | 'openPorts' | 'closedPorts' | 'filteredPorts'>): ScanSummaryView {
  return { open: scan.openPorts, closed: scan.closedPorts, filtered: scan.filteredPorts, total: scan.probesDone };
}
