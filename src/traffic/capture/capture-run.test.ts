import { describe, expect, it, vi } from 'vitest';
import { ethernet, ipv4, PcapngWriter, pcap, pcapRecord, udp } from '../../../test/helpers/captures.ts';
import { mixedPcap } from '../../../test/helpers/mixed-traffic.ts';
import { type Clock, systemClock } from '../../platform/clock.ts';
import { CaptureDecoder } from '../decode/capture-decoder.ts';
import type { PacketSummary } from '../decode/summary.ts';
import type { Flow } from '../flows/flow-table.ts';
import { CaptureFailure, type PacketSource, type SourceReport, type SourceRun } from '../source/packet-source.ts';
import { RecordedSource } from '../source/recorded-source.ts';
import { type CaptureFlush, type CaptureLimits, type CaptureRunOptions, runCapture } from './capture-run.ts';

const NO_LIMITS: CaptureLimits = { maxPackets: Number.POSITIVE_INFINITY, maxSeconds: 0, maxBytes: Number.POSITIVE_INFINITY };

/** `bytes` in chunks of `size`, as a store streams a file; `read.finished` tells whether the reader was stopped or ran out. */
function chunked(bytes: Uint8Array, size: number) {
  const state = { chunks: 0, finished: false };
  const read = async function* () {
    try {
      for (let at = 0; at < bytes.length; at += size) {
        state.chunks++;
        yield bytes.subarray(at, at + size);
      }
    } finally {
      state.finished = true;
    }
  };
  return { source: new RecordedSource(read), state };
}

/** A live source with no traffic until the test pushes some; it never ends until aborted. */
class FakeLive implements PacketSource {
  signal: AbortSignal | null = null;
  private readonly queue: Uint8Array[] = [];
  private wake: () => void = () => {};

  private readonly droppedByKernel: number;

  constructor(droppedByKernel = 0) {
    this.droppedByKernel = droppedByKernel;
  }

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
    this.wake();
  }

  open(signal: AbortSignal): SourceRun {
    this.signal = signal;
    let report: (value: SourceReport) => void = () => {};
    const ended = new Promise<SourceReport>((resolve) => {
      report = resolve;
    });
    const queue = this.queue;
    const dropped = this.droppedByKernel;
    const waitForMore = () =>
      new Promise<void>((resolve) => {
        this.wake = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    async function* bytes(): AsyncGenerator<Uint8Array> {
      try {
        while (!signal.aborted) {
          const chunk = queue.shift();
          if (chunk) yield chunk;
          else await waitForMore();
        }
      } finally {
        report({ droppedByKernel: dropped });
      }
    }
    return { bytes: bytes(), ended };
  }
}

/** What a run's callbacks saw. */
function recorder() {
  const batches: PacketSummary[][] = [];
  const flushes: CaptureFlush[] = [];
  const teed: Uint8Array[] = [];
  return {
    batches,
    flushes,
    teed,
    packets: () => batches.flat(),
    teedBytes: () => Buffer.concat(teed),
    callbacks: {
      onPackets: (packets: PacketSummary[]) => {
        batches.push(packets);
      },
      onFlush: async (flush: CaptureFlush) => {
        flushes.push(flush);
      },
      onBytes: (chunk: Uint8Array) => {
        teed.push(Uint8Array.from(chunk));
      },
    },
  };
}

function options(source: PacketSource, seen: ReturnType<typeof recorder>, more: Partial<CaptureRunOptions> = {}): CaptureRunOptions {
  return { source, limits: NO_LIMITS, speed: 0, stop: new AbortController().signal, clock: systemClock, ...seen.callbacks, ...more };
}

/** Every flow's latest copy across the flushes. */
function latestFlows(flushes: CaptureFlush[]): Map<string, Flow> {
  const flows = new Map<string, Flow>();
  for (const flush of flushes) for (const flow of flush.flows) flows.set(flow.id, flow);
  return flows;
}

function decodeAll(bytes: Uint8Array): PacketSummary[] {
  const decoder = new CaptureDecoder();
  const packets = decoder.push(bytes);
  decoder.end();
  return packets;
}

const datagram = (index: number, size = 100) =>
  ethernet({
    type: 0x0800,
    payload: ipv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, payload: udp(1000 + index, 53, new Uint8Array(size)) }),
  });

