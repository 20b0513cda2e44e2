import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TrafficPacket } from '../src/traffic/capture/capture.topics.ts';
import { TrafficFilter } from '../src/traffic/capture/traffic-filter.ts';
import { MAX_RECORD, MixedTraffic } from '../test/helpers/mixed-traffic.ts';
import { upload } from '../test/helpers/multipart.ts';
import { newestProfile, topSelfTime } from './lib/cpu-profile.ts';
import { type Subscriber, subscribe } from './lib/graphql-ws-subscriber.ts';
import { FLOWS, mixedCapture, ROOT, SEED } from './lib/mixed-capture.ts';
import { benchDatabase, type ProcessSample, type ServerProcess, sampleProcess, startServer, watchProcess } from './lib/server-process.ts';
import { percentile } from './lib/subscription-tally.ts';

/**
 * A recorded capture through the whole path, decoder → flows → event bus →
 * graphql-ws, in one server process (its in-process worker replays):
 *
 * (a) `startCapture(speed: 0)` with TRAFFIC_SUBSCRIBERS unfiltered
 *     `trafficEvents` sockets reading as fast as they can: the capture's
 *     packets/s (packets / (endedAt − startedAt)), the packets delivered per
 *     second across subscribers, and drops, checked: each subscriber's
 *     delivered + dropped must be the capture's packets.
 * (b) a replay at TRAFFIC_RATE packets/s (speed from the file's first and
 *     last timestamps) with as many subscribers each filtered to about 1% of
 *     the traffic (a CIDR `host:` chosen from the generated flows): drops
 *     (delivered + dropped checked against the generator's count of matching
 *     packets) and latency from decode to receipt, receipt − (startedAt +
 *     (timeNs − first timeNs) / speed): a packet's due time at that speed.
 *
 * Each capture must have its subscribers live before it runs: the server
 * runs one capture at a time (CAPTURE_CONCURRENCY=1), a slow "blocker"
 * replay holds the worker while the measured one waits QUEUED and the
 * sockets subscribe, then the blocker is stopped.
 *
 * Server RSS: VmHWM of the server process (its peak, the upload included;
 * printed per phase too). The machine's other load makes every figure noisy.
 */
const PACKETS = envCount('TRAFFIC_PACKETS', 1_000_000);
const SUBSCRIBERS = envCount('TRAFFIC_SUBSCRIBERS', 100);
const RATE = envCount('TRAFFIC_RATE', 100_000);
/** Share of the traffic each filtered subscriber of (b) should see. */
const FILTER_SHARE = 0.01;
/** What each socket selects of a packet: a live packet list's columns. `timeNs` is always added. */
const FIELDS = process.env.TRAFFIC_FIELDS ?? 'at src dst srcPort dstPort protocol length tcpFlags info';
const PHASES = (process.env.TRAFFIC_PHASES ?? 'a,b').split(',');
const DRAIN_TIMEOUT_S = envCount('TRAFFIC_DRAIN_TIMEOUT_S', 300);
/** (a) ends at this many seconds (the capture's own `maxSeconds`, COMPLETED) when it has not reached the end of the file by then. */
const A_MAX_SECONDS = envCount('TRAFFIC_A_MAX_SECONDS', 60);
const EMBEDDED_PORT = 54357;
const TOKEN_TTL_S = 3_600;
const CONNECT_TIMEOUT_MS = 30_000;

const ADMIN = { email: 'ops@scanops.local', password: 'load test password, long enough' };
const GOAL_PPS = 500_000;
const GOAL_P99_MS = 250;
const GOAL_RSS_MB = 512;

const out = (text: string) => process.stdout.write(`${text}\n`);
const progress = (text: string) => process.stderr.write(`traffic-bench: ${text}\n`);

function envCount(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number, not ${process.env[name]}`);
  return value;
}

async function graphql<T>(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    signal: AbortSignal.timeout(60_000),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T | null; errors?: unknown[] };
  if (!response.ok || body.errors || !body.data)
    throw new Error(`${query.slice(0, 50)}… answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return body.data;
}

type Direction = {
  protocol: TrafficPacket['protocol'];
  src: string;
  dst: string;
  srcPort: number | null;
  dstPort: number | null;
  count: number;
};
type FileProfile = { firstNs: number; lastNs: number; directions: Direction[] };

/**
 * The generator again, without the file: first and last packet times, and
 * packets per direction of each flow (what a filter matches is a function of
 * those), so each filtered subscriber's due count is known exactly.
 */
