import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { DEFAULT_SCAN_OPTIONS } from './engine/scanner.ts';
import { ScanOptions, type ScanOptionsInput } from './scan-options.ts';

const BOUNDS = [
  ['timeoutMs', 50, 60_000],
  ['concurrency', 1, 5_000],
  ['retries', 0, 5],
  ['maxRate', 0, 1_000_000],
] as const;

const refusal = (input: unknown): InvalidInputError => {
  try {
    ScanOptions.parse(input as ScanOptionsInput);
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error(`${JSON.stringify(input)} was accepted`);
};

describe('ScanOptions.parse', () => {
  it('keeps no option when none is given', () => {
    expect(ScanOptions.parse(undefined).toJSON()).toEqual({});
    expect(ScanOptions.parse(null).toJSON()).toEqual({});
    expect(ScanOptions.parse({}).toJSON()).toEqual({});
  });

  it('leaves a null option to the engine, as an omitted one', () => {
    expect(ScanOptions.parse({ timeoutMs: null, concurrency: 10, retries: null, maxRate: null, bannerGrab: null }).toJSON()).toEqual({
      concurrency: 10,
    });
  });

  it('keeps every option given within its bounds', () => {
    const input = { timeoutMs: 200, concurrency: 20, retries: 2, maxRate: 300, bannerGrab: true };
    expect(ScanOptions.parse(input).toJSON()).toEqual(input);
    expect(ScanOptions.parse({ bannerGrab: false }).toJSON()).toEqual({ bannerGrab: false });
  });

  it.each(BOUNDS)('accepts %s at both of its bounds', (key, min, max) => {
    expect(ScanOptions.parse({ [key]: min }).toJSON()).toEqual({ [key]: min });
    expect(ScanOptions.parse({ [key]: max }).toJSON()).toEqual({ [key]: max });
  });

  it.each(BOUNDS)('refuses %s just outside its bounds, naming the option', (key, min, max) => {
    const message = `\`${key}\` must be an integer from ${min} to ${max}.`;
    for (const value of [min - 1, max + 1]) {
      expect(refusal({ [key]: value })).toMatchObject({ field: `options.${key}`, message });
    }
  });

  it.each(BOUNDS)('refuses a %s that is not an integer with the same message', (key, min, max) => {
    const message = `\`${key}\` must be an integer from ${min} to ${max}.`;
    for (const value of [min + 0.5, Number.NaN, Number.POSITIVE_INFINITY, '10', true]) {
      expect(refusal({ [key]: value })).toMatchObject({ field: `options.${key}`, message });
    }
  });

  it('refuses a bannerGrab that is not a boolean', () => {
    expect(refusal({ bannerGrab: 'yes' })).toMatchObject({ field: 'options.bannerGrab', message: '`bannerGrab` must be true or false.' });
  });

  it('names the first option out of bounds, in the order timeoutMs, concurrency, retries, maxRate', () => {
    expect(refusal({ maxRate: -1, retries: 9, concurrency: 0, timeoutMs: 1 }).field).toBe('options.timeoutMs');
    expect(refusal({ maxRate: -1, retries: 9, concurrency: 0 }).field).toBe('options.concurrency');
    expect(refusal({ maxRate: -1, retries: 9 }).field).toBe('options.retries');
  });

  it('ignores keys it does not know', () => {
    expect(ScanOptions.parse({ concurrency: 3, bannerMaxBytes: 9 } as ScanOptionsInput).toJSON()).toEqual({ concurrency: 3 });
  });
});

describe('ScanOptions', () => {
  it("hands an engine the options given over the engine's defaults", () => {
    expect(ScanOptions.parse({ timeoutMs: 300, bannerGrab: true }).forEngine()).toEqual({
      ...DEFAULT_SCAN_OPTIONS,
      timeoutMs: 300,
      bannerGrab: true,
    });
    expect(ScanOptions.of({}).forEngine()).toEqual(DEFAULT_SCAN_OPTIONS);
  });

  it('is not changed by changing what it was made from or what it gave', () => {
    const stored = { retries: 2 };
    const options = ScanOptions.of(stored);
    stored.retries = 5;
    options.toJSON().retries = 4;
    expect(options.toJSON()).toEqual({ retries: 2 });
  });
});
