import type { ScanProgressed } from '../platform/events.ts';
import type { Scan } from './scan.entity.ts';
import { isFinished } from './scan-status.ts';

/** What progress is told from: a scan as stored, or the worker's latest word on one. */
export type ProgressSource = Pick<Scan, 'id' | 'status' | 'probesTotal' | 'probesDone' | 'openPorts' | 'startedAt' | 'finishedAt'>;

/** A scan's progress as the API shows it, from the entity or from a progress event alike. */
export type ScanProgressView = {
  probesTotal: number;
  probesDone: number;
  openPorts: number;
  /** Rounded down to one decimal: 100 only once every probe is done. */
  percent: number;
  /** Probes per second from the start until the scan ended, or until now while it runs. */
  rate: number;
  /** Seconds left at that rate; 0 once the scan has ended, `null` when it cannot be told. */
  etaSeconds: number | null;
};

export function progressEvent(scan: ProgressSource, now: Date): ScanProgressed {
  return {
    scanId: scan.id,
    status: scan.status,
    probesTotal: scan.probesTotal,
    probesDone: scan.probesDone,
    openPorts: scan.openPorts,
    startedAt: scan.startedAt?.toISOString() ?? null,
    finishedAt: scan.finishedAt?.toISOString() ?? null,
    at: now.toISOString(),
  };
}

export function progressView(event: ScanProgressed): ScanProgressView {
  const { probesTotal, probesDone, openPorts } = event;
  const reached = Math.min(probesTotal, probesDone);
  // An ended scan's rate is its rate while it ran, however long ago that was.
  const until = Date.parse(event.finishedAt ?? event.at);
  const elapsed = event.startedAt ? (until - Date.parse(event.startedAt)) / 1_000 : 0;
  const rate = elapsed > 0 ? reached / elapsed : 0;
  const left = probesTotal - reached;
  return {
    probesTotal,
    probesDone,
    openPorts,
    percent: percentOf(reached, probesTotal),
    rate: Math.round(rate * 10) / 10,
    etaSeconds: isFinished(event.status) ? 0 : !event.startedAt ? null : left === 0 ? 0 : rate > 0 ? Math.ceil(left / rate) : null,
  };
}

/** Rounded down to one decimal: 999 of 1,000 is 99.9, not 100. */
function percentOf(reached: number, total: number): number {
  if (total === 0) return 0;
  if (reached >= total) return 100;
  // Multiplied before dividing: the percent times 10 can land just below a whole number (23 of 40: 574.99…).
  return Math.floor((reached * 1_000) / total) / 10;
}
