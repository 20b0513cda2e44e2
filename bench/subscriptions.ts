import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ELDHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Subscriber, subscribe } from './lib/graphql-ws-subscriber.ts';
import { benchDatabase, type ProcessSample, type ServerProcess, startServer, watchProcess } from './lib/server-process.ts';
import {
  type Audience,
  DeliveryTally,
  percentile,
  type ScanHistory,
  type SocketTally,
  STATUS_LETTER,
  type Summary,
} from './lib/subscription-tally.ts';

/**
 * `scanUpdated` fan-out (issue 14): one server process, ANALYST and ADMIN
 * sockets all subscribed, then 100 short scans at 10 a second. Each socket
 * must get every status change of the scans its user may see, once, in
 * order, and nothing else; latency is receipt minus the `updatedAt` the
 * payload carries (one machine, one clock).
 */
const ANALYSTS = 10;
const SOCKETS_PER_ANALYST = envCount('SUBS_ANALYST_SOCKETS', 990);
const ADMIN_SOCKETS = envCount('SUBS_ADMIN_SOCKETS', 100);
const SCANS_PER_ANALYST = 10;
const SCANS_PER_SECOND = 10;
const CONNECT_CONCURRENCY = envCount('SUBS_CONNECT_CONCURRENCY', 200);
/** How long every socket may take to receive a probe event before the scans start anyway. */
const READY_TIMEOUT_S = envCount('SUBS_READY_TIMEOUT_S', 120);
/** How long after the last scan started the run waits for the last expected event. */
const DRAIN_TIMEOUT_S = envCount('SUBS_DRAIN_TIMEOUT_S', 60);
/** After the last expected event, for late duplicates and strays to arrive. */
const SETTLE_MS = 2_000;
const CONNECT_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 60_000;
/** Sockets per source address: one (address, port) pair to the server offers about 28,000 ephemeral ports. */
const SOCKETS_PER_SOURCE = 5_000;
/** 100 closed ports on 127.0.0.1 at 100 probes a second: a scan of about a second that stores 100 results. */
const SCAN_INPUT = { targets: ['127.0.0.1'], ports: '1-100', options: { maxRate: 100 } };
/** Scans at once in the server's own worker: 10 a second of a second each, with room for pg-boss's 1 s poll. */
const WORKER_CONCURRENCY = 16;
/** Longer than any run, so no socket is closed for an expired token. */
const TOKEN_TTL_S = 3_600;

const ADMIN = { email: 'ops@scanops.local', password: 'load test password, long enough' };
const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }';
const CREATE_USER = 'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }';
const CREATE_SCAN = 'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id } } }';
const DELETE_SCAN = 'mutation($input: DeleteScanInput!) { deleteScan(input: $input) { deletedScanId } }';
const SCAN_PAGE =
  'query($after: String) { scans(first: 100, after: $after) { nodes { id status createdAt startedAt finishedAt owner { id } } pageInfo { hasNextPage endCursor } } }';
const SUBSCRIPTION = 'subscription { scanUpdated { id status updatedAt } }';

type ScanState = {
  id: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  owner: { id: string } | null;
};
type Run = { lines: string[]; last: string; failed: boolean };

const out = (text: string) => process.stdout.write(`${text}\n`);
const progress = (text: string) => process.stderr.write(`subs-bench: ${text}\n`);

function envCount(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, not ${process.env[name]}`);
  return value;
}

/** Node raises its soft descriptor limit to the hard one at start; past the hard limit only root could go. */
function assertDescriptors(needed: number): void {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? Number.POSITIVE_INFINITY);
  if (soft < needed)
    throw new Error(`${needed} descriptors needed, the limit is ${soft}: raise \`ulimit -Hn\`, or set fewer SUBS_*_SOCKETS`);
}

