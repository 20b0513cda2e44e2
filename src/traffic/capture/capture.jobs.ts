import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { LockMode } from '@mikro-orm/postgresql';
import { Viewer } from '../../access/viewer.ts';
import { AuditLog } from '../../audit/audit-log.ts';
import { Evidence } from '../../evidence/evidence.entity.ts';
import type { Jobs, Runtime } from '../../module.ts';
import type { JobFailure, JobHandler } from '../../platform/jobs.ts';
import type { PacketSummary } from '../decode/summary.ts';
import type { Flow } from '../flows/flow-table.ts';
import type { PacketSource } from '../source/packet-source.ts';
import { RecordedSource } from '../source/recorded-source.ts';
import { TcpdumpSource } from '../source/tcpdump-source.ts';
import { Capture } from './capture.entity.ts';
import { publishCaptureUpdated } from './capture.events.ts';
import { CaptureReads } from './capture.reads.ts';
import { CaptureRepository, type CaptureWatch, type FlowRecord } from './capture.repository.ts';
import type { CaptureStats, TrafficPacket } from './capture.topics.ts';
import { type CaptureView, captureStats } from './capture.view.ts';
import { type CaptureEnd, type CaptureFlush, type RunStats, runCapture } from './capture-run.ts';
import { CaptureStatus, isEnded } from './capture-status.ts';

/** How often a running capture looks for a stop asked elsewhere (another API process), or its deletion. */
const STOP_POLL_MS = 250;

type CaptureJob = Jobs['capture.replay'];

/**
 * Runs one capture on this worker: live through tcpdump (its sensor's queue)
 * or a replay of its evidence file; writes flows and counts about once a
 * second, publishes packet batches and stats, and ends it.
 */
export function createCaptureJob(runtime: Runtime): JobHandler<CaptureJob> {
  return async ({ captureId }, { signal: workerStopping }) => {
    const waited = await subscribersLive(runtime, captureId, workerStopping);
    const view = await begin(runtime, captureId);
    if (!view) return;
    const stop = new AbortController();
    // Packets are made text and published only while someone watches: most of a long capture's are for its flows alone.
    let watched = waited.watchers > 0;
    const captures = new CaptureRepository(runtime.orm.em.fork());
    const poll = setInterval(
      () =>
        void captures.watch(captureId).then(
          ({ stopped, watchers }) => {
            watched = watchers > 0;
            if (stopped) stop.abort();
          },
          // A failed read changes nothing: the next one, a quarter of a second later, decides.
          () => {},
        ),
      STOP_POLL_MS,
    );
    const onWorkerStop = () => stop.abort();
    workerStopping.addEventListener('abort', onWorkerStop, { once: true });
    // A worker stopping while the capture waited for its subscribers ends it at once (FAILED, saying so).
    if (workerStopping.aborted) stop.abort();
    let end: CaptureEnd;
    const saving = view.saveEvidence ? saver(runtime, view) : null;
    const texts = new PacketTexts();
    try {
      const source = await sourceOf(runtime, view);
      end = await runCapture({
        onBytes: saving ? (chunk) => saving.write(chunk) : undefined,
        source,
        limits: { maxPackets: view.maxPackets, maxSeconds: view.maxSeconds, maxBytes: view.maxBytes },
        speed: view.speed,
        stop: stop.signal,
        clock: runtime.clock,
        onPackets: (packets) => {
          if (!watched) return;
          void runtime.events.publish('trafficPackets', captureId, {
            captureId,
            packets: packets.map((packet) => trafficPacketOf(packet, view, runtime, texts)),
          });
        },
        onFlush: (flush) => writeFlush(runtime, captureId, flush),
      });
    } catch (error) {
      end = {
        status: 'FAILED',
        reason: 'failed',
        error: error instanceof Error ? error.message : String(error),
        stats: emptyStats(runtime),
      };
    } finally {
      clearInterval(poll);
      workerStopping.removeEventListener('abort', onWorkerStop);
    }
    if (workerStopping.aborted && end.status === 'STOPPED') {
      end = { ...end, status: 'FAILED', reason: 'failed', error: 'The worker running the capture stopped.' };
    }
    const saved = await saving?.end();
    await finish(runtime, captureId, end, saved ?? null);
  };
}

