import { performance } from 'node:perf_hooks';
import type { Clock } from '../../platform/clock.ts';
import { CaptureDecoder } from '../decode/capture-decoder.ts';
import { CaptureFormatError } from '../decode/capture-reader.ts';
import type { PacketSummary } from '../decode/summary.ts';
import { Flow, FlowTable } from '../flows/flow-table.ts';
import { type TallyRecord, TrafficTally } from '../flows/traffic-tally.ts';
import { CaptureFailure, type PacketSource, type SourceReport } from '../source/packet-source.ts';

export interface CaptureLimits {
  maxPackets: number;
  /** Wall-clock seconds; not a positive finite number (or beyond a timer's reach, ~24 days): no limit. */
  maxSeconds: number;
  /** Captured bytes. */
  maxBytes: number;
}

export interface RunStats {
  packets: number;
  /** Bytes on the wire. */
  bytes: number;
  capturedBytes: number;
  /** Packets whose layers were cut short or malformed. */
  decodeErrors: number;
  droppedByKernel: number;
  /** Packets of new flows refused because the flow table was full. */
  untrackedFlows: number;
  /** Over wall time (the clock) since the start, until the end for the final stats. */
  packetsPerSecond: number;
  bytesPerSecond: number;
  startedAt: Date;
}

export interface CaptureFlush {
  /** Flows changed since the last flush, copied as they stood when it began. */
  flows: Flow[];
  stats: RunStats;
  tally: TallyRecord;
  final: boolean;
}

export type CaptureEndReason = 'end' | 'maxPackets' | 'maxBytes' | 'maxSeconds' | 'stopped' | 'failed';

export interface CaptureEnd {
  status: 'COMPLETED' | 'STOPPED' | 'FAILED';
  reason: CaptureEndReason;
  error: string | null;
  stats: RunStats;
}

export interface CaptureRunOptions {
  source: PacketSource;
  limits: CaptureLimits;
  /** 0: as fast as it comes; s > 0: play packet times at s× (1 = as recorded). Live sources use 0. */
  speed: number;
  /** Aborted by stopCapture: the run ends STOPPED within a second. */
  stop: AbortSignal;
  clock: Clock;
  /**
   * The capture's raw bytes as the source gave them, up to the end of the last
   * unit (record or block) the decoder consumed: exactly the packets counted,
   * a valid pcap / pcapng (saved as evidence). Awaited (back-pressure is fine).
   */
  onBytes?: (chunk: Uint8Array) => void | Promise<void>;
  /** Decoded packets, about every batchMs or as soon as batchSize are pending. Called synchronously, never awaited. */
  onPackets: (packets: PacketSummary[]) => void;
  /**
   * About every flushMs and once at the end (final: true). Awaited one at a
   * time; the capture goes on while a flush is in flight (a flush due while
   * one runs is merged into the next).
   */
  onFlush: (flush: CaptureFlush) => Promise<void>;
  /** Default 100. */
  batchMs?: number;
  /** Default 2000. */
  batchSize?: number;
  /** Default 1000. */
  flushMs?: number;
  /** Flows held at most (FlowTable maxFlows). */
  maxFlows?: number;
  /** Idle flows are evicted once flushed and not seen for this many seconds of capture time (default 120). */
  evictAfterSeconds?: number;
}

/** Longest a timer can wait (setTimeout fires at once beyond it). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long the source may take to report once it was told to stop, or once its bytes ended (it should have by then). */
const ENDED_GRACE_MS = 500;
const ENDED_AFTER_END_MS = 5000;
/** Busy decoding longer than this without a turn of the event loop lets timers run. */
const YIELD_EVERY_MS = 10;

const INTERRUPTED: unique symbol = Symbol('interrupted');

type Interruption = { reason: 'stopped' | 'maxSeconds' } | { error: unknown };

/**
 * Runs one capture: reads its source, decodes, counts flows and tallies,
 * streams packets and flushes to the callbacks, and ends on a limit, a stop,
 * the end of the source, or a failure. A `CaptureFailure` or a broken capture
 * ends it FAILED; any other error (a callback throwing) is thrown.
 */
