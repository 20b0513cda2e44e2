import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test/helpers/random.ts';
import { resolutionOf, timestampOf } from './pcapng.ts';

describe('pcapng timestamps', () => {
  it('read if_tsresol as a power of ten, or of two with the high bit', () => {
    expect(resolutionOf(6)).toEqual({ unitsPerSecond: 1e6, decimal: true });
    expect(resolutionOf(9)).toEqual({ unitsPerSecond: 1e9, decimal: true });
    expect(resolutionOf(0x80 | 20)).toEqual({ unitsPerSecond: 2 ** 20, decimal: false });
  });

  it('convert exactly, as BigInt arithmetic does, at every resolution and magnitude', () => {
    const next = seededRandom(13);
    for (const byte of [0, 3, 6, 9, 10, 12, 0x80, 0x80 | 10, 0x80 | 23, 0x80 | 24, 0x80 | 32, 0x80 | 40]) {
      const resolution = resolutionOf(byte);
      const units = BigInt(resolution.unitsPerSecond);
      for (let i = 0; i < 2000; i++) {
        // Values across the whole 64-bit range, and around today's times at this resolution.
        const high = i % 2 ? Math.floor(next() * 2 ** 32) : Math.floor(Number((1_800_000_000n * units) >> 32n) * next());
        const low = i % 7 === 0 ? 0xffffffff : Math.floor(next() * 2 ** 32);
        const value = (BigInt(high) << 32n) | BigInt(low);
        const { seconds, nanos } = timestampOf(high, low, resolution);
        const expectedSeconds = value / units;
        if (expectedSeconds > BigInt(Number.MAX_SAFE_INTEGER)) continue;
        expect([seconds, nanos]).toEqual([Number(expectedSeconds), Number(((value % units) * 1_000_000_000n) / units)]);
      }
    }
  });
});