/** A server swamped by its subscriptions may answer late or never: past `REQUEST_TIMEOUT_MS` a request fails. */
async function graphql<T>(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T | null; errors?: unknown[] };
  if (!response.ok || body.errors || !body.data)
    throw new Error(`${query.slice(0, 40)}… answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return body.data;
}

const login = async (url: string, input: typeof ADMIN) =>
  (await graphql<{ login: { accessToken: string } }>(url, LOGIN, { input })).login.accessToken;

const createScan = async (url: string, token: string, input: Record<string, unknown>) =>
  (await graphql<{ createScan: { scan: { id: string } } }>(url, CREATE_SCAN, { input }, token)).createScan.scan.id;

/** The analysts, made through the API with names of this run (an embedded database keeps earlier runs' users), each logged in. */
async function createAnalysts(url: string, adminToken: string): Promise<{ ids: string[]; tokens: string[] }> {
  const run = randomBytes(3).toString('hex');
  const analysts = await Promise.all(
    Array.from({ length: ANALYSTS }, async (_, i) => {
      const user = { email: `analyst${i}-${run}@bench.scanops.local`, password: `analyst ${i} password of run ${run}` };
      const created = await graphql<{ createUser: { user: { id: string } } }>(
        url,
        CREATE_USER,
        { input: { ...user, role: 'ANALYST' } },
        adminToken,
      );
      return { id: created.createUser.user.id, token: await login(url, user) };
    }),
  );
  return { ids: analysts.map((analyst) => analyst.id), tokens: analysts.map((analyst) => analyst.token) };
}

/** Every socket subscribed, `CONNECT_CONCURRENCY` handshakes at a time. */
async function connectAll(url: string, plan: Audience[], tokens: string[], adminToken: string, tally: DeliveryTally) {
  const subscribers: Subscriber[] = [];
  const failures = new Map<string, number>();
  const sources = Math.ceil(plan.length / SOCKETS_PER_SOURCE);
  let next = 0;
  const connectOne = async (k: number) => {
    const audience = plan[k] ?? 'ADMIN';
    const socket: SocketTally = { audience, seen: new Map() };
    try {
      subscribers.push(
        await subscribe({
          url: url.replace(/^http/, 'ws'),
          authorization: `Bearer ${audience === 'ADMIN' ? adminToken : tokens[audience]}`,
          query: SUBSCRIPTION,
          localAddress: `127.0.0.${1 + (k % sources)}`,
          timeoutMs: CONNECT_TIMEOUT_MS,
          onNext: (payload, receivedAt) => tally.record(socket, payload, receivedAt),
          onEnd: (reason) => (socket.ended ??= reason),
        }),
      );
      tally.sockets.push(socket);
    } catch (error) {
      const reason = (error as Error).message;
      failures.set(reason, (failures.get(reason) ?? 0) + 1);
    }
    if ((k + 1) % 1_000 === 0) progress(`${k + 1} of ${plan.length} sockets tried`);
  };
  await Promise.all(
    Array.from({ length: Math.min(CONNECT_CONCURRENCY, plan.length) }, async () => {
      while (next < plan.length) await connectOne(next++);
    }),
  );
  return { subscribers, failures };
}

/**
 * graphql-transport-ws does not acknowledge a subscribe, so each analyst
 * creates one scan (never started) and the run waits until every socket has
 * received one it may see: its subscription was then live before any scan of
 * the run existed. Every 5 s without all of them, each analyst probes again,
 * as a subscription that began after a probe never sees it. The probes are
 * deleted after, which publishes nothing.
 */
async function awaitLive(url: string, tokens: string[], tally: DeliveryTally): Promise<{ probes: Map<string, number>; live: number }> {
  const probes = new Map<string, number>();
  await Promise.all(tokens.map(async (token, owner) => probes.set(await createScan(url, token, SCAN_INPUT), owner)));
  const deadline = Date.now() + READY_TIMEOUT_S * 1_000;
  let live = 0;
  for (let reported = Date.now(); ; await sleep(250)) {
    live = tally.sockets.filter((socket) => tally.isLive(socket, probes)).length;
    if (live === tally.sockets.length || Date.now() > deadline) break;
    if (Date.now() - reported > 5_000) {
      progress(`${live} of ${tally.sockets.length} subscriptions live`);
      reported = Date.now();
      // A subscription that began after the last probes never sees them: probe again.
      await Promise.all(tokens.map(async (token, owner) => probes.set(await createScan(url, token, SCAN_INPUT), owner)));
    }
  }
  await Promise.all([...probes].map(([id, owner]) => graphql(url, DELETE_SCAN, { input: { id } }, tokens[owner])));
  return { probes, live };
}

/** 10 scans a second, the analysts in turn; each `createScan(start: true)` makes a PENDING scan and queues it. */
async function runScans(url: string, tokens: string[]) {
  const owners = new Map<string, number>();
  const took: number[] = [];
  const failures: string[] = [];
  const started = performance.now();
  const requests: Promise<void>[] = [];
  for (let k = 0; k < ANALYSTS * SCANS_PER_ANALYST; k++) {
    await sleep(Math.max(0, started + (k * 1_000) / SCANS_PER_SECOND - performance.now()));
    const owner = k % ANALYSTS;
    const sent = performance.now();
    requests.push(
      createScan(url, tokens[owner] ?? '', { ...SCAN_INPUT, start: true })
        .then((id) => void owners.set(id, owner))
        .catch((error: unknown) => void failures.push((error as Error).message))
        .finally(() => took.push(performance.now() - sent)),
    );
  }
  await Promise.all(requests);
  return { owners, took: Float64Array.from(took).sort(), failures, seconds: (performance.now() - started) / 1_000 };
}

/** The statuses a scan went through, by what the API says of it now; the whole lifecycle when it cannot say. */
function historyOf(scan: ScanState | undefined): string {
  const end = scan && STATUS_LETTER[scan.status];
  if (!scan || !end) return 'PQRC';
  if (scan.status === 'PENDING') return 'P';
  if (scan.status === 'QUEUED' || scan.status === 'RUNNING') return `PQ${scan.status === 'RUNNING' ? 'R' : ''}`;
  return `PQ${scan.startedAt ? 'R' : ''}${end}`;
}

/**
 * Every scan of this run's analysts as the server has it now, listed rather
 * than looked up by ID: a createScan that timed out may still have made one,
 * and its events are then the run's too.
 */
async function finalStates(
  url: string,
  adminToken: string,
  analystIds: string[],
): Promise<Map<string, ScanState & { ownerIndex: number }>> {
  const states = new Map<string, ScanState & { ownerIndex: number }>();
  type Page = { scans: { nodes: ScanState[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
  for (let after: string | null = null; ; ) {
    const { scans }: Page = await graphql<Page>(url, SCAN_PAGE, { after }, adminToken);
    for (const scan of scans.nodes) {
      const ownerIndex = analystIds.indexOf(scan.owner?.id ?? '');
      if (ownerIndex >= 0) states.set(scan.id, { ...scan, ownerIndex });
    }
    if (!scans.pageInfo.hasNextPage) return states;
    after = scans.pageInfo.endCursor;
  }
}

/** Waits until every (socket, scan) pair has seen COMPLETED, the server has died, or the drain timeout has passed. */
async function drain(server: ServerProcess, tally: DeliveryTally, target: number, lastStarted: number): Promise<boolean> {
  const deadline = lastStarted + DRAIN_TIMEOUT_S * 1_000;
  for (let reported = Date.now(); tally.completed < target; await sleep(200)) {
    if (Date.now() > deadline || server.exitCode() !== undefined) return false;
    if (Date.now() - reported > 5_000) {
      progress(`${tally.completed} of ${target} (socket, scan) pairs have seen COMPLETED`);
      reported = Date.now();
    }
  }
  return true;
}

/** Whole milliseconds; -1 where there was nothing to measure (no delivery, no scan that ran). */
const ms = (value: number) => (Number.isFinite(value) ? Math.round(value) : -1);
const mb = (value: number) => Math.round(value);
const sorted = (values: number[]) => Float64Array.from(values.filter(Number.isFinite)).sort();
const countBy = (values: string[]) => {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
};
const top = (counts: Map<string, number>, n: number) =>
  [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([what, count]) => `${what} ×${count}`)
    .join(', ');
const cpu = (from: ProcessSample, to: ProcessSample, seconds: number) =>
  `${(to.cpuSeconds - from.cpuSeconds).toFixed(1)} s (${Math.round(((to.cpuSeconds - from.cpuSeconds) / seconds) * 100)}% of a core)`;

type Connected = Awaited<ReturnType<typeof connectAll>> & { requested: number; seconds: number; live: number; liveSeconds: number };
type Scans = Awaited<ReturnType<typeof runScans>> & { states: Map<string, ScanState> | undefined; histories: Map<string, ScanHistory> };
type Events = { drained: boolean; drainSeconds: number; seconds: number; clientCpuSeconds: number; loopDelay: ELDHistogram };
type Server = { process: ServerProcess; idle: ProcessSample; subscribed: ProcessSample; beforeScans: ProcessSample; after: ProcessSample };

/** The scans and the events they cause, timed, with the server sampled around them. */
async function measureEvents(server: ServerProcess, tokens: string[], tally: DeliveryTally) {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const clientCpu = process.cpuUsage();
  const started = performance.now();
  const scans = await runScans(server.url, tokens);
  const lastStarted = Date.now();
  const visible = (audience: Audience) => [...scans.owners.values()].filter((owner) => audience === 'ADMIN' || owner === audience).length;
  const target = tally.sockets.reduce((sum, socket) => sum + visible(socket.audience), 0);
  const drained = await drain(server, tally, target, lastStarted);
  const { user, system } = process.cpuUsage(clientCpu);
  loopDelay.disable();
  const events: Events = {
    drained,
    drainSeconds: (Date.now() - lastStarted) / 1_000,
    seconds: (performance.now() - started) / 1_000,
    clientCpuSeconds: (user + system) / 1e6,
    loopDelay,
  };
  return { scans, events };
}

async function bench(server: ServerProcess, subscribers: Subscriber[]): Promise<Run> {
  const adminToken = await login(server.url, ADMIN);
  const analysts = await createAnalysts(server.url, adminToken);
  const tokens = analysts.tokens;
  const plan: Audience[] = [
    ...Array.from({ length: ADMIN_SOCKETS }, (): Audience => 'ADMIN'),
    ...Array.from({ length: ANALYSTS * SOCKETS_PER_ANALYST }, (_, k): Audience => k % ANALYSTS),
  ];
  const tally = new DeliveryTally();
  const watch = watchProcess(server.pid);
  const idle = watch.latest();

  let started = performance.now();
  const sockets = await connectAll(server.url, plan, tokens, adminToken, tally);
  subscribers.push(...sockets.subscribers);
  const seconds = (performance.now() - started) / 1_000;
  const subscribed = watch.latest();
  started = performance.now();
  const { probes, live } = await awaitLive(server.url, tokens, tally);
  const connected: Connected = { ...sockets, requested: plan.length, seconds, live, liveSeconds: (performance.now() - started) / 1_000 };

  const beforeScans = watch.latest();
  const { scans, events } = await measureEvents(server, tokens, tally);
  const after = watch.latest();
  watch.stop();
  await sleep(SETTLE_MS);
  // What arrives from now on no longer counts; closed sockets also spare the server the work, so it answers the queries below.
  await Promise.all(subscribers.map((subscriber) => subscriber.close()));

  const notes: string[] = [];
  const states = await finalStates(server.url, adminToken, analysts.ids).catch((error: unknown) => {
    notes.push(`scans: final states unknown (${(error as Error).message}); each expected to be PENDING, QUEUED, RUNNING, COMPLETED`);
    return undefined;
  });
  const exit = server.exitCode();
  if (exit !== undefined) notes.push(`server: EXITED during the run (code ${exit}); ${top(server.log.nodeWarnings, 3)}`);
  const histories = states
    ? new Map([...states].map(([id, scan]) => [id, { owner: scan.ownerIndex, statuses: historyOf(scan) }]))
    : new Map([...scans.owners].map(([id, owner]) => [id, { owner, statuses: historyOf(undefined) }]));
  const summary = tally.summarize(histories, new Set(probes.keys()));
  return report(
    connected,
    { ...scans, states, histories },
    events,
    summary,
    tally,
    { process: server, idle, subscribed, beforeScans, after },
    notes,
  );
}

function report(
  connected: Connected,
  scans: Scans,
  events: Events,
  summary: Summary,
  tally: DeliveryTally,
  server: Server,
  notes: string[],
): Run {
  const lines: string[] = [...notes];
  const subscribers = tally.sockets.length;
  lines.push(
    `subscribers: ${subscribers} connected of ${connected.requested} (${ANALYSTS} ANALYST users × ${SOCKETS_PER_ANALYST}, ${ADMIN_SOCKETS} ADMIN) in ${connected.seconds.toFixed(1)} s` +
      `${connected.failures.size ? `; failed: ${top(connected.failures, 3)}` : ''}; ${connected.live} live (received a probe event) after ${connected.liveSeconds.toFixed(1)} s`,
  );
  const states = [...(scans.states?.values() ?? [])];
  const completed = states.filter((s) => s.status === 'COMPLETED').length;
  const others = countBy(states.filter((s) => s.status !== 'COMPLETED').map((s) => s.status));
  const ended = scans.states ? `${completed} COMPLETED${others.size ? ` (others: ${top(others, 5)})` : ''}` : 'how they ended unknown';
  const queueWait = sorted(states.map((s) => Date.parse(s.startedAt ?? '') - Date.parse(s.createdAt)));
  const running = sorted(states.map((s) => Date.parse(s.finishedAt ?? '') - Date.parse(s.startedAt ?? '')));
  lines.push(
    `scans: ${scans.histories.size} of ${ANALYSTS * SCANS_PER_ANALYST} created and started over ${scans.seconds.toFixed(1)} s (createScan p50 ${ms(percentile(scans.took, 50))} ms, max ${ms(percentile(scans.took, 100))} ms` +
      `${scans.failures.length ? `, ${scans.failures.length} failed: ${scans.failures[0]}` : ''}); ${ended}; ` +
      `created→RUNNING p50 ${ms(percentile(queueWait, 50))} ms, RUNNING→COMPLETED p50 ${ms(percentile(running, 50))} ms (max ${ms(percentile(running, 100))} ms)`,
  );
  const missing = summary.expected - summary.delivered;
  const extra = summary.duplicates + summary.foreign + summary.unknown + summary.unexpected;
  lines.push(
    `events: expected ${summary.expected}, delivered ${summary.delivered}, missing ${missing}; extra ${extra} (${summary.duplicates} duplicates, ` +
      `${summary.foreign} of another user's scan, ${summary.unknown} of unknown scans, ${summary.unexpected} of a status the scan never had); ` +
      `${summary.outOfOrder} (socket, scan) pairs out of order; ${tally.malformed} malformed${tally.firstMalformed ? ` (first: ${tally.firstMalformed})` : ''}; ` +
      `${events.drained ? `last COMPLETED ${events.drainSeconds.toFixed(1)} s after the last scan started` : `gave up ${events.drainSeconds.toFixed(1)} s after the last scan started`}`,
  );
  lines.push(`histories per (socket, scan), P Q R C = PENDING QUEUED RUNNING COMPLETED: ${top(summary.patterns, 6)}`);
  if (summary.ended.size) lines.push(`subscriptions ended early: ${top(summary.ended, 3)}`);
  const latency = summary.latencies;
  const [p50, p90, p99, max] = [50, 90, 99, 100].map((p) => ms(percentile(latency, p))) as [number, number, number, number];
  lines.push(`latency (receipt − updatedAt) over ${latency.length} deliveries: p50 ${p50} ms, p90 ${p90} ms, p99 ${p99} ms, max ${max} ms`);
  const { idle, subscribed, beforeScans, after } = server;
  lines.push(
    `server: RSS ${mb(idle.rssMb)} MB idle, ${mb(subscribed.rssMb)} MB subscribed, ${mb(after.rssMb)} MB after the events, peak ${mb(after.peakRssMb)} MB; ` +
      `CPU ${cpu(idle, subscribed, connected.seconds)} connecting, ${cpu(beforeScans, after, events.seconds)} over the ${events.seconds.toFixed(1)} s of scans and events`,
  );
  const log = server.process.log;
  lines.push(
    `server log: ${log.warnings} warnings, ${log.errors} errors${log.nodeWarnings.size ? `; node: ${top(log.nodeWarnings, 5)}` : ''}` +
      `${log.samples.length ? `; first: ${log.samples[0]}` : ''}`,
  );
  lines.push(
    `client: CPU ${events.clientCpuSeconds.toFixed(1)} s over the scans and events; event-loop delay p99 ${ms(events.loopDelay.percentile(99) / 1e6)} ms, max ${ms(events.loopDelay.max / 1e6)} ms`,
  );
  const rss = after.peakRssMb;
  const goal = [
    [`${subscribers} subscribers`, subscribers >= 10_000],
    ['every expected event, nothing else', missing === 0 && extra === 0],
    [`p99 ${p99} ms < 250`, p99 >= 0 && p99 < 250],
    [`RSS ${mb(rss)} MB < 1024`, rss < 1024],
  ] as const;
  lines.push(`goal: ${goal.map(([what, met]) => `${what} ${met ? 'met' : 'NOT met'}`).join('; ')}`);
  return {
    lines,
    // The correctness part of the goal: each subscriber got all it should and nothing else, and the run itself did not fall short.
    failed:
      missing > 0 ||
      extra > 0 ||
      subscribers < connected.requested ||
      completed < ANALYSTS * SCANS_PER_ANALYST ||
      scans.failures.length > 0 ||
      summary.ended.size > 0,
    last: `subs-bench: subscribers=${subscribers} expected=${summary.expected} delivered=${summary.delivered} p50_ms=${p50} p99_ms=${p99} rss_mb=${mb(rss)}`,
  };
}