export async function runCapture(options: CaptureRunOptions): Promise<CaptureEnd> {
  return new CaptureRun(options).run();
}

class CaptureRun {
  private readonly options: CaptureRunOptions;
  private readonly batchMs: number;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly evictAfterSeconds: number;
  private readonly decoder = new CaptureDecoder();
  private readonly flows: FlowTable;
  private readonly tally = new TrafficTally();
  private readonly controller = new AbortController();
  private readonly startedAt: Date;
  private endedAt: Date | null = null;

  private packets = 0;
  private bytes = 0;
  private capturedBytes = 0;
  private decodeErrors = 0;
  private droppedByKernel = 0;
  /** The latest capture time seen, seconds. */
  private latestSeconds = Number.NEGATIVE_INFINITY;

  private pending: PacketSummary[] = [];
  /** Bytes pushed to the decoder and not yet given to onBytes (the tail of a unit it holds), oldest first. */
  private untee: Uint8Array[] = [];
  private teed = 0;

  private flushing: Promise<void> | null = null;
  private flushDue = false;
  private finishing = false;

  private interruption: Interruption | null = null;
  private waiter: (() => void) | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private lastYield = performance.now();

  /** Pacing: the monotonic moment the first timed packet was released, and its capture time (ms). */
  private paceStart = 0;
  private paceOrigin: number | null = null;

  constructor(options: CaptureRunOptions) {
    this.options = options;
    this.batchMs = options.batchMs ?? 100;
    this.batchSize = Math.max(1, options.batchSize ?? 2000);
    this.flushMs = options.flushMs ?? 1000;
    this.evictAfterSeconds = options.evictAfterSeconds ?? 120;
    this.flows = new FlowTable(options.maxFlows === undefined ? {} : { maxFlows: options.maxFlows });
    this.decoder.limit({ packets: options.limits.maxPackets, capturedBytes: options.limits.maxBytes });
    this.startedAt = options.clock.now();
  }

  async run(): Promise<CaptureEnd> {
    const { stop, limits } = this.options;
    const onStop = () => this.interrupt({ reason: 'stopped' });
    stop.addEventListener('abort', onStop, { once: true });
    if (stop.aborted) onStop();
    const maxMs = limits.maxSeconds * 1000;
    if (Number.isFinite(maxMs) && maxMs > 0 && maxMs <= MAX_TIMER_MS) {
      this.timers.push(setTimeout(() => this.interrupt({ reason: 'maxSeconds' }), maxMs));
    }
    this.timers.push(setInterval(() => this.emit(), this.batchMs));
    this.timers.push(setInterval(() => this.requestFlush(), this.flushMs));

    const run = this.options.source.open(this.controller.signal);
    const iterator = run.bytes[Symbol.asyncIterator]();
    let reason: CaptureEndReason = 'end';
    let error: string | null = null;
    let sourceDone = false;
    try {
      try {
        for (;;) {
          const next = await this.raced(iterator.next());
          if (next === INTERRUPTED) break;
          if (next.done) {
            sourceDone = true;
            break;
          }
          await this.chunk(next.value);
          if (this.decoder.halted) {
            reason = this.decoder.stats.packets >= limits.maxPackets ? 'maxPackets' : 'maxBytes';
            break;
          }
          if (this.interruption) break;
          await this.yieldNow();
        }
      } catch (caught) {
        const failure = failureOf(caught);
        if (failure === null) throw caught;
        reason = 'failed';
        error = failure;
      }
      const interruption = this.interruption as Interruption | null;
      if (interruption && 'error' in interruption) throw interruption.error;
      if (reason === 'end' && !sourceDone && interruption) reason = interruption.reason;

      this.finishing = true;
      if (!sourceDone) this.stopSource(iterator);
      const report = await settle(run.ended, sourceDone ? ENDED_AFTER_END_MS : ENDED_GRACE_MS);
      if (report.ok) this.droppedByKernel = report.value?.droppedByKernel ?? 0;
      else if (reason === 'end') {
        // The source's own word on why it ended comes before what its bytes lack.
        const failure = failureOf(report.error);
        if (failure === null) throw report.error;
        reason = 'failed';
        error = failure;
      }
      if (reason === 'end') {
        try {
          this.decoder.end();
        } catch (caught) {
          const failure = failureOf(caught);
          if (failure === null) throw caught;
          reason = 'failed';
          error = failure;
        }
      }
      this.clearTimers();
      this.emit();
      while (this.flushing) await this.flushing;
      const late = this.interruption as Interruption | null;
      if (late && 'error' in late) throw late.error;
      this.endedAt = this.options.clock.now();
      await this.options.onFlush(this.flush(true));
      const status = reason === 'failed' ? 'FAILED' : reason === 'stopped' ? 'STOPPED' : 'COMPLETED';
      return { status, reason, error, stats: this.stats() };
    } finally {
      this.finishing = true;
      stop.removeEventListener('abort', onStop);
      this.clearTimers();
      if (!sourceDone) this.stopSource(iterator);
    }
  }

