import { z } from 'zod';
import { parseWith } from '../platform/zod.ts';
import { DEFAULT_SCAN_OPTIONS, type ScanOptions as EngineOptions } from './engine/scanner.ts';

/** `ScanOptionsInput` of the schema: each option may be left out. */
export type ScanOptionsInput = {
  timeoutMs?: number | null;
  concurrency?: number | null;
  retries?: number | null;
  maxRate?: number | null;
  bannerGrab?: boolean | null;
};

/** How a scan probes, as the user asked and as the scan row keeps it; the engine's defaults fill the rest. */
export type ScanSettings = Partial<Pick<EngineOptions, 'timeoutMs' | 'concurrency' | 'retries' | 'maxRate' | 'bannerGrab'>>;

/** One message for a wrong type and a value out of bounds: either way the fix is the same. */
const bounded = (key: string, min: number, max: number) => {
  const error = `\`${key}\` must be an integer from ${min} to ${max}.`;
  return z.int({ error }).min(min, { error }).max(max, { error }).nullish();
};

/**
 * Bounds of each option: wide enough for real use, narrow enough that one
 * scan cannot starve a worker. Key order is the order options are checked in,
 * so the one a client hears of first.
 */
const schema = z.object({
  timeoutMs: bounded('timeoutMs', 50, 60_000),
  concurrency: bounded('concurrency', 1, 5_000),
  retries: bounded('retries', 0, 5),
  maxRate: bounded('maxRate', 0, 1_000_000),
  bannerGrab: z.boolean({ error: '`bannerGrab` must be true or false.' }).nullish(),
});

/** The options of a scan: only those the user gave, each within its bounds. */
export class ScanOptions {
  readonly #settings: Readonly<ScanSettings>;

  private constructor(settings: ScanSettings) {
    this.#settings = Object.freeze({ ...settings });
  }

  /** Options from the API; an omitted (or null) option is left to the engine. InvalidInputError(`options.<key>`) for one out of bounds. */
  static parse(input: ScanOptionsInput | null | undefined): ScanOptions {
    const parsed = parseWith(schema, input ?? {}, 'options');
    const given = Object.entries(parsed).filter(([, value]) => value != null);
    return new ScanOptions(Object.fromEntries(given) as ScanSettings);
  }

  /** Options as a scan row keeps them, checked when they were first parsed. */
  static of(stored: ScanSettings): ScanOptions {
    return new ScanOptions(stored);
  }

  /** What the scan row stores: the options given, and no others. */
  toJSON(): ScanSettings {
    return { ...this.#settings };
  }

  /** What an engine is handed: these options over the engine's defaults. */
  forEngine(): EngineOptions {
    return { ...DEFAULT_SCAN_OPTIONS, ...this.#settings };
  }
}
