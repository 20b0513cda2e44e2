/** pcapng's block types, interface options and timestamps (draft-ietf-opsawg-pcapng). */

export const BlockType = {
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  OBSOLETE_PACKET: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  NAME_RESOLUTION: 0x00000004,
  INTERFACE_STATISTICS: 0x00000005,
  ENHANCED_PACKET: 0x00000006,
  DECRYPTION_SECRETS: 0x0000000a,
} as const;

/** A timestamp's unit: `unitsPerSecond` of them make a second (`if_tsresol`: a power of ten, or of two when not `decimal`). */
export interface Resolution {
  readonly unitsPerSecond: number;
  readonly decimal: boolean;
}

export const MICROSECONDS: Resolution = { unitsPerSecond: 1e6, decimal: true };
export const NANOSECONDS: Resolution = { unitsPerSecond: 1e9, decimal: true };

const OPTION_END = 0;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

const utf8 = new TextDecoder();

export interface InterfaceOptions {
  name: string | null;
  description: string | null;
  resolution: Resolution;
  timeOffset: number;
}

/** Reads an interface description block's options in `[at, end)`; an option that overruns the block ends them. */
export function readInterfaceOptions(view: DataView, at: number, end: number, littleEndian: boolean): InterfaceOptions {
  const options: InterfaceOptions = { name: null, description: null, resolution: MICROSECONDS, timeOffset: 0 };
  while (end - at >= 4) {
    const code = view.getUint16(at, littleEndian);
    const length = view.getUint16(at + 2, littleEndian);
    const value = at + 4;
    if (code === OPTION_END || value + length > end) break;
    if (code === IF_NAME) options.name = text(view, value, length);
    else if (code === IF_DESCRIPTION) options.description = text(view, value, length);
    else if (code === IF_TSRESOL && length >= 1) options.resolution = resolutionOf(view.getUint8(value));
    else if (code === IF_TSOFFSET && length >= 8) options.timeOffset = Number(view.getBigInt64(value, littleEndian));
    at = value + ((length + 3) & ~3);
  }
  return options;
}

function text(view: DataView, at: number, length: number): string {
  // Strings may carry a terminating NUL; it is not part of the name.
  let end = at + length;
  while (end > at && view.getUint8(end - 1) === 0) end--;
  return utf8.decode(new Uint8Array(view.buffer, view.byteOffset + at, end - at));
}

/** `if_tsresol`: the high bit says a power of two, else of ten; the rest is the negative exponent. */
export function resolutionOf(byte: number): Resolution {
  const exponent = byte & 0x7f;
  if (byte & 0x80) return { unitsPerSecond: 2 ** exponent, decimal: false };
  return { unitsPerSecond: 10 ** exponent, decimal: true };
}

/** One timestamp, reused by every call of `timestampOf` (the reader hands its fields on at once). */
export interface Timestamp {
  seconds: number;
  nanos: number;
}
const stamp: Timestamp = { seconds: 0, nanos: 0 };
const TWO_32 = 4294967296;

/**
 * A 64-bit timestamp (`high`, `low` 32-bit halves) in units of `resolution`, as
 * seconds and nanoseconds, exactly: plain doubles while the value fits in 53
 * bits, 16-bit long division above (nanosecond pcapng), BigInt for units finer
 * than a nanosecond or beyond 2^32 per second.
 */
export function timestampOf(high: number, low: number, resolution: Resolution): Timestamp {
  const units = resolution.unitsPerSecond;
  if (high < 0x200000) {
    const value = high * TWO_32 + low;
    let seconds = Math.floor(value / units);
    let rest = value - seconds * units;
    if (rest < 0) {
      seconds--;
      rest += units;
    } else if (rest >= units) {
      seconds++;
      rest -= units;
    }
    if (fastNanos(rest, units, resolution.decimal)) {
      stamp.seconds = seconds;
      return stamp;
    }
  } else if (units <= TWO_32) {
    const highSeconds = Math.floor(high / units);
    const t1 = (high - highSeconds * units) * 65536 + (low >>> 16);
    const q1 = Math.floor(t1 / units);
    const t2 = (t1 - q1 * units) * 65536 + (low & 0xffff);
    const q2 = Math.floor(t2 / units);
    if (fastNanos(t2 - q2 * units, units, resolution.decimal)) {
      stamp.seconds = highSeconds * TWO_32 + q1 * 65536 + q2;
      return stamp;
    }
  }
  const value = (BigInt(high) << 32n) | BigInt(low);
  const bigUnits = BigInt(units);
  stamp.seconds = Number(value / bigUnits);
  stamp.nanos = Number(((value % bigUnits) * 1_000_000_000n) / bigUnits);
  return stamp;
}

/** Sets `stamp.nanos` from `rest` units when that is exact in doubles; false when it is not. */
function fastNanos(rest: number, units: number, decimal: boolean): boolean {
  if (units === 1e9) stamp.nanos = rest;
  else if (decimal && units < 1e9) stamp.nanos = rest * (1e9 / units);
  else if (!decimal && units <= 2 ** 23) stamp.nanos = Math.floor((rest * 1e9) / units);
  else return false;
  return true;
}