/**
 * Keeps a live capture's bytes (tcpdump's pcap, as it wrote it) as evidence of
 * its scan while it runs: written with back-pressure, recorded at the end. A
 * store that fails or fills stops the saving, never the capture; it is logged.
 */
function saver(runtime: Runtime, capture: CaptureView) {
  const stream = new PassThrough();
  const files = runtime.services(runtime.request(Viewer.anonymous())).evidenceFiles;
  const maxBytes = Math.min(runtime.config.evidence.maxCaptureBytes, capture.maxBytes + 24 + 16 * capture.maxPackets);
  const kept = files
    .keep(stream, {
      scanId: capture.scanId as string,
      filename: `capture-${capture.id}.pcap`,
      contentType: 'application/vnd.tcpdump.pcap',
      uploadedById: capture.ownerId,
      description: capture.interface ? `Live capture on ${capture.sensor}:${capture.interface}` : null,
      maxBytes,
    })
    .catch((error: unknown) => {
      runtime.logger.warn({ err: error, captureId: capture.id }, 'could not save the capture as evidence');
      stream.destroy();
      return null;
    });
  return {
    async write(chunk: Uint8Array): Promise<void> {
      if (stream.destroyed) return;
      if (!stream.write(chunk)) await once(stream, 'drain').catch(() => {});
    },
    async end(): Promise<{ id: string } | null> {
      if (!stream.destroyed) stream.end();
      return kept;
    },
  };
}

/** Live captures of a sensor silent this long are ended: its worker is gone, and no one else may work its queue. */
const SENSOR_LOST_SECONDS = 60;

/**
 * Ends the live captures (queued or running) of sensors that stopped their
 * heartbeat, FAILED with the reason; run by every worker from time to time.
 */
export async function endCapturesOfLostSensors(runtime: Runtime): Promise<number> {
  const silentSince = new Date(runtime.clock.now().getTime() - SENSOR_LOST_SECONDS * 1000);
  const ids = await new CaptureRepository(runtime.orm.em.fork()).ofSensorsSilentSince(silentSince);
  for (const id of ids) {
    await finish(runtime, id, {
      status: 'FAILED',
      reason: 'failed',
      error: `Its sensor stopped answering for over ${SENSOR_LOST_SECONDS} s.`,
      stats: null,
    });
  }
  return ids.length;
}

/** Ends a capture whose job was given up (its worker died mid-capture). */
export function createCaptureGivenUpHandler(runtime: Runtime) {
  return async ({ captureId }: CaptureJob, { reason }: JobFailure): Promise<void> => {
    const why = reason === 'job heartbeat timeout' ? 'its worker stopped responding' : reason;
    await finish(runtime, captureId, { status: 'FAILED', reason: 'failed', error: `The capture broke off: ${why}.`, stats: null });
  };
}

/** Longest a capture waits for the subscribers it asked for before it starts anyway. */
export const WAIT_FOR_SUBSCRIBERS_SECONDS = 10;

/**
 * Waits (still QUEUED) until the `trafficEvents` subscriptions the capture
 * asked for are live, a stop, or the time is up; returns what it read last.
 */