async function main(): Promise<void> {
  const sockets = ANALYSTS * SOCKETS_PER_ANALYST + ADMIN_SOCKETS;
  assertDescriptors(sockets + 1_000);
  const database = await benchDatabase('.data/bench-subs', 54348);
  const subscribers: Subscriber[] = [];
  let server: ServerProcess | undefined;
  let run: Run | undefined;
  try {
    server = await startServer('ScanOps', 'src/main.ts', {
      LOG_LEVEL: 'info',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      ACCESS_TOKEN_TTL_SECONDS: String(TOKEN_TTL_S),
      WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      // The bench's scans probe 127.0.0.1 only; the server refuses anything else.
      SCAN_ALLOWED_TARGETS: '127.0.0.1/32',
      ...database.env,
    });
    run = await bench(server, subscribers);
    for (const line of run.lines) out(line);
  } finally {
    // Sockets first, then the server (an embedded PostgreSQL stops with it), then the database: a drop would cut pooled connections.
    await Promise.all(subscribers.map((subscriber) => subscriber.close()));
    try {
      await server?.stop();
    } catch (error) {
      process.stderr.write(`subs-bench: ${(error as Error).message}\n`);
      process.exitCode = 1;
    }
    await database.drop();
  }
  if (run.failed) {
    process.stderr.write('subs-bench: events were missing or extra, or subscribers or scans fell short (see above)\n');
    process.exitCode = 1;
  }
  out(run.last);
}

main().catch((error: unknown) => {
  process.stderr.write(`subs-bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
