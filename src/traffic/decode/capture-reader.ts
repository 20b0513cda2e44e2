import { InvalidInputError } from '../../errors.ts';
import { BlockType, MICROSECONDS, NANOSECONDS, type Resolution, readInterfaceOptions, timestampOf } from './pcapng.ts';

/** The longest record the reader accepts (libpcap's own limit): a longer one means the framing is broken. */
export const MAX_RECORD_BYTES = 262_144;
/** A block the reader must hold whole (a packet with its options, a section or interface header) may be this long. */
const MAX_HELD_BLOCK_BYTES = MAX_RECORD_BYTES + 65_536;

const PCAP_MICROS = 0xa1b2c3d4;
const PCAP_NANOS = 0xa1b23c4d;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;

/** An interface of the capture: pcap's one, or one of a pcapng section's interface description blocks. */
export interface CaptureInterface {
  /** Its index in its section (pcap: 0). */
  readonly id: number;
  readonly linkType: number;
  /** 0: no limit given. */
  readonly snapLength: number;
  readonly name: string | null;
  readonly description: string | null;
  readonly resolution: Resolution;
  /** Seconds to add to every timestamp (pcapng's `if_tsoffset`). */
  readonly timeOffset: number;
}

/** Where the framing of a capture is broken; `offset` is the byte at which the broken unit starts. */
export class CaptureFormatError extends InvalidInputError {
  override name = 'CaptureFormatError';
  readonly offset: number;