  /** Decodes one chunk, saves the bytes it consumed, and releases its packets (paced when asked). */
  private async chunk(chunk: Uint8Array): Promise<void> {
    let packets: PacketSummary[];
    let broken: unknown = null;
    try {
      packets = this.decoder.push(chunk);
    } catch (error) {
      // The packets before the break count (and reach subscribers) before the capture fails.
      broken = error;
      packets = this.decoder.takeDecoded();
    }
    await this.tee(chunk);
    if (this.options.speed > 0) await this.pace(packets);
    else this.release(packets, 0, packets.length);
    if (broken !== null) throw broken;
  }

  /** Gives onBytes the bytes up to `decoder.offset`, holding back the start of a unit not yet complete. */
  private async tee(chunk: Uint8Array): Promise<void> {
    const onBytes = this.options.onBytes;
    if (!onBytes) return;
    this.untee.push(chunk);
    let due = this.decoder.offset - this.teed;
    while (due > 0 && this.untee.length) {
      const head = this.untee[0] as Uint8Array;
      const part = head.byteLength <= due ? head : head.subarray(0, due);
      if (part === head) this.untee.shift();
      else this.untee[0] = head.subarray(due);
      due -= part.byteLength;
      this.teed += part.byteLength;
      if (part.byteLength) await onBytes(part);
    }
    // A halted decoder reads no more: what is left is not part of the capture.
    if (this.decoder.halted) this.untee = [];
  }

  /** Releases packets no earlier than their capture time allows at this speed, sleeping between groups. */
  private async pace(packets: PacketSummary[]): Promise<void> {
    const speed = this.options.speed;
    let from = 0;
    for (let i = 0; i < packets.length; i++) {
      const packet = packets[i] as PacketSummary;
      if (packet.seconds < 0) continue;
      const time = packet.seconds * 1000 + packet.nanos / 1e6;
      if (this.paceOrigin === null) {
        this.paceOrigin = time;
        this.paceStart = performance.now();
        continue;
      }
      const due = this.paceStart + (time - this.paceOrigin) / speed;
      let wait = due - performance.now();
      if (wait < 1 || this.interruption) continue;
      this.release(packets, from, i);
      from = i;
      while (wait >= 1 && !this.interruption) {
        await this.sleep(Math.ceil(wait));
        wait = due - performance.now();
      }
      this.lastYield = performance.now();
    }
    this.release(packets, from, packets.length);
  }