function profileTraffic(packets: number): FileProfile {
  const traffic = new MixedTraffic({ seed: SEED, flows: FLOWS });
  const buffer = Buffer.allocUnsafe(MAX_RECORD);
  const directions = new Map<string, Direction>();
  let firstNs = 0;
  let lastNs = 0;
  for (let i = 0; i < packets; i++) {
    traffic.next(buffer, 0);
    const e = traffic.expected();
    const ns = e.seconds * 1e9 + e.micros * 1e3;
    if (i === 0) firstNs = ns;
    lastNs = ns;
    const key = `${e.protocol} ${e.src} ${e.srcPort} ${e.dst} ${e.dstPort}`;
    const known = directions.get(key);
    if (known) known.count++;
    else directions.set(key, { protocol: e.protocol, src: e.src, dst: e.dst, srcPort: e.srcPort, dstPort: e.dstPort, count: 1 });
  }
  return { firstNs, lastNs, directions: [...directions.values()] };
}

const ipv4 = (address: string) => {
  const parts = address.split('.');
  return parts.length === 4 ? parts.reduce((n, part) => n * 256 + Number(part), 0) : null;
};
const cidr = (network: number, bits: number) => {
  const base = network * 2 ** (32 - bits);
  return `${[24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256).join('.')}/${bits}`;
};

/** Matching packets of `filter` in the file. */
const dueCount = (filter: TrafficFilter, profile: FileProfile) =>
  profile.directions.reduce((sum, d) => sum + (filter.matches(d as unknown as TrafficPacket) ? d.count : 0), 0);

/** `count` IPv4 networks (/8 to /30) each holding about `share` of the packets (either endpoint), closest first. */
function chooseFilters(profile: FileProfile, count: number, share: number): { host: string; due: number }[] {
  const total = profile.directions.reduce((sum, d) => sum + d.count, 0);
  const candidates = new Map<string, number>();
  for (const d of profile.directions) {
    const src = ipv4(d.src);
    const dst = ipv4(d.dst);
    if (src === null || dst === null) continue;
    for (let bits = 8; bits <= 30; bits++) {
      const a = Math.floor(src / 2 ** (32 - bits));
      const b = Math.floor(dst / 2 ** (32 - bits));
      for (const net of a === b ? [a] : [a, b]) {
        const key = cidr(net, bits);
        candidates.set(key, (candidates.get(key) ?? 0) + d.count);
      }
    }
  }
  const chosen = [...candidates]
    .sort((x, y) => Math.abs(x[1] / total - share) - Math.abs(y[1] / total - share))
    .slice(0, count)
    .map(([host]) => ({ host, due: dueCount(new TrafficFilter({ host }), profile) }));
  // Fewer networks than subscribers: some share a filter.
  return Array.from({ length: count }, (_, k) => chosen[k % chosen.length] as { host: string; due: number });
}

type Tally = {
  delivered: number;
  dropped: number;
  batches: number;
  live: boolean;
  ended: string | null;
  errors: number;
  firstAt: number;
  lastAt: number;
};

type Phase = {
  captureId: string;
  status: string;
  packets: number;
  seconds: number;
  startedAt: number;
  serverDropped: number;
  tallies: Tally[];
  /** (b): receipt − due time offset, ms; startedAt added after. */
  latencies: number[];
  drainedAt: number;
  serverAfter: ProcessSample;
  /** The bench's own CPU (its sockets, parsing) from release to the last receipt: it shares the machine with the server. */
  clientCpuSeconds: number;
};

const CAPTURE_FIELDS = 'id status startedAt endedAt stats { packets droppedForSubscribers packetsPerSecond }';
type CaptureState = {
  id: string;
  status: string;
  startedAt: string | null;
  endedAt: string | null;
  stats: { packets: number; droppedForSubscribers: number; packetsPerSecond: number };
};

async function startCapture(url: string, token: string, input: Record<string, unknown>): Promise<string> {
  const data = await graphql<{ startCapture: { capture: { id: string } } }>(
    url,
    'mutation($input: StartCaptureInput!) { startCapture(input: $input) { capture { id } } }',
    { input },
    token,
  );
  return data.startCapture.capture.id;
}

const captureState = async (url: string, token: string, id: string) =>
  (await graphql<{ capture: CaptureState }>(url, `query($id: ID!) { capture(id: $id) { ${CAPTURE_FIELDS} } }`, { id }, token)).capture;

