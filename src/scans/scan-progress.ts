import type { ScanProgressed } from '../platform/events.ts';
import type { Scan } from './scan.entity.ts';

/** A scan's progress as the API shows it, from the entity or from a progress event alike. */
export type ScanProgressView = {
  probesTotal: number;
  probesDone: number;
  openPorts: number;
  percent: number;
  /** Probes per second since the scan started running. */
  rate: number;
  /** Seconds left at the current rate; `null` when it cannot be told. */
  etaSeconds: number | null;
};

export function progressEvent(scan: Scan, now: Date): ScanProgressed {
  return {
    scanId: scan.id,
    status: scan.status,
    probesTotal: scan.probesTotal,
    probesDone: scan.probesDone,
    openPorts: scan.openPorts,
    startedAt: scan.startedAt?.toISOString() ?? null,
    at: now.toISOString(),
  };
}

export function progressView(event: ScanProgressed): ScanProgressView {
  const { probesTotal, probesDone, openPorts } = event;
  const elapsed = event.startedAt ? (Date.parse(event.at) - Date.parse(event.startedAt)) / 1_000 : 0;
  const rate = elapsed > 0 ? probesDone / elapsed : 0;
  const left = Math.max(0, probesTotal - probesDone);
  return {
    probesTotal,
    probesDone,
    openPorts,
    percent: probesTotal ? Math.min(100, (probesDone / probesTotal) * 100) : 0,
    rate: Math.round(rate * 10) / 10,
    etaSeconds: !event.startedAt ? null : left === 0 ? 0 : rate > 0 ? Math.ceil(left / rate) : null,
  };
}
