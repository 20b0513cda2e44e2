import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { progressThrottle, watchCancellation } from './scan-job-controls.ts';

describe('progressThrottle', () => {
  const setup = () => {
    let t = 1_000;
    const told: number[] = [];
    const tell = progressThrottle((now) => told.push(now.getTime()), 100, { now: () => new Date(t) });
    return {
      tell,
      told,
      at: (ms: number) => {
        t = ms;
      },
    };
  };

  it('tells the first progress at once', () => {
    const { tell, told } = setup();
    expect(tell()).toBe(true);
    expect(told).toEqual([1_000]);
  });

  it('tells at most once per interval, with the time it told', () => {
    const { tell, told, at } = setup();
    tell();
    at(1_050);
    expect(tell()).toBe(false);
    at(1_099);
    expect(tell()).toBe(false);
    at(1_100);
    expect(tell()).toBe(true);
    at(1_150);
    expect(tell()).toBe(false);
    expect(told).toEqual([1_000, 1_100]);
  });

  it('tells when forced, and counts the interval from then', () => {
    const { tell, told, at } = setup();
    tell();
    at(1_010);
    expect(tell(true)).toBe(true);
    at(1_100);
    expect(tell()).toBe(false);
    at(1_110);
    expect(tell()).toBe(true);
    expect(told).toEqual([1_000, 1_010, 1_110]);
  });
});

describe('watchCancellation', () => {
  it('aborts within a poll of the scan being cancelled elsewhere', async () => {
    let cancelled = false;
    const watch = watchCancellation(async () => cancelled, new AbortController().signal, 10);
    await sleep(40);
    expect(watch.signal.aborted).toBe(false);
    cancelled = true;
    await sleep(40);
    expect(watch.signal.aborted).toBe(true);
    watch.stop();
  });

  it('aborts when the worker stops, or has already stopped', () => {
    const stopping = new AbortController();
    const watch = watchCancellation(async () => false, stopping.signal, 1_000);
    expect(watch.signal.aborted).toBe(false);
    stopping.abort();
    expect(watch.signal.aborted).toBe(true);
    expect(watchCancellation(async () => false, stopping.signal, 1_000).signal.aborted).toBe(true);
  });

  it('aborts when told to, leaving the worker be', () => {
    const stopping = new AbortController();
    const watch = watchCancellation(async () => false, stopping.signal, 1_000);
    watch.abort();
    expect(watch.signal.aborted).toBe(true);
    expect(stopping.signal.aborted).toBe(false);
  });

  it('asks no more once stopped, or once aborted', async () => {
    let asked = 0;
    const stopped = watchCancellation(
      async () => {
        asked++;
        return false;
      },
      new AbortController().signal,
      5,
    );
    await sleep(30);
    stopped.stop();
    const before = asked;
    await sleep(30);
    expect(before).toBeGreaterThan(0);
    expect(asked).toBe(before);

    let askedAfterAbort = 0;
    const aborted = watchCancellation(
      async () => {
        askedAfterAbort++;
        return false;
      },
      new AbortController().signal,
      5,
    );
    aborted.abort();
    await sleep(30);
    expect(askedAfterAbort).toBe(0);
  });

  it('asks again after a failed question, and one question at a time', async () => {
    let asked = 0;
    let open = 0;
    let most = 0;
    const watch = watchCancellation(
      async () => {
        asked++;
        open++;
        most = Math.max(most, open);
        await sleep(25);
        open--;
        if (asked === 1) throw new Error('database away');
        return asked >= 3;
      },
      new AbortController().signal,
      5,
    );
    for (let waited = 0; !watch.signal.aborted && waited < 2_000; waited += 10) await sleep(10);
    expect(watch.signal.aborted).toBe(true);
    expect(asked).toBe(3);
    expect(most).toBe(1);
    watch.stop();
  });
});