  private release(packets: PacketSummary[], from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const packet = packets[i] as PacketSummary;
      this.flows.add(packet);
      this.tally.add(packet);
      this.packets++;
      this.bytes += packet.wireLength;
      this.capturedBytes += packet.capturedLength;
      if (packet.problems !== 0) this.decodeErrors++;
      if (packet.seconds > this.latestSeconds) this.latestSeconds = packet.seconds;
      this.pending.push(packet);
      if (this.pending.length >= this.batchSize) this.emit();
    }
  }

  /** Hands the pending packets to onPackets, at most batchSize at a time. */
  private emit(): void {
    while (this.pending.length) {
      const batch = this.pending.length <= this.batchSize ? this.pending : this.pending.slice(0, this.batchSize);
      this.pending = batch === this.pending ? [] : this.pending.slice(this.batchSize);
      try {
        this.options.onPackets(batch);
      } catch (error) {
        this.interrupt({ error });
        return;
      }
    }
  }

  private requestFlush(): void {
    if (this.finishing) return;
    if (this.flushing) {
      this.flushDue = true;
      return;
    }
    const flush = this.flush(false);
    this.flushing = (async () => {
      try {
        await this.options.onFlush(flush);
        this.flows.evict(this.latestSeconds - this.evictAfterSeconds);
      } catch (error) {
        this.interrupt({ error });
      } finally {
        this.flushing = null;
        if (this.flushDue && !this.finishing && !this.interruption) {
          this.flushDue = false;
          this.requestFlush();
        }
      }
    })();
  }

  private flush(final: boolean): CaptureFlush {
    const flows = this.flows.drain().map((flow) => Object.assign(Object.create(Flow.prototype) as Flow, flow));
    return { flows, stats: this.stats(), tally: this.tally.record(), final };
  }

  private stats(): RunStats {
    const until = this.endedAt ?? this.options.clock.now();
    const seconds = (until.getTime() - this.startedAt.getTime()) / 1000;
    const rate = (count: number) => (seconds > 0 ? count / seconds : 0);
    return {
      packets: this.packets,
      bytes: this.bytes,
      capturedBytes: this.capturedBytes,
      decodeErrors: this.decodeErrors,
      droppedByKernel: this.droppedByKernel,
      untrackedFlows: this.flows.untracked,
      packetsPerSecond: rate(this.packets),
      bytesPerSecond: rate(this.bytes),
      startedAt: this.startedAt,
    };
  }

  private interrupt(interruption: Interruption): void {
    if (this.interruption) return;
    this.interruption = interruption;
    this.waiter?.();
  }

  /** `promise`, or INTERRUPTED as soon as the run is interrupted (one waiter at a time, so nothing piles up on a long wait). */
  private raced<T>(promise: Promise<T>): Promise<T | typeof INTERRUPTED> {
    if (this.interruption) {
      promise.catch(() => {});
      return Promise.resolve(INTERRUPTED);
    }
    return new Promise((resolve, reject) => {
      this.waiter = () => {
        this.waiter = null;
        promise.catch(() => {});
        resolve(INTERRUPTED);
      };
      promise.then(
        (value) => {
          this.waiter = null;
          resolve(value);
        },
        (error) => {
          this.waiter = null;
          reject(error);
        },
      );
    });
  }

  private async sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.raced(
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ms);
        }),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lets timers (batches, flushes, maxSeconds) run when a fast source keeps the loop busy. */
  private async yieldNow(): Promise<void> {
    const now = performance.now();
    if (now - this.lastYield < YIELD_EVERY_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYield = performance.now();
  }

  private stopSource(iterator: AsyncIterator<Uint8Array>): void {
    this.controller.abort();
    iterator.return?.().catch(() => {});
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.length = 0;
  }
}

/** The `error` of a FAILED capture, or null when the error is not the capture's. */
function failureOf(error: unknown): string | null {
  if (error instanceof CaptureFailure) return error.message;
  if (error instanceof CaptureFormatError) return `capture: ${error.message}`;
  return null;
}

type Settled = { ok: true; value: SourceReport | null } | { ok: false; error: unknown };

/** How `promise` settled, or ok with null once `ms` passed. */
async function settle(promise: Promise<SourceReport>, ms: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Settled>((resolve) => {
    timer = setTimeout(() => resolve({ ok: true, value: null }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value): Settled => ({ ok: true, value }),
        (error): Settled => ({ ok: false, error }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