/** `count` UDP packets `stepMicros` apart. */
function spacedPcap(count: number, stepMicros: number): Uint8Array {
  return pcap(
    Array.from({ length: count }, (_, i) => {
      const micros = i * stepMicros;
      return { frame: datagram(i), seconds: 1_700_000_000 + Math.floor(micros / 1e6), fraction: micros % 1e6 };
    }),
  );
}

const pcapRecordBytes = (frame: Uint8Array, seconds: number) => pcapRecord({ frame, seconds });

const elapsed = (since: number) => performance.now() - since;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runCapture', () => {
  it('completes at the end of a recording with its stats, flows and tally', async () => {
    const { bytes, expected } = mixedPcap(3000);
    const seen = recorder();
    const { source } = chunked(bytes, 1000);
    const end = await runCapture(options(source, seen));

    expect(end).toMatchObject({ status: 'COMPLETED', reason: 'end', error: null });
    const wire = expected.reduce((sum, packet) => sum + packet.wireLength, 0);
    expect(end.stats).toMatchObject({
      packets: 3000,
      bytes: wire,
      capturedBytes: wire,
      decodeErrors: 0,
      droppedByKernel: 0,
      untrackedFlows: 0,
    });
    expect(end.stats.packetsPerSecond).toBeGreaterThan(0);
    expect(end.stats.startedAt).toBeInstanceOf(Date);

    const last = seen.flushes.at(-1)!;
    expect(seen.flushes.filter((flush) => flush.final)).toEqual([last]);
    expect(last.stats).toEqual(end.stats);
    const ipPackets = expected.filter((packet) => packet.protocol !== 'ARP').length;
    const flows = [...latestFlows(seen.flushes).values()];
    expect(flows.reduce((sum, flow) => sum + flow.originatorPackets + flow.responderPackets, 0)).toBe(ipPackets);
    expect(flows.reduce((sum, flow) => sum + flow.originatorBytes + flow.responderBytes, 0)).toBe(
      expected.filter((packet) => packet.protocol !== 'ARP').reduce((sum, packet) => sum + packet.wireLength, 0),
    );
    expect(flows.every((flow) => typeof flow.src === 'string')).toBe(true);

    const byProtocol = Object.fromEntries(last.tally.protocols.map(({ protocol, packets }) => [protocol, packets]));
    const expectedByProtocol: Record<string, number> = {};
    for (const packet of expected) expectedByProtocol[packet.protocol] = (expectedByProtocol[packet.protocol] ?? 0) + 1;
    expect(byProtocol).toEqual(expectedByProtocol);
    expect(last.tally.series.reduce((sum, bucket) => sum + bucket.packets, 0)).toBe(3000);

    expect(seen.packets()).toHaveLength(3000);
    expect(seen.teedBytes().equals(bytes)).toBe(true);
  });

  it('stops at maxPackets exactly, stops the source, and saves exactly those packets', async () => {
    const { bytes } = mixedPcap(1000);
    const seen = recorder();
    const { source, state } = chunked(bytes, 777);
    const end = await runCapture(options(source, seen, { limits: { ...NO_LIMITS, maxPackets: 123 } }));

    expect(end).toMatchObject({ status: 'COMPLETED', reason: 'maxPackets', error: null });
    expect(end.stats.packets).toBe(123);
    expect(seen.packets()).toHaveLength(123);
    expect(state.finished).toBe(true);
    expect(state.chunks).toBeLessThan(Math.ceil(bytes.length / 777));
    const teed = seen.teedBytes();
    expect(decodeAll(teed)).toHaveLength(123);
    expect(teed.equals(bytes.subarray(0, teed.length))).toBe(true);
  });

  it('saves a valid pcapng prefix when it halts inside a chunk', async () => {
    const writer = new PcapngWriter().section().iface({ tsresol: 9 });
    for (let i = 0; i < 20; i++) writer.packet(0, BigInt(1_700_000_000 + i) * 1_000_000_000n, datagram(i, 50 + i));
    const bytes = writer.bytes();
    const seen = recorder();
    const end = await runCapture(options(chunked(bytes, 333).source, seen, { limits: { ...NO_LIMITS, maxPackets: 7 } }));

    expect(end.reason).toBe('maxPackets');
    const teed = seen.teedBytes();
    const packets = decodeAll(teed);
    expect(packets.map((packet) => packet.srcPort)).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006]);
    expect(teed.equals(bytes.subarray(0, teed.length))).toBe(true);
  });

  it('stops before the packet that would pass maxBytes', async () => {
    const { bytes, expected } = mixedPcap(500);
    const maxBytes = 20_000;
    const seen = recorder();
    const end = await runCapture(options(chunked(bytes, 4096).source, seen, { limits: { ...NO_LIMITS, maxBytes } }));

    expect(end).toMatchObject({ status: 'COMPLETED', reason: 'maxBytes' });
    const { packets, capturedBytes } = end.stats;
    expect(capturedBytes).toBe(expected.slice(0, packets).reduce((sum, packet) => sum + packet.wireLength, 0));
    expect(capturedBytes).toBeLessThanOrEqual(maxBytes);
    expect(capturedBytes + expected[packets]!.wireLength).toBeGreaterThan(maxBytes);
    expect(decodeAll(seen.teedBytes())).toHaveLength(packets);
  });

  it('ends at maxSeconds on a silent live source, with its kernel drops', async () => {
    const live = new FakeLive(3);
    const seen = recorder();
    const started = performance.now();
    const end = await runCapture(options(live, seen, { limits: { ...NO_LIMITS, maxSeconds: 0.2 } }));

    expect(end).toMatchObject({ status: 'COMPLETED', reason: 'maxSeconds', error: null });
    expect(end.stats).toMatchObject({ packets: 0, droppedByKernel: 3 });
    expect(elapsed(started)).toBeGreaterThanOrEqual(190);
    expect(elapsed(started)).toBeLessThan(1000);
    expect(live.signal?.aborted).toBe(true);
  });

  it('ends at maxSeconds while a fast source keeps it busy', async () => {
    const { bytes } = mixedPcap(2000);
    const header = bytes.subarray(0, 24);
    const records = bytes.subarray(24);
    let stopped = false;
    // An endless recording, each chunk at once: nothing but the runner's own turns of the event loop lets timers run.
    const endless = async function* () {
      try {
        yield header;
        for (;;) yield records;
      } finally {
        stopped = true;
      }
    };
    const started = performance.now();
    const end = await runCapture(options(new RecordedSource(endless), recorder(), { limits: { ...NO_LIMITS, maxSeconds: 0.15 } }));
    expect(end).toMatchObject({ status: 'COMPLETED', reason: 'maxSeconds' });
    expect(end.stats.packets).toBeGreaterThan(2000);
    expect(elapsed(started)).toBeLessThan(1000);
    expect(stopped).toBe(true);
  });

  it('ends STOPPED within a second when stopped while the source is silent', async () => {
    const live = new FakeLive();
    const seen = recorder();
    const stop = new AbortController();
    live.push(spacedPcap(5, 1000));
    const running = runCapture(options(live, seen, { stop: stop.signal }));
    await pause(100);
    const stopped = performance.now();
    stop.abort();
    const end = await running;

    expect(elapsed(stopped)).toBeLessThan(1000);
    expect(end).toMatchObject({ status: 'STOPPED', reason: 'stopped', error: null });
    expect(end.stats.packets).toBe(5);
    expect(seen.packets()).toHaveLength(5);
    expect(seen.flushes.at(-1)?.final).toBe(true);
    expect(live.signal?.aborted).toBe(true);
  });

  it('ends STOPPED at once when stopped before it starts', async () => {
    const stop = new AbortController();
    stop.abort();
    const end = await runCapture(options(new FakeLive(), recorder(), { stop: stop.signal }));
    expect(end).toMatchObject({ status: 'STOPPED', reason: 'stopped', stats: { packets: 0 } });
  });

  it('ends FAILED with the message of a CaptureFailure', async () => {
    const failing: PacketSource = {
      open: () => {
        const ended = Promise.reject(new CaptureFailure('filter: syntax error'));
        ended.catch(() => {});
        return {
          bytes: (async function* () {
            yield* [];
            throw new CaptureFailure('filter: syntax error');
          })(),
          ended,
        };
      },
    };
    const seen = recorder();
    const end = await runCapture(options(failing, seen));
    expect(end).toMatchObject({ status: 'FAILED', reason: 'failed', error: 'filter: syntax error' });
    expect(seen.flushes.at(-1)?.final).toBe(true);
  });

  it('ends FAILED with the failure its source reports after bytes that ended early', async () => {
    const failing: PacketSource = {
      open: () => {
        const ended = Promise.reject(new CaptureFailure('interface: eth9 does not exist'));
        ended.catch(() => {});
        return { bytes: (async function* () {})(), ended };
      },
    };
    const end = await runCapture(options(failing, recorder()));
    expect(end).toMatchObject({ status: 'FAILED', error: 'interface: eth9 does not exist' });
  });

  it('ends FAILED on bytes that are not a capture', async () => {
    const garbage = Buffer.from('this is not a capture file, only some text that goes on');
    const { source, state } = chunked(garbage, 8);
    const end = await runCapture(options(source, recorder()));
    expect(end).toMatchObject({ status: 'FAILED', reason: 'failed' });
    expect(end.error).toMatch(/^capture: not a pcap or pcapng capture/);
    expect(state.finished).toBe(true);
  });

  it('ends FAILED on a capture cut inside a record, having counted the packets before', async () => {
    const bytes = spacedPcap(4, 1000);
    const end = await runCapture(options(chunked(bytes.subarray(0, bytes.length - 10), 50).source, recorder()));
    expect(end).toMatchObject({ status: 'FAILED', stats: { packets: 3 } });
    expect(end.error).toMatch(/^capture: capture ends inside/);
  });

  it('ends FAILED on a broken record, keeping the packets before it in the same chunk', async () => {
    const broken = Buffer.alloc(16);
    broken.writeUInt32LE(0xfffffff0, 8); // a record length no capture has
    const bytes = Buffer.concat([spacedPcap(3, 1000), broken, Buffer.alloc(64, 0xab)]);
    const seen = recorder();
    const end = await runCapture(options(chunked(bytes, bytes.length).source, seen));
    expect(end).toMatchObject({ status: 'FAILED', reason: 'failed', stats: { packets: 3 } });
    expect(end.error).toMatch(/^capture: /);
    expect(seen.packets()).toHaveLength(3);
    expect(seen.flushes.at(-1)?.stats.packets).toBe(3);
  });

  it('throws what onFlush throws, and stops the source', async () => {
    const live = new FakeLive();
    live.push(spacedPcap(3, 1000));
    const seen = recorder();
    const run = runCapture(
      options(live, seen, {
        flushMs: 20,
        onFlush: async () => {
          throw new Error('database down');
        },
      }),
    );
    await expect(run).rejects.toThrow('database down');
    expect(live.signal?.aborted).toBe(true);
  });

  it('hands every packet to onPackets once, in order, in batches of at most batchSize', async () => {
    const { bytes, expected } = mixedPcap(2500);
    const seen = recorder();
    await runCapture(options(chunked(bytes, 3000).source, seen, { batchSize: 100 }));

    expect(seen.batches.every((batch) => batch.length > 0 && batch.length <= 100)).toBe(true);
    const packets = seen.packets();
    expect(packets.map((packet) => [packet.seconds, Math.round(packet.nanos / 1000), packet.wireLength])).toEqual(
      expected.map((packet) => [packet.seconds, packet.micros, packet.wireLength]),
    );
  });

  it('hands packets over about every batchMs while the capture runs', async () => {
    const live = new FakeLive();
    const seen = recorder();
    const stop = new AbortController();
    const running = runCapture(options(live, seen, { stop: stop.signal, batchMs: 20 }));
    live.push(spacedPcap(3, 1000));
    await pause(150);
    expect(seen.packets()).toHaveLength(3);
    stop.abort();
    await running;
    expect(seen.packets()).toHaveLength(3);
  });

  it('flushes on its cadence, one at a time, then once more with final: true', async () => {
    const live = new FakeLive();
    const stop = new AbortController();
    const seen = recorder();
    let inFlight = 0;
    let most = 0;
    const flushes: CaptureFlush[] = [];
    const running = runCapture(
      options(live, seen, {
        stop: stop.signal,
        flushMs: 20,
        onFlush: async (flush) => {
          inFlight++;
          most = Math.max(most, inFlight);
          flushes.push(flush);
          await pause(flush.final ? 0 : 45);
          inFlight--;
        },
      }),
    );
    const { bytes } = mixedPcap(600);
    for (let at = 0; at < bytes.length; at += bytes.length / 6) {
      live.push(bytes.subarray(at, at + bytes.length / 6));
      await pause(40);
    }
    stop.abort();
    const end = await running;

    expect(most).toBe(1);
    expect(flushes.length).toBeGreaterThanOrEqual(3);
    expect(flushes.map((flush) => flush.final)).toEqual([...new Array(flushes.length - 1).fill(false), true]);
    // A flow flushed twice holds at least what it held the first time; the latest copies hold every IP packet.
    const decoded = decodeAll(bytes).filter((packet) => packet.ipVersion !== 0).length;
    const flows = [...latestFlows(flushes).values()];
    expect(flows.reduce((sum, flow) => sum + flow.originatorPackets + flow.responderPackets, 0)).toBe(decoded);
    expect(end.stats.packets).toBe(600);
    const counts = flushes.map((flush) => flush.stats.packets);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it('counts the packets of flows past maxFlows as untracked', async () => {
    const { bytes } = mixedPcap(1000);
    const end = await runCapture(options(chunked(bytes, 5000).source, recorder(), { maxFlows: 10 }));
    expect(end.stats.untrackedFlows).toBeGreaterThan(0);
  });

  it('counts packets cut short or malformed as decode errors', async () => {
    const whole = datagram(0);
    const bytes = pcap([{ frame: whole }, { frame: whole.subarray(0, 20), wireLength: whole.length }, { frame: whole }]);
    const end = await runCapture(options(chunked(bytes, 64).source, recorder()));
    expect(end.stats).toMatchObject({ packets: 3, decodeErrors: 1, capturedBytes: 2 * whole.length + 20, bytes: 3 * whole.length });
  });

  it('evicts flows flushed and idle for evictAfterSeconds of capture time', async () => {
    const live = new FakeLive();
    const stop = new AbortController();
    const flushes: CaptureFlush[] = [];
    const flushed = () => new Promise<void>((resolve) => setTimeout(resolve, 60));
    const running = runCapture(
      options(live, recorder(), {
        stop: stop.signal,
        flushMs: 10,
        evictAfterSeconds: 60,
        onFlush: async (flush) => {
          flushes.push(flush);
        },
      }),
    );
    const at = (seconds: number, port: number) => pcapRecordBytes(datagram(port - 1000), 1_700_000_000 + seconds);
    live.push(Buffer.concat([pcap([]), at(0, 1000)]));
    await flushed();
    // 100 s later another flow: the first, idle and flushed, goes; its next packet starts a new flow.
    live.push(at(100, 1001));
    await flushed();
    live.push(at(101, 1000));
    await flushed();
    stop.abort();
    await running;
    const ids = new Set(flushes.flatMap((flush) => flush.flows.filter((flow) => flow.srcPort === 1000).map((flow) => flow.id)));
    expect(ids.size).toBe(2);
    const other = new Set(flushes.flatMap((flush) => flush.flows.filter((flow) => flow.srcPort === 1001).map((flow) => flow.id)));
    expect(other.size).toBe(1);
  });

  it('rates packets and bytes over the wall time of the clock', async () => {
    let now = 1_800_000_000_000;
    const clock: Clock = { now: () => new Date(now) };
    const bytes = spacedPcap(10, 1000);
    const read = async function* () {
      yield bytes;
      now += 2000;
    };
    const end = await runCapture(options(new RecordedSource(read), recorder(), { clock }));
    expect(end.stats.startedAt).toEqual(new Date(1_800_000_000_000));
    expect(end.stats.packetsPerSecond).toBe(5);
    expect(end.stats.bytesPerSecond).toBe(end.stats.bytes / 2);
  });

  it('plays packet times at speed 1, and as fast as it comes at speed 0', async () => {
    // 11 packets over 0.5 s.
    const bytes = spacedPcap(11, 50_000);
    const times: number[] = [];
    const paced = recorder();
    const started = performance.now();
    await runCapture(
      options(chunked(bytes, 10_000).source, paced, {
        speed: 1,
        batchMs: 5,
        onPackets: (packets) => {
          for (const _ of packets) times.push(elapsed(started));
        },
      }),
    );
    const took = elapsed(started);
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(2000);
    expect(times).toHaveLength(11);
    // Packet i comes no earlier than i × 50 ms after the start (a couple of milliseconds' slack for the timers).
    for (const [i, time] of times.entries()) expect(time).toBeGreaterThanOrEqual(i * 50 - 2);

    const fast = performance.now();
    const end = await runCapture(options(chunked(bytes, 10_000).source, recorder(), { speed: 0 }));
    expect(end.stats.packets).toBe(11);
    expect(elapsed(fast)).toBeLessThan(200);
  });

  it('stops within a second while pacing sleeps, counting what it decoded', async () => {
    const bytes = spacedPcap(3, 10_000_000);
    const stop = new AbortController();
    const seen = recorder();
    const running = runCapture(options(chunked(bytes, 10_000).source, seen, { speed: 1, stop: stop.signal }));
    await pause(100);
    const stopped = performance.now();
    stop.abort();
    const end = await running;
    expect(elapsed(stopped)).toBeLessThan(1000);
    expect(end).toMatchObject({ status: 'STOPPED', stats: { packets: 3 } });
    expect(seen.packets()).toHaveLength(3);
    expect(decodeAll(seen.teedBytes())).toHaveLength(3);
  });

  it('leaves no timer behind', async () => {
    // Every timer made while the runs go is cleared (or fired) once they end.
    const made: NodeJS.Timeout[] = [];
    const spies = (['setTimeout', 'setInterval'] as const).map((name) => {
      const original = globalThis[name] as (...args: unknown[]) => NodeJS.Timeout;
      return vi.spyOn(globalThis, name).mockImplementation(((...args: unknown[]) => {
        const timer = original(...args);
        made.push(timer);
        return timer;
      }) as never);
    });
    const live = (timer: NodeJS.Timeout) => !(timer as unknown as { _destroyed: boolean })._destroyed;
    try {
      const stop = new AbortController();
      const running = runCapture(options(new FakeLive(), recorder(), { stop: stop.signal, limits: { ...NO_LIMITS, maxSeconds: 60 } }));
      await pause(30);
      expect(made.filter(live).length).toBeGreaterThanOrEqual(3);
      stop.abort();
      await running;
      await runCapture(
        options(chunked(spacedPcap(5, 100_000), 100).source, recorder(), { speed: 4, limits: { ...NO_LIMITS, maxSeconds: 60 } }),
      );
      expect(made.filter(live)).toEqual([]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