async function subscribersLive(runtime: Runtime, captureId: string, workerStopping: AbortSignal): Promise<CaptureWatch> {
  const deadline = Date.now() + WAIT_FOR_SUBSCRIBERS_SECONDS * 1000;
  for (;;) {
    const watch = await new CaptureRepository(runtime.orm.em.fork()).watch(captureId);
    if (watch.stopped || watch.watchers >= watch.waitForSubscribers || workerStopping.aborted || Date.now() >= deadline) return watch;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** QUEUED → RUNNING under the row's lock; `null` when it was stopped, ended or deleted meanwhile. */
async function begin(runtime: Runtime, captureId: string): Promise<CaptureView | null> {
  const em = runtime.orm.em.fork();
  const started = await em.transactional(async (tx) => {
    const capture = await tx.findOne(Capture, { id: captureId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!capture || isEnded(capture.status)) return false;
    if (capture.status === CaptureStatus.RUNNING) return true;
    capture.start(runtime.clock.now());
    return true;
  });
  if (!started) return null;
  const [view] = await new CaptureReads(runtime.reads).byIds([captureId]);
  if (!view) return null;
  await publishCaptureUpdated(runtime.events, view);
  runtime.logger.info({ captureId, sensor: view.sensor, interface: view.interface, evidenceId: view.sourceEvidenceId }, 'capture started');
  return view;
}

async function sourceOf(runtime: Runtime, capture: CaptureView): Promise<PacketSource> {
  const { tcpdumpPath, sensorNetns } = runtime.config.traffic;
  if (capture.interface) {
    return new TcpdumpSource({
      interface: capture.interface,
      filter: capture.effectiveFilter ?? '',
      snapLength: capture.snapLength,
      tcpdump: sensorNetns ? ['ip', 'netns', 'exec', sensorNetns, tcpdumpPath] : [tcpdumpPath],
    });
  }
  const files = runtime.services(runtime.request(Viewer.anonymous())).evidenceFiles;
  const content = capture.sourceEvidenceId ? await files.open(capture.sourceEvidenceId) : null;
  if (!content) throw new Error('The evidence file to replay is gone.');
  return new RecordedSource(() => content);
}

/** Distinct texts a capture keeps for reuse, at most (a capture of more addresses starts over). */
const MAX_TEXTS = 65_536;

/**
 * Text that many packets of a capture share, built once: each address (by
 * its key, without formatting IPv4 again), each set of TCP flags, and the
 * time to the millisecond of packets that come within one. One string per
 * address also lets subscribers' filters (which remember addresses) find it
 * by identity rather than by comparing text.
 */
class PacketTexts {
  readonly #addresses = new Map<number | string, string>();
  readonly #flags = new Map<number, PacketSummary['flags']>();
  #ms = Number.NaN;
  #at = '';

  address(key: number | string | null, text: () => string | null): string {
    if (key === null) return text() ?? '';
    let known = this.#addresses.get(key);
    if (known === undefined) {
      known = text() ?? '';
      if (this.#addresses.size >= MAX_TEXTS) this.#addresses.clear();
      this.#addresses.set(key, known);
    }
    return known;
  }

  flags(packet: PacketSummary): PacketSummary['flags'] {
    let known = this.#flags.get(packet.tcpFlags);
    if (known === undefined) {
      known = packet.flags;
      this.#flags.set(packet.tcpFlags, known);
    }
    return known;
  }

  at(ms: number): string {
    if (ms !== this.#ms) {
      this.#ms = ms;
      this.#at = new Date(ms).toISOString();
    }
    return this.#at;
  }
}

/** One packet as subscribers get it, its text built once for all of them (and shared with packets like it). */
function trafficPacketOf(packet: PacketSummary, capture: CaptureView, runtime: Runtime, texts: PacketTexts): TrafficPacket {
  const timed = packet.seconds >= 0;
  const ms = timed ? packet.seconds * 1000 + Math.floor(packet.nanos / 1e6) : runtime.clock.now().getTime();
  return {
    at: texts.at(ms),
    timeNs: timed ? timeNsOf(packet.seconds, packet.nanos) : (BigInt(ms) * 1_000_000n).toString(),
    interface: packet.interface.name ?? capture.interface,
    src: texts.address(packet.srcKey, () => packet.src),
    dst: texts.address(packet.dstKey, () => packet.dst),
    srcPort: packet.srcPort,
    dstPort: packet.dstPort,
    protocol: packet.protocol,
    ipProtocol: packet.ipProtocol,
    length: packet.wireLength,
    capturedLength: packet.capturedLength,
    tcpFlags: texts.flags(packet),
    vlan: packet.vlans ?? [],
    info: packet.info,
    srcV4: packet.ipVersion === 4 && typeof packet.srcKey === 'number' ? packet.srcKey : null,
    dstV4: packet.ipVersion === 4 && typeof packet.dstKey === 'number' ? packet.dstKey : null,
  };
}

/** `seconds * 1e9 + nanos` as decimal text, without a BigInt (nanos is below 1e9). */
const timeNsOf = (seconds: number, nanos: number) => (seconds === 0 ? String(nanos) : `${seconds}${String(nanos).padStart(9, '0')}`);

const timeOf = (seconds: number, nanos: number) => new Date(seconds * 1000 + Math.floor(nanos / 1e6));

/** Flows and counts in one transaction, then the stats to subscribers (with the drops the API processes added). */
async function writeFlush(runtime: Runtime, captureId: string, { flows, stats, tally }: CaptureFlush): Promise<void> {
  const dropped = await new CaptureRepository(runtime.orm.em.fork()).flush(captureId, flows.map(flowRecord), stats, tally);
  await runtime.events.publish('trafficStats', captureId, {
    captureId,
    stats: statsOf(stats, dropped),
    // The last word comes from `finish`, once the status is written.
    final: false,
    at: runtime.clock.now().toISOString(),
  });
}

function flowRecord(flow: Flow): FlowRecord {
  return {
    id: flow.id,
    protocol: flow.protocol,
    ip_protocol: flow.ipProtocol,
    src: flow.src,
    src_port: flow.srcPort,
    dst: flow.dst,
    dst_port: flow.dstPort,
    first_seen: timeOf(flow.firstSeconds, flow.firstNanos).toISOString(),
    last_seen: timeOf(flow.lastSeconds, flow.lastNanos).toISOString(),
    originator_packets: flow.originatorPackets,
    originator_bytes: flow.originatorBytes,
    responder_packets: flow.responderPackets,
    responder_bytes: flow.responderBytes,
    state: flow.state,
    tcp_flags: flow.tcpFlags,
  };
}

const statsOf = (stats: RunStats, droppedForSubscribers: number): CaptureStats => ({
  packets: stats.packets,
  bytes: stats.bytes,
  droppedByKernel: stats.droppedByKernel,
  droppedForSubscribers,
  decodeErrors: stats.decodeErrors,
  packetsPerSecond: Math.round(stats.packetsPerSecond * 10) / 10,
  bytesPerSecond: Math.round(stats.bytesPerSecond * 10) / 10,
});

const emptyStats = (runtime: Runtime): RunStats => ({
  packets: 0,
  bytes: 0,
  capturedBytes: 0,
  decodeErrors: 0,
  droppedByKernel: 0,
  untrackedFlows: 0,
  packetsPerSecond: 0,
  bytesPerSecond: 0,
  startedAt: runtime.clock.now(),
});

/** Writes the end (unless the capture ended or went meanwhile), then tells subscribers: the status, and the final stats. */
async function finish(
  runtime: Runtime,
  captureId: string,
  end: Omit<CaptureEnd, 'stats'> & { stats: RunStats | null },
  saved: { id: string } | null = null,
): Promise<void> {
  const em = runtime.orm.em.fork();
  const ended = await em.transactional(async (tx) => {
    const capture = await tx.findOne(Capture, { id: captureId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!capture) return 'gone';
    if (isEnded(capture.status)) return false;
    if (end.stats && end.stats.droppedByKernel > capture.droppedByKernel) capture.droppedByKernel = end.stats.droppedByKernel;
    if (saved) capture.savedEvidence = tx.getReference(Evidence, saved.id);
    capture.end(end.status, runtime.clock.now(), end.error);
    return true;
  });
  if (ended === 'gone') {
    // Deleted with its scan while it ran: its subscribers still hear the end.
    const stats = end.stats ? statsOf(end.stats, 0) : statsOf(emptyStats(runtime), 0);
    await runtime.events.publish('trafficStats', captureId, { captureId, stats, final: true, at: runtime.clock.now().toISOString() });
    return;
  }
  if (!ended) return;
  if (saved) {
    await new AuditLog({ em: em.fork(), viewer: Viewer.anonymous(), ip: null, clock: runtime.clock }).record({
      action: 'CAPTURE_SAVED',
      target: { type: 'Capture', id: captureId },
      details: { evidenceId: saved.id },
    });
  }
  const [view] = await new CaptureReads(runtime.reads).byIds([captureId]);
  if (!view) return;
  runtime.logger[end.status === 'FAILED' ? 'warn' : 'info'](
    { captureId, status: view.status, reason: end.reason, error: view.error, packets: view.packets },
    'capture ended',
  );
  await publishCaptureUpdated(runtime.events, view);
  await runtime.events.publish('trafficStats', captureId, {
    captureId,
    stats: captureStats(view, runtime.clock.now()),
    final: true,
    at: runtime.clock.now().toISOString(),
  });
}