  constructor(message: string, offset: number) {
    super('capture', `${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/**
 * Receives each packet record: its bytes are `view[at, at + capturedLength)`;
 * `seconds` is -1 for a record without time. Returning false refuses the
 * record and halts the reader before it (a capture at its limit).
 */
export type RecordSink = (
  view: DataView,
  at: number,
  capturedLength: number,
  wireLength: number,
  seconds: number,
  nanos: number,
  iface: CaptureInterface,
) => boolean;

const State = { START: 0, PCAP_HEADER: 1, PCAP_RECORD: 2, PCAPNG_BLOCK: 3 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Frames a pcap or pcapng byte stream into packet records, whatever the
 * chunking: bytes in with `push`, records out to the sink, `end` when the
 * stream ends. It holds at most one unit (a record or a block) across chunks,
 * copied once; a block it need not read (statistics, name resolution, anything
 * unknown) it skips by its length without holding it.
 */
export class CaptureReader {
  format: 'pcap' | 'pcapng' | null = null;
  /** The interfaces of the current section (pcap: the one its header describes). */
  interfaces: CaptureInterface[] = [];
  /** Bytes consumed so far. */
  offset = 0;
  /** The largest unit held across chunks, in bytes. */
  largestHeld = 0;
  /** The sink refused a record: `offset` is where that record starts, and nothing more is read. */
  halted = false;
  private readonly sink: RecordSink;
  private state: State = State.START;
  private littleEndian = true;
  private nanosecondPcap = false;
  /** A unit split across chunks: `carryWant` bytes long, filled up to `carried`. */
  private carry: Uint8Array | null = null;
  private carried = 0;
  private carryWant = 0;
  /** Set by `needed` when the unit it measured is a block to skip; `skipping` counts its bytes still to come. */
  private skipUnit = false;
  private skipping = 0;
  private failed: CaptureFormatError | null = null;

  constructor(sink: RecordSink) {
    this.sink = sink;
  }

  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    try {
      this.read(chunk);
    } catch (error) {
      if (error instanceof CaptureFormatError) this.failed = error;
      throw error;
    }
  }

  /** The stream ended: a unit left half-read is an error (unless the sink halted the reader). */
  end(): void {
    if (this.failed) throw this.failed;
    if (this.halted) return;
    if (this.state === State.START && this.carry === null) {
      this.failed = new CaptureFormatError('empty stream: not a pcap or pcapng capture', this.offset);
    } else if (this.carry !== null || this.skipping > 0) {
      const missing = this.skipping || this.carryWant - this.carried;
      this.failed = new CaptureFormatError(`capture ends inside a ${this.unitName()}, ${missing} bytes short`, this.offset);
    }
    if (this.failed) throw this.failed;
  }

  private read(chunk: Uint8Array): void {
    if (this.halted) return;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const length = chunk.byteLength;
    let at = this.skip(0, length);
    if (this.carry !== null && at < length) at = this.fillCarry(chunk, at);
    while (at < length && !this.halted) {
      const available = length - at;
      const want = this.needed(view, at, available);
      if (this.skipUnit) {
        this.skipUnit = false;
        this.skipping = want;
        at = this.skip(at, length);
      } else if (want > available) {
        this.startCarry(chunk, at, want);
        return;
      } else if (this.consume(view, at, want)) {
        this.offset += want;
        at += want;
      }
    }
  }

  /** Passes over what is left of a skipped block in `[at, length)`; returns where reading goes on. */
  private skip(at: number, length: number): number {
    const skipped = Math.min(this.skipping, length - at);
    this.skipping -= skipped;
    this.offset += skipped;
    return at + skipped;
  }

  /** Completes the unit carried over from earlier chunks; returns where in `chunk` reading goes on. */
  private fillCarry(chunk: Uint8Array, at: number): number {
    for (;;) {
      let carry = this.carry as Uint8Array;
      const want = this.needed(new DataView(carry.buffer, 0, this.carried), 0, this.carried);
      if (this.skipUnit) {
        // The carried header is a block's that we skip: those bytes count as skipped, the rest is skipped as it comes.
        this.skipUnit = false;
        this.offset += this.carried;
        this.skipping = want - this.carried;
        this.carry = null;
        this.carried = 0;
        return this.skip(at, chunk.byteLength);
      }
      if (this.carried >= want) {
        this.carry = null;
        this.carried = 0;
        if (this.consume(new DataView(carry.buffer, 0, want), 0, want)) this.offset += want;
        return at;
      }
      if (carry.byteLength < want) {
        carry = new Uint8Array(want);
        carry.set((this.carry as Uint8Array).subarray(0, this.carried));
        this.carry = carry;
        this.largestHeld = Math.max(this.largestHeld, want);
      }
      this.carryWant = want;
      const take = Math.min(want - this.carried, chunk.byteLength - at);
      carry.set(chunk.subarray(at, at + take), this.carried);
      this.carried += take;
      at += take;
      if (this.carried < want) return at;
    }
  }

  private startCarry(chunk: Uint8Array, at: number, want: number): void {
    // A fresh buffer per carried unit: records handed out keep a view of it.
    const carry = new Uint8Array(want);
    carry.set(chunk.subarray(at));
    this.carry = carry;
    this.carried = chunk.byteLength - at;
    this.carryWant = want;
    this.largestHeld = Math.max(this.largestHeld, want);
  }

  /**
   * How many bytes the next unit takes, reading its header from the `available`
   * bytes at `at`: while the header itself is incomplete, the header's length.
   * Sets `skipUnit` when the unit is a block to skip.
   */
  private needed(view: DataView, at: number, available: number): number {
    switch (this.state) {
      case State.START: {
        if (available < 4) return 4;
        const magic = view.getUint32(at, false);
        if (magic === BlockType.SECTION_HEADER) {
          this.format = 'pcapng';
          this.state = State.PCAPNG_BLOCK;
          return this.needed(view, at, available);
        }
        const swapped = view.getUint32(at, true);
        if (magic === PCAP_MICROS || magic === PCAP_NANOS || swapped === PCAP_MICROS || swapped === PCAP_NANOS) {
          this.format = 'pcap';
          this.state = State.PCAP_HEADER;
          return 24;
        }
        throw new CaptureFormatError(`not a pcap or pcapng capture: it starts 0x${magic.toString(16).padStart(8, '0')}`, this.offset);
      }
      case State.PCAP_HEADER:
        return 24;
      case State.PCAP_RECORD: {
        if (available < 16) return 16;
        const captured = view.getUint32(at + 8, this.littleEndian);
        if (captured > MAX_RECORD_BYTES) {
          throw new CaptureFormatError(`record of ${captured} captured bytes is longer than ${MAX_RECORD_BYTES}`, this.offset);
        }
        return 16 + captured;
      }
      case State.PCAPNG_BLOCK: {
        if (available < 8) return 8;
        const type = view.getUint32(at, this.littleEndian);
        let littleEndian = this.littleEndian;
        if (type === BlockType.SECTION_HEADER) {
          if (available < 12) return 12;
          const order = view.getUint32(at + 8, true);
          if (order === PCAPNG_BYTE_ORDER) littleEndian = true;
          else if (view.getUint32(at + 8, false) === PCAPNG_BYTE_ORDER) littleEndian = false;
          else throw new CaptureFormatError(`section header with an unknown byte-order magic 0x${order.toString(16)}`, this.offset);
        }
        const length = view.getUint32(at + 4, littleEndian);
        if (length < 12 || length % 4 !== 0) {
          throw new CaptureFormatError(`block of type 0x${type.toString(16)} has an impossible length ${length}`, this.offset);
        }
        if (!isHeldBlock(type)) {
          this.skipUnit = true;
          return length;
        }
        if (length > MAX_HELD_BLOCK_BYTES) {
          throw new CaptureFormatError(
            `block of type 0x${type.toString(16)} is ${length} bytes, longer than ${MAX_HELD_BLOCK_BYTES}`,
            this.offset,
          );
        }
        return length;
      }
    }
  }

  /** Reads one whole unit; false when the sink refused its record (the reader is halted). */
  private consume(view: DataView, at: number, length: number): boolean {
    let accepted = true;
    if (this.state === State.PCAP_HEADER) this.pcapHeader(view, at);
    else if (this.state === State.PCAP_RECORD) accepted = this.pcapRecord(view, at, length);
    else if (this.state === State.PCAPNG_BLOCK) accepted = this.pcapngBlock(view, at, length);
    if (!accepted) this.halted = true;
    return accepted;
  }

  private pcapHeader(view: DataView, at: number): void {
    const magic = view.getUint32(at, false);
    this.littleEndian = magic !== PCAP_MICROS && magic !== PCAP_NANOS;
    this.nanosecondPcap = view.getUint32(at, this.littleEndian) === PCAP_NANOS;
    const snapLength = view.getUint32(at + 16, this.littleEndian);
    // The link type is the low 16 bits; the bits above carry the FCS length.
    const linkType = view.getUint32(at + 20, this.littleEndian) & 0xffff;
    const resolution = this.nanosecondPcap ? NANOSECONDS : MICROSECONDS;
    this.interfaces = [{ id: 0, linkType, snapLength, name: null, description: null, resolution, timeOffset: 0 }];
    this.state = State.PCAP_RECORD;
  }

  private pcapRecord(view: DataView, at: number, length: number): boolean {
    const le = this.littleEndian;
    const fraction = view.getUint32(at + 4, le);
    return this.sink(
      view,
      at + 16,
      length - 16,
      view.getUint32(at + 12, le),
      view.getUint32(at, le),
      this.nanosecondPcap ? fraction : fraction * 1000,
      this.interfaces[0] as CaptureInterface,
    );
  }

  private pcapngBlock(view: DataView, at: number, length: number): boolean {
    // A section header's type reads the same in both byte orders, and its byte-order magic sets the section's.
    const type = view.getUint32(at, this.littleEndian);
    if (type === BlockType.SECTION_HEADER) this.littleEndian = view.getUint32(at + 8, true) === PCAPNG_BYTE_ORDER;
    const le = this.littleEndian;
    if (view.getUint32(at + length - 4, le) !== length) {
      throw new CaptureFormatError(
        `block of type 0x${type.toString(16)}: its trailing length differs from its leading ${length}`,
        this.offset,
      );
    }
    switch (type) {
      case BlockType.SECTION_HEADER: {
        const major = view.getUint16(at + 12, le);
        if (major !== 1) throw new CaptureFormatError(`pcapng version ${major} is not one this reader knows (1)`, this.offset);
        this.interfaces = [];
        return true;
      }
      case BlockType.INTERFACE_DESCRIPTION: {
        if (length < 20) throw new CaptureFormatError(`interface description block of ${length} bytes is too short`, this.offset);
        const options = readInterfaceOptions(view, at + 16, at + length - 4, le);
        this.interfaces.push({
          id: this.interfaces.length,
          linkType: view.getUint16(at + 8, le),
          snapLength: view.getUint32(at + 12, le),
          ...options,
        });
        return true;
      }
      case BlockType.ENHANCED_PACKET:
      case BlockType.OBSOLETE_PACKET: {
        if (length < 32) throw new CaptureFormatError(`packet block of ${length} bytes is too short`, this.offset);
        const id = type === BlockType.ENHANCED_PACKET ? view.getUint32(at + 8, le) : view.getUint16(at + 8, le);
        const iface = this.interface(id);
        const captured = view.getUint32(at + 20, le);
        if (captured > length - 32 || captured > MAX_RECORD_BYTES) {
          throw new CaptureFormatError(`packet block of ${length} bytes claims ${captured} captured bytes`, this.offset);
        }
        const time = timestampOf(view.getUint32(at + 12, le), view.getUint32(at + 16, le), iface.resolution);
        return this.sink(view, at + 28, captured, view.getUint32(at + 24, le), time.seconds + iface.timeOffset, time.nanos, iface);
      }
      case BlockType.SIMPLE_PACKET: {
        if (length < 16) throw new CaptureFormatError(`simple packet block of ${length} bytes is too short`, this.offset);
        const iface = this.interface(0);
        const wire = view.getUint32(at + 8, le);
        let captured = Math.min(wire, length - 16);
        if (iface.snapLength > 0) captured = Math.min(captured, iface.snapLength);
        return this.sink(view, at + 12, captured, wire, -1, 0, iface);
      }
    }
    return true;
  }

  private interface(id: number): CaptureInterface {
    const iface = this.interfaces[id];
    if (!iface) throw new CaptureFormatError(`packet block names interface ${id}, which its section does not describe`, this.offset);
    return iface;
  }

  private unitName(): string {
    if (this.state === State.START) return 'file header';
    if (this.state === State.PCAP_HEADER) return 'pcap file header';
    return this.state === State.PCAP_RECORD ? 'pcap record' : 'pcapng block';
  }
}

function isHeldBlock(type: number): boolean {
  return (
    type === BlockType.SECTION_HEADER ||
    type === BlockType.INTERFACE_DESCRIPTION ||
    type === BlockType.ENHANCED_PACKET ||
    type === BlockType.SIMPLE_PACKET ||
    type === BlockType.OBSOLETE_PACKET
  );
}