async function waitStatus(url: string, token: string, id: string, done: (status: string) => boolean, timeoutS: number) {
  const deadline = Date.now() + timeoutS * 1_000;
  for (;;) {
    const state = await captureState(url, token, id);
    if (done(state.status)) return state;
    if (Date.now() > deadline) throw new Error(`capture ${id} still ${state.status} after ${timeoutS} s`);
    await sleep(100);
  }
}

/**
 * One measured capture: blocker running, the capture queued behind it,
 * every socket subscribed and live, blocker stopped; then until every
 * subscription completed.
 */
async function runPhase(
  server: ServerProcess,
  token: string,
  evidenceId: string,
  speed: number,
  maxSeconds: number | null,
  filters: ({ host: string } | null)[],
  profile: FileProfile,
): Promise<Phase> {
  const url = server.url;
  const blocker = await startCapture(url, token, { evidenceId, speed: 0.001 });
  await waitStatus(url, token, blocker, (status) => status === 'RUNNING', 60);
  const captureId = await startCapture(url, token, { evidenceId, speed, ...(maxSeconds ? { maxSeconds } : {}) });
  const latencies: number[] = [];
  const measure = filters.some((filter) => filter !== null);
  const toMs = 1 / 1e6 / (speed || 1);
  const tallies: Tally[] = [];
  let clientCpu = process.cpuUsage();
  const subscribers: Subscriber[] = [];
  try {
    for (const [k, filter] of filters.entries()) {
      const tally: Tally = { delivered: 0, dropped: 0, batches: 0, live: false, ended: null, errors: 0, firstAt: 0, lastAt: 0 };
      tallies.push(tally);
      const args = `captureId: "${captureId}"${filter ? `, filter: { host: "${filter.host}" }` : ''}`;
      subscribers.push(
        await subscribe({
          url: url.replace(/^http/, 'ws'),
          authorization: `Bearer ${token}`,
          query: `subscription { trafficEvents(${args}) { dropped packets { timeNs ${FIELDS} } } }`,
          localAddress: `127.0.0.${1 + (k % 4)}`,
          timeoutMs: CONNECT_TIMEOUT_MS,
          onNext: (payload, receivedAt) => {
            const batch = (payload as { data?: { trafficEvents?: { dropped: number; packets: { timeNs: string }[] } } }).data
              ?.trafficEvents;
            if (!batch) {
              tally.errors++;
              return;
            }
            tally.live = true;
            tally.batches++;
            tally.dropped += batch.dropped;
            const n = batch.packets.length;
            if (n === 0) return;
            if (tally.firstAt === 0) tally.firstAt = receivedAt;
            tally.lastAt = receivedAt;
            tally.delivered += n;
            if (measure) for (const packet of batch.packets) latencies.push(receivedAt - (Number(packet.timeNs) - profile.firstNs) * toMs);
          },
          onEnd: (reason) => {
            tally.ended = reason;
          },
        }),
      );
    }
    for (const deadline = Date.now() + 60_000; tallies.some((tally) => !tally.live); await sleep(50)) {
      if (Date.now() > deadline) throw new Error(`${tallies.filter((tally) => !tally.live).length} subscriptions never went live`);
    }
    const queued = await captureState(url, token, captureId);
    if (queued.status !== 'QUEUED') throw new Error(`the capture was ${queued.status} before its subscribers were live`);
    await graphql(
      url,
      'mutation($input: StopCaptureInput!) { stopCapture(input: $input) { capture { id } } }',
      { input: { id: blocker } },
      token,
    );
    clientCpu = process.cpuUsage();
    progress(`${filters.length} subscribers live; capture ${captureId} at speed ${speed} released`);
    const deadline = Date.now() + DRAIN_TIMEOUT_S * 1_000;
    for (let reported = Date.now(); tallies.some((tally) => tally.ended === null); await sleep(100)) {
      if (Date.now() > deadline || server.exitCode() !== undefined) break;
      if (Date.now() - reported > 5_000) {
        const delivered = tallies.reduce((sum, tally) => sum + tally.delivered, 0);
        progress(
          `${tallies.filter((tally) => tally.ended !== null).length} of ${tallies.length} subscriptions done, ${delivered} packets delivered`,
        );
        reported = Date.now();
      }
    }
    const drainedAt = Date.now();
    const { user, system } = process.cpuUsage(clientCpu);
    const serverAfter = sampleProcess(server.pid);
    // Each subscription adds its last drops to the capture's count as it completes.
    await sleep(1_500);
    const state = await waitStatus(url, token, captureId, (status) => !['QUEUED', 'RUNNING'].includes(status), 60);
    const startedAt = Date.parse(state.startedAt ?? '');
    const seconds = (Date.parse(state.endedAt ?? '') - startedAt) / 1_000;
    for (let i = 0; i < latencies.length; i++) latencies[i] = (latencies[i] as number) - startedAt;
    return {
      captureId,
      status: state.status,
      packets: state.stats.packets,
      seconds,
      startedAt,
      serverDropped: state.stats.droppedForSubscribers,
      tallies,
      latencies,
      drainedAt,
      serverAfter,
      clientCpuSeconds: (user + system) / 1e6,
    };
  } finally {
    await Promise.all(subscribers.map((subscriber) => subscriber.close()));
  }
}

