import { describe, expect, it } from 'vitest';
import { ConflictError } from '../errors.ts';
import { Target } from '../net/target.ts';
import { PortSpec } from './port-spec.ts';
import { Scan } from './scan.entity.ts';
import { canTransition, isFinished, SCAN_STATUSES, type ScanStatus } from './scan-status.ts';

const t0 = new Date('2026-11-23T10:00:00.000Z');
const t1 = new Date('2026-11-23T10:00:05.000Z');
const newScan = () => Scan.create({ targets: [Target.parse('127.0.0.1')], ports: PortSpec.parse('80'), scanType: 'CONNECT', now: t0 });

describe('scan status rules', () => {
  it('allows exactly the documented transitions', () => {
    const legal = SCAN_STATUSES.flatMap((from) => SCAN_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
    expect(legal.sort()).toEqual(
      [
        'PENDING->CANCELLED',
        'PENDING->QUEUED',
        'QUEUED->CANCELLED',
        'QUEUED->FAILED',
        'QUEUED->RUNNING',
        'RUNNING->CANCELLED',
        'RUNNING->COMPLETED',
        'RUNNING->FAILED',
      ].sort(),
    );
  });

  it('treats COMPLETED, FAILED and CANCELLED as final', () => {
    expect(SCAN_STATUSES.filter(isFinished)).toEqual(['COMPLETED', 'FAILED', 'CANCELLED']);
  });
});

describe('Scan', () => {
  it('starts PENDING with both timestamps at creation', () => {
    const scan = newScan();
    expect(scan).toMatchObject({ status: 'PENDING', createdAt: t0, updatedAt: t0, startedAt: null, finishedAt: null, error: null });
  });

  it('runs through its life and returns an event per change', () => {
    const scan = newScan();
    expect(scan.queue(t0)).toEqual({ type: 'ScanTransition', scanId: scan.id, from: 'PENDING', to: 'QUEUED', at: t0 });
    scan.start(t0, 1);
    expect(scan.startedAt).toBe(t0);
    const done = scan.complete(t1);
    expect(done.to).toBe('COMPLETED');
    expect(scan).toMatchObject({ status: 'COMPLETED', finishedAt: t1, updatedAt: t1 });
  });

  it('records why it failed', () => {
    const scan = newScan();
    scan.queue(t0);
    scan.fail(t1, 'nmap is not installed');
    expect(scan).toMatchObject({ status: 'FAILED', error: 'nmap is not installed', finishedAt: t1 });
  });

  it('counts its stored results by state, and the engine estimate never falls behind them', () => {
    const scan = newScan();
    scan.queue(t0);
    scan.start(t0, 100);
    scan.probesEstimate = 40;
    scan.countResults({ OPEN: 2, CLOSED: 20, FILTERED: 3 });
    expect(scan).toMatchObject({ probesDone: 25, openPorts: 2, closedPorts: 20, filteredPorts: 3, probesEstimate: 40 });
    scan.countResults({ OPEN: 2, CLOSED: 60, FILTERED: 3 });
    expect(scan).toMatchObject({ probesDone: 65, probesEstimate: 65 });
  });

  it('starts again as a retry with the new total, keeping its start, counts and last change', () => {
    const scan = newScan();
    scan.queue(t0);
    scan.start(t0, 100);
    scan.countResults({ OPEN: 1, CLOSED: 9, FILTERED: 0 });
    scan.restart(120);
    expect(scan).toMatchObject({
      status: 'RUNNING',
      probesTotal: 120,
      probesDone: 10,
      openPorts: 1,
      startedAt: t0,
      updatedAt: t0,
      finishedAt: null,
    });
  });

  it.each([
    ['PENDING', (s: Scan) => s],
    ['QUEUED', (s: Scan) => s.queue(t0)],
    ['CANCELLED', (s: Scan) => s.cancel(t0)],
    [
      'COMPLETED',
      (s: Scan) => {
        s.queue(t0);
        s.start(t0, 1);
        s.complete(t0);
      },
    ],
  ])('refuses to start a %s scan again and changes nothing', (status, reach) => {
    const scan = newScan();
    reach(scan);
    const before = { ...scan };
    expect(() => scan.restart(5)).toThrow(ConflictError);
    expect(() => scan.restart(5)).toThrow(`The scan is ${status}; only a RUNNING scan can start again.`);
    expect({ ...scan }).toEqual(before);
  });

  it('refuses an illegal transition with a conflict and changes nothing', () => {
    const scan = newScan();
    const attempts: [string, (s: Scan) => unknown][] = [
      ['start', (s) => s.start(t1, 1)],
      ['complete', (s) => s.complete(t1)],
    ];
    for (const [name, attempt] of attempts) {
      expect(() => attempt(scan), name).toThrow(ConflictError);
    }
    expect(scan).toMatchObject({ status: 'PENDING' as ScanStatus, updatedAt: t0, startedAt: null, finishedAt: null });
    scan.cancel(t1);
    expect(() => scan.cancel(t1)).toThrow('cannot become CANCELLED');
  });
});
