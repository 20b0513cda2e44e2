import { describe, expect, it } from 'vitest';
import { type ProgressSource, progressEvent, progressView } from './scan-progress.ts';
import type { ScanStatus } from './scan-status.ts';

const started = new Date('2026-11-25T10:00:00.000Z');
const at = (ms: number) => new Date(started.getTime() + ms);

function scan(fields: Partial<ProgressSource> & { status: ScanStatus }): ProgressSource {
  return {
    id: 'scan',
    probesTotal: 1_000,
    probesDone: 0,
    openPorts: 0,
    probesEstimate: 0,
    startedAt: started,
    finishedAt: null,
    ...fields,
  };
}
const view = (source: ProgressSource, now: Date) => progressView(progressEvent(source, now));

describe('progress', () => {
  it('gives a finished scan the rate it ran at, whenever it is read', () => {
    const done = scan({ status: 'COMPLETED', probesTotal: 467, probesDone: 467, probesEstimate: 467, finishedAt: at(384) });
    const now = view(done, at(400));
    expect(now).toMatchObject({ rate: 1216.1, percent: 100, etaSeconds: 0 });
    expect(view(done, at(1_400))).toEqual(now);
    expect(view(done, at(86_400_000))).toEqual(now);
  });

  it('measures a running scan up to now', () => {
    const running = scan({ status: 'RUNNING', probesDone: 250, probesEstimate: 250 });
    expect(view(running, at(1_000))).toMatchObject({ rate: 250, etaSeconds: 3 });
    expect(view(running, at(2_000))).toMatchObject({ rate: 125, etaSeconds: 6 });
  });

  it('rounds the percent down to one decimal', () => {
    const percent = (probesDone: number, probesTotal: number) =>
      view(scan({ status: 'RUNNING', probesDone, probesEstimate: probesDone, probesTotal }), at(1_000)).percent;
    expect(percent(2, 3)).toBe(66.6);
    expect(percent(1, 3)).toBe(33.3);
    expect(percent(999, 1_000)).toBe(99.9);
    expect(percent(99_999, 100_000)).toBe(99.9);
    // 23 / 40 × 100 × 10 is 574.99… in floating point.
    expect(percent(23, 40)).toBe(57.5);
    expect(percent(0, 1_000)).toBe(0);
    expect(percent(1_000, 1_000)).toBe(100);
  });

  it('reads 0 before a scan has probes to send', () => {
    expect(view(scan({ status: 'PENDING', probesTotal: 0, startedAt: null }), at(0))).toEqual({
      probesTotal: 0,
      probesDone: 0,
      openPorts: 0,
      percent: 0,
      rate: 0,
      etaSeconds: null,
    });
  });

  it('moves the percent and rate by the engine estimate, and counts only stored probes', () => {
    const ahead = scan({ status: 'RUNNING', probesDone: 0, probesEstimate: 400 });
    expect(view(ahead, at(2_000))).toMatchObject({ probesDone: 0, percent: 40, rate: 200, etaSeconds: 3 });
    // The engine says it is done, but results are still on their way.
    const told = scan({ status: 'RUNNING', probesDone: 10, probesEstimate: 1_000 });
    expect(view(told, at(2_000))).toMatchObject({ probesDone: 10, percent: 99.9, etaSeconds: 0 });
  });

  it('has no time left once a scan has ended, done or not', () => {
    const cancelled = scan({ status: 'CANCELLED', probesDone: 300, probesEstimate: 300, finishedAt: at(1_000) });
    expect(view(cancelled, at(5_000))).toMatchObject({ percent: 30, rate: 300, etaSeconds: 0 });
  });
});