const mb = (value: number) => Math.round(value);
const ms = (value: number) => (Number.isFinite(value) ? Math.round(value) : -1);
const sumOf = (tallies: Tally[], pick: (tally: Tally) => number) => tallies.reduce((sum, tally) => sum + pick(tally), 0);
const cpu = (from: ProcessSample, to: ProcessSample, seconds: number) =>
  `${(to.cpuSeconds - from.cpuSeconds).toFixed(1)} s CPU (${Math.round(((to.cpuSeconds - from.cpuSeconds) / seconds) * 100)}% of a core)`;
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

async function main(): Promise<void> {
  const file = await mixedCapture(PACKETS, progress);
  const profiled = performance.now();
  const profile = profileTraffic(PACKETS);
  const fileSeconds = (profile.lastNs - profile.firstNs) / 1e9;
  const filePps = PACKETS / fileSeconds;
  const speed = Math.round((RATE / filePps) * 1e4) / 1e4;
  const filters = chooseFilters(profile, SUBSCRIBERS, FILTER_SHARE);
  progress(
    `profiled the traffic in ${((performance.now() - profiled) / 1000).toFixed(1)} s: ${fileSeconds.toFixed(2)} s of capture time, ${Math.round(filePps)} packets/s recorded`,
  );

  const database = await benchDatabase('.data/bench-traffic', EMBEDDED_PORT);
  const evidenceDir = path.join(ROOT, '.data/bench-traffic', `evidence-${process.pid}`);
  mkdirSync(evidenceDir, { recursive: true });
  const lines: string[] = [];
  let last = '';
  let failed = false;
  let server: ServerProcess | undefined;
  try {
    server = await startServer('ScanOps', 'src/main.ts', {
      LOG_LEVEL: 'info',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      ACCESS_TOKEN_TTL_SECONDS: String(TOKEN_TTL_S),
      // TRAFFIC_SERVER_NODE_OPTIONS: node options of the server (e.g. --max-old-space-size=256 to see what its heap needs).
      ...(process.env.TRAFFIC_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.TRAFFIC_SERVER_NODE_OPTIONS } : {}),
      SCAN_ALLOWED_TARGETS: '127.0.0.1/32',
      // One capture at a time: the measured one waits behind a blocker while its sockets subscribe.
      CAPTURE_CONCURRENCY: '1',
      CAPTURE_MAX_PACKETS: String(Math.max(10_000_000, PACKETS)),
      CAPTURE_MAX_BYTES: String(Math.max(2 ** 30, file.bytes * 2)),
      EVIDENCE_MAX_CAPTURE_BYTES: String(Math.max(2 ** 30, file.bytes + 2 ** 20)),
      EVIDENCE_QUOTA_BYTES: String(Math.max(10 * 2 ** 30, file.bytes * 4)),
      EVIDENCE_DIR: evidenceDir,
      ...database.env,
    });
    const watch = watchProcess(server.pid, 250);
    const idle = sampleProcess(server.pid);
    const token = (
      await graphql<{ login: { accessToken: string } }>(
        server.url,
        'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
        { input: ADMIN },
      )
    ).login.accessToken;
    const scanId = (
      await graphql<{ createScan: { scan: { id: string } } }>(
        server.url,
        'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id } } }',
        { input: { targets: ['127.0.0.1'], ports: '1' } },
        token,
      )
    ).createScan.scan.id;
    const uploadStarted = performance.now();
    const uploaded = await upload(server.url, {
      query: 'mutation($input: UploadEvidenceInput!) { uploadEvidence(input: $input) { evidence { id size } } }',
      variables: { input: { scanId, file: null, description: 'bench:traffic' } },
      file: {
        filename: path.basename(file.path),
        contentType: 'application/vnd.tcpdump.pcap',
        content: createReadStream(file.path, { highWaterMark: 1 << 20 }),
      },
      headers: { authorization: `Bearer ${token}`, 'x-graphql-yoga-csrf': '1' },
    });
    const evidence = (uploaded.body?.data?.uploadEvidence as { evidence: { id: string; size: number } } | undefined)?.evidence;
    if (!evidence) throw new Error(`upload failed (${uploaded.status}): ${JSON.stringify(uploaded.body).slice(0, 500)}`);
    const afterUpload = sampleProcess(server.pid);
    progress(`uploaded ${(evidence.size / 1e6).toFixed(0)} MB in ${((performance.now() - uploadStarted) / 1000).toFixed(1)} s`);
    lines.push(
      `capture: ${path.relative(ROOT, file.path)}, ${PACKETS} packets, ${(file.bytes / 1e6).toFixed(0)} MB, ${fileSeconds.toFixed(2)} s recorded (${Math.round(filePps)} packets/s); ` +
        `server RSS ${mb(idle.rssMb)} MB idle, peak ${mb(afterUpload.peakRssMb)} MB after the upload; figures are noisy (2 cores shared with other work)`,
    );

    let pps = Number.NaN;
    let deliveredPps = Number.NaN;
    let filteredDrops = Number.NaN;
    let p99 = Number.NaN;
    let honestA = false;
    let honestB = false;
    if (PHASES.includes('a')) {
      const before = sampleProcess(server.pid);
      const a = await runPhase(
        server,
        token,
        evidence.id,
        0,
        A_MAX_SECONDS,
        Array.from({ length: SUBSCRIBERS }, () => null),
        profile,
      );
      const delivered = sumOf(a.tallies, (t) => t.delivered);
      const dropped = sumOf(a.tallies, (t) => t.dropped);
      const wrong = a.tallies.filter((t) => t.delivered + t.dropped !== a.packets);
      const lastAt = Math.max(...a.tallies.map((t) => t.lastAt));
      const window = (lastAt - a.startedAt) / 1_000;
      pps = a.packets / a.seconds;
      deliveredPps = delivered / window;
      honestA = wrong.length === 0 && a.status === 'COMPLETED' && a.tallies.every((t) => t.ended === 'complete' && t.errors === 0);
      lines.push(
        `(a) speed 0, ${SUBSCRIBERS} unfiltered subscribers: capture ${a.status} (${a.packets === PACKETS ? 'the whole file' : `cut at maxSeconds ${A_MAX_SECONDS}`}), ${a.packets} packets in ${a.seconds.toFixed(2)} s = ${Math.round(pps)} packets/s; ` +
          `delivered ${delivered} (${((delivered / SUBSCRIBERS / a.packets) * 100).toFixed(1)}% of each subscriber's due) in ${window.toFixed(2)} s from start to last receipt = ${Math.round(deliveredPps)} packets/s across subscribers, ` +
          `${Math.round(delivered / SUBSCRIBERS / window)} per subscriber`,
      );
      lines.push(
        `(a) drops: ${dropped} summed over subscribers' \`dropped\`, capture's droppedForSubscribers ${a.serverDropped}${a.serverDropped === dropped ? ' (same)' : ' (DIFFERENT)'}; ` +
          `delivered + dropped = ${a.packets} for ${SUBSCRIBERS - wrong.length} of ${SUBSCRIBERS} subscribers` +
          (wrong.length ? ` (first off: delivered ${wrong[0]?.delivered} + dropped ${wrong[0]?.dropped}, ended ${wrong[0]?.ended})` : '') +
          `; subscriptions ended: ${[...new Set(a.tallies.map((t) => t.ended))].join(', ')}; ` +
          `server ${cpu(before, a.serverAfter, (a.drainedAt - a.startedAt) / 1_000)} to the last receipt, client ${a.clientCpuSeconds.toFixed(1)} s CPU; peak RSS ${mb(a.serverAfter.peakRssMb)} MB`,
      );
    }
    if (PHASES.includes('b')) {
      const before = sampleProcess(server.pid);
      const b = await runPhase(server, token, evidence.id, speed, null, filters, profile);
      const dropped = sumOf(b.tallies, (t) => t.dropped);
      const delivered = sumOf(b.tallies, (t) => t.delivered);
      const due = filters.reduce((sum, filter) => sum + filter.due, 0);
      const wrong = b.tallies.filter((t, k) => t.delivered + t.dropped !== filters[k]?.due);
      const sorted = Float64Array.from(b.latencies).sort();
      const [p50, p90, p999, max] = [50, 90, 99.9, 100].map((p) => percentile(sorted, p));
      p99 = percentile(sorted, 99);
      filteredDrops = dropped;
      honestB =
        wrong.length === 0 &&
        b.packets === PACKETS &&
        b.status === 'COMPLETED' &&
        b.tallies.every((t) => t.ended === 'complete' && t.errors === 0);
      const shares = filters.map((filter) => filter.due / PACKETS);
      lines.push(
        `(b) speed ${speed} (${RATE} packets/s wanted), ${SUBSCRIBERS} subscribers each on a network (\`host:\` ${filters[0]?.host}, …; ${(Math.min(...shares) * 100).toFixed(2)}–${(Math.max(...shares) * 100).toFixed(2)}% of the packets): ` +
          `capture ${b.status}, ${b.packets} packets in ${b.seconds.toFixed(2)} s = ${Math.round(b.packets / b.seconds)} packets/s; ` +
          `delivered ${delivered} of ${due} due, ${dropped} dropped (capture's droppedForSubscribers ${b.serverDropped}); delivered + dropped = due for ${SUBSCRIBERS - wrong.length} of ${SUBSCRIBERS}`,
      );
      lines.push(
        `(b) latency (receipt − (startedAt + (timeNs − first)/speed)) over ${sorted.length} packets: p50 ${ms(p50 ?? Number.NaN)} ms, p90 ${ms(p90 ?? Number.NaN)} ms, p99 ${ms(p99)} ms, p99.9 ${ms(p999 ?? Number.NaN)} ms, max ${ms(max ?? Number.NaN)} ms; ` +
          `server ${cpu(before, b.serverAfter, (b.drainedAt - b.startedAt) / 1_000)}, client ${b.clientCpuSeconds.toFixed(1)} s CPU, peak RSS ${mb(b.serverAfter.peakRssMb)} MB`,
      );
    }
    const end = watch.latest();
    watch.stop();
    const rss = end.peakRssMb;
    const log = server.log;
    lines.push(`server log: ${log.warnings} warnings, ${log.errors} errors${log.samples.length ? `; first: ${log.samples[0]}` : ''}`);
    const goals: [string, boolean][] = [];
    if (PHASES.includes('a'))
      goals.push([`(a) ${Math.round(pps)} packets/s ≥ ${GOAL_PPS} with honest drop counts`, pps >= GOAL_PPS && honestA]);
    if (PHASES.includes('b'))
      goals.push([
        `(b) zero drops (${filteredDrops}) and p99 ${ms(p99)} ms < ${GOAL_P99_MS}`,
        filteredDrops === 0 && honestB && p99 < GOAL_P99_MS,
      ]);
    goals.push([`RSS ${mb(rss)} MB < ${GOAL_RSS_MB}`, rss < GOAL_RSS_MB]);
    lines.push(`goal: ${goals.map(([what, ok]) => `${what} ${met(ok)}`).join('; ')}`);
    // The correctness part: the counts add up; the rates are goals, reported above.
    failed = (PHASES.includes('a') && !honestA) || (PHASES.includes('b') && !honestB);
    last = `traffic-bench: pps=${Math.round(pps)} delivered_pps=${Math.round(deliveredPps)} filtered_drops=${filteredDrops} p99_ms=${ms(p99)} rss_mb=${mb(rss)}`;
    await graphql(
      server.url,
      'mutation($input: DeleteScanInput!) { deleteScan(input: $input) { deletedScanId } }',
      { input: { id: scanId } },
      token,
    ).catch((error: unknown) => progress(`could not delete the scan: ${(error as Error).message}`));
  } finally {
    try {
      await server?.stop();
    } catch (error) {
      progress((error as Error).message);
      process.exitCode = 1;
    }
    await database.drop();
    rmSync(evidenceDir, { recursive: true, force: true });
  }
  for (const line of lines) out(line);
  if (process.env.BENCH_CPU_PROF) {
    const newest = newestProfile(process.env.BENCH_CPU_PROF);
    if (newest) {
      const { total, top } = topSelfTime(newest, 20);
      out(`server profile ${newest} (${(total / 1000).toFixed(1)} s sampled), top self time:`);
      for (const entry of top) out(`  ${(entry.share * 100).toFixed(1).padStart(5)}% ${entry.ms.toFixed(0).padStart(6)} ms  ${entry.name}`);
    }
  }
  if (failed) {
    progress('the counts did not add up (see above)');
    process.exitCode = 1;
  }
  out(last);
}

main().catch((error: unknown) => {
  process.stderr.write(`traffic-bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
