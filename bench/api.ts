import { type AddressInfo, createServer, type Server as NetServer } from 'node:net';
import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { benchDatabase, type ServerProcess, startServer } from './lib/server-process.ts';

/**
 * Throughput of `scans(first: 50)` on the real server process and PostgreSQL,
 * next to a bare graphql-yoga answering `{ __typename }` under the same load:
 * the ratio is what ScanOps costs over the framework on this machine, so it
 * compares across machines better than raw req/s do. Before that last line,
 * the same for a dashboard's page (each scan's summary and first open results)
 * and a `scan(id)` lookup, each also against a second floor: the bare yoga
 * answering the scans page from memory, what the response itself costs.
 */
const CONNECTIONS = 20;
const DURATION_S = 10;
const WARMUP_S = 1;
const SCAN_COUNT = 500;
/** The newest scans, the page measured: they ran against the bench's own listeners, so they have results. */
const RAN_COUNT = 50;
/** Ports the bench listens on at 127.0.0.1 (each a scan's OPEN result), and free ones (CLOSED). */
const OPEN_PORTS = 12;
const CLOSED_PORTS = 8;
const RUN_TIMEOUT_MS = 120_000;
const SEED_CONCURRENCY = 10;
const SCAN_FIELDS = 'id targets ports scanType status createdAt updatedAt startedAt finishedAt error';
const SCANS_QUERY = `{ scans(first: 50) { edges { cursor node { ${SCAN_FIELDS} } } } }`;
const DASHBOARD_QUERY = `{ scans(first: 50) { edges { cursor node { ${SCAN_FIELDS} summary { open closed filtered total }
  results(first: 10, filter: { state: [OPEN] }) { edges { node { address port protocol state service } } } } } } }`;
const SCAN_QUERY = `query($id: ID!) { scan(id: $id) { ${SCAN_FIELDS} } }`;
const BARE_QUERY = '{ __typename }';
const CREATE_SCAN = 'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id } } }';
const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }';
/** The admin the bench's server creates on its empty database, and logs in as: every request is authenticated, as in use. */
const ADMIN = { email: 'ops@scanops.local', password: 'load test password, long enough' };

type Figures = {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  responses: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  firstError?: string;
};
type GraphQLBody = { data?: Record<string, unknown> | null; errors?: unknown[] };
type Request = { query: string; variables?: Record<string, unknown> };
type DashboardPage = {
  scans: { edges: { node: { id: string; summary: { open: number }; results: { edges: { node: { state: string } }[] } } }[] };
};

/** POSTs like the load does, and fails on any HTTP or GraphQL error. */
async function graphql(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as GraphQLBody;
  if (!response.ok || body.errors || !body.data)
    throw new Error(`${url} answered ${response.status}: ${JSON.stringify(body).slice(0, 2000)}`);
  return body.data;
}

type Stored = { total: number; pending: number; completed: number; failed: number };

const COUNTS = `{ all: scans { totalCount } pending: scans(filter: { status: [PENDING] }) { totalCount }
  completed: scans(filter: { status: [COMPLETED] }) { totalCount } failed: scans(filter: { status: [FAILED, CANCELLED] }) { totalCount } }`;

async function stored(url: string, headers: Record<string, string>): Promise<Stored> {
  const { all, pending, completed, failed } = (await graphql(url, COUNTS, {}, headers)) as Record<
    'all' | 'pending' | 'completed' | 'failed',
    { totalCount: number }
  >;
  return { total: all.totalCount, pending: pending.totalCount, completed: completed.totalCount, failed: failed.totalCount };
}

/**
 * Stores SCAN_COUNT scans through the API: PENDING ones first, then RAN_COUNT
 * (the newest, so the page measured) that run against `ports` on 127.0.0.1,
 * waited for until COMPLETED. The embedded database outlives a run, so it may
 * hold them already, or part of them.
 */
async function seed(url: string, headers: Record<string, string>, ports: string): Promise<void> {
  const have = await stored(url, headers);
  const ran = have.total - have.pending;
  const pending = SCAN_COUNT - RAN_COUNT;
  if (have.pending > pending || ran > RAN_COUNT || (ran > 0 && have.pending < pending))
    throw new Error(`the bench database holds ${have.total} scans (${have.pending} pending), not a part of this bench's ${SCAN_COUNT}`);
  await create(url, headers, pending - have.pending, (n) => ({ targets: ['127.0.0.1'], ports: `1-${1000 + (n % 25)}` }));
  await create(url, headers, RAN_COUNT - ran, () => ({ targets: ['127.0.0.1'], ports, start: true }));
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  for (let now = await stored(url, headers); now.completed < RAN_COUNT; now = await stored(url, headers)) {
    if (now.failed > 0) throw new Error(`${now.failed} of the bench's scans failed or were cancelled; see the server's log`);
    if (Date.now() > deadline) throw new Error(`${RAN_COUNT - now.completed} scans did not complete within ${RUN_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function create(url: string, headers: Record<string, string>, count: number, input: (n: number) => Record<string, unknown>) {
  for (let next = 0; next < count; next += SEED_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(SEED_CONCURRENCY, count - next) }, (_, i) => next + i);
    await Promise.all(batch.map((n) => graphql(url, CREATE_SCAN, { input: input(n) }, headers)));
  }
}

/** TCP listeners on 127.0.0.1 that accept and close, and as many ports nothing listens on: what the scans probe. */
async function loopbackPorts(): Promise<{ ports: string; close(): void }> {
  const bind = async () => {
    const server = createServer((socket) => socket.on('error', () => {}).end());
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    return server;
  };
  const open = await Promise.all(Array.from({ length: OPEN_PORTS }, bind));
  const released = await Promise.all(Array.from({ length: CLOSED_PORTS }, bind));
  const port = (server: NetServer) => (server.address() as AddressInfo).port;
  const ports = [...open, ...released].map(port).join(',');
  await Promise.all(released.map((server) => new Promise((resolve) => server.close(resolve))));
  return {
    ports,
    close: () => {
      for (const server of open) server.close();
    },
  };
}

/** The dashboard's page must show what it is meant to: 50 scans, each with 10 OPEN results of its own. */
function checkDashboard(page: DashboardPage): void {
  const { edges } = page.scans;
  const full = edges.filter(
    ({ node }) => node.summary.open >= 10 && node.results.edges.length === 10 && node.results.edges.every((e) => e.node.state === 'OPEN'),
  );
  if (edges.length !== 50 || full.length !== 50)
    throw new Error(`the dashboard page has ${edges.length} scans, ${full.length} of them with 10 OPEN results`);
}

/** A 200 carrying GraphQL errors (an expired token, a refused query) would flatter the figures: count those as failures too. */
async function measure(url: string, request: Request, headers: Record<string, string> = {}): Promise<Figures> {
  // autocannon's percentiles skip p95; microseconds keep the fractions of a millisecond.
  const latency = createHistogram();
  const run = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(request),
    connections: CONNECTIONS,
    duration: DURATION_S,
    warmup: { connections: CONNECTIONS, duration: WARMUP_S },
    // Counted as mismatches: a body with `"errors"` is a failure however it was answered.
    verifyBody: (body: string) => {
      const ok = !body.includes('"errors"');
      if (!ok) firstError ??= body.slice(0, 300);
      return ok;
    },
  });
  run.on('response', (_client, _status, _bytes, ms) => latency.record(Math.max(1, Math.round(ms * 1000))));
  let firstError: string | undefined;
  run.on('reqError', (error) => (firstError ??= String(error)));
  const result = await run;
  const ms = (percentile: number) => latency.percentile(percentile) / 1000;
  return {
    rps: Math.round(result.requests.average),
    p50: ms(50),
    p95: ms(95),
    p99: ms(99),
    responses: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.mismatches,
    timeouts: result.timeouts,
    firstError,
  };
}

function report(name: string, f: Figures): string {
  return (
    `${name.padEnd(10)} ${String(f.rps).padStart(7)} req/s  p50 ${f.p50.toFixed(2)} ms  p95 ${f.p95.toFixed(2)} ms  p99 ${f.p99.toFixed(2)} ms  ` +
    `(${f.responses} responses, ${f.non2xx} non-2xx, ${f.errors} errors, ${f.timeouts} timeouts)${f.firstError ? `; first error: ${f.firstError}` : ''}\n`
  );
}

/** A ScanOps figure against both floors, on its own `api-bench:` line. */
function versus(name: string, f: Figures, bare: Figures, barePage?: Figures): string {
  const page = barePage ? ` vs_bare_page=${(f.rps / barePage.rps).toFixed(2)}` : '';
  return `api-bench: ${name} rps=${f.rps} p95_ms=${f.p95.toFixed(2)} vs_bare=${(f.rps / bare.rps).toFixed(2)}${page}\n`;
}

async function main(): Promise<void> {
  const listeners = await loopbackPorts();
  const database = await benchDatabase('.data/bench', 54349).catch((error: unknown) => {
    listeners.close();
    throw error;
  });
  const servers: ServerProcess[] = [];
  try {
    const scanops = await startServer('ScanOps', 'src/main.ts', {
      LOG_LEVEL: 'info',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      ...database.env,
    });
    servers.push(scanops);
    const bare = await startServer('bare yoga', 'bench/bare-server.ts', {});
    servers.push(bare);
    const { login } = (await graphql(scanops.url, LOGIN, { input: ADMIN })) as { login: { accessToken: string } };
    const auth = { authorization: `Bearer ${login.accessToken}` };
    await seed(scanops.url, auth, listeners.ports);
    const page = (await graphql(scanops.url, SCANS_QUERY, {}, auth)) as { scans: { edges: { node: { id: string } }[] } };
    if (page.scans.edges.length !== 50) throw new Error(`scans(first: 50) returned ${page.scans.edges.length} edges`);
    checkDashboard((await graphql(scanops.url, DASHBOARD_QUERY, {}, auth)) as DashboardPage);
    const lookup = { query: SCAN_QUERY, variables: { id: page.scans.edges[0]?.node.id } };
    await graphql(scanops.url, lookup.query, lookup.variables, auth);
    await graphql(bare.url, BARE_QUERY);
    const barePage = (await graphql(bare.url, SCANS_QUERY)) as { scans: { edges: unknown[] } };
    if (barePage.scans.edges.length !== 50) throw new Error(`the bare scans(first: 50) returned ${barePage.scans.edges.length} edges`);

    process.stdout.write(
      `${CONNECTIONS} connections, ${DURATION_S} s each after a ${WARMUP_S} s warm-up; ${SCAN_COUNT} scans stored, the ${RAN_COUNT} newest run\n`,
    );
    const runs: [string, Figures][] = [];
    const run = async (name: string, url: string, request: Request, headers?: Record<string, string>) => {
      const figures = await measure(url, request, headers);
      process.stdout.write(report(name, figures));
      runs.push([name, figures]);
      return figures;
    };
    const ours = await run('scans', scanops.url, { query: SCANS_QUERY }, auth);
    const dashboard = await run('dashboard', scanops.url, { query: DASHBOARD_QUERY }, auth);
    const scan = await run('scan(id)', scanops.url, lookup, auth);
    const floor = await run('bare', bare.url, { query: BARE_QUERY });
    const pageFloor = await run('bare page', bare.url, { query: SCANS_QUERY });
    const failed = runs.reduce((sum, [, f]) => sum + f.non2xx + f.errors, 0);
    if (failed > 0) {
      process.stderr.write(`api-bench: ${failed} requests failed; the figures are not comparable\n`);
      process.exitCode = 1;
    }
    process.stdout.write(versus('bare_page', pageFloor, floor));
    process.stdout.write(versus('scans', ours, floor, pageFloor));
    process.stdout.write(versus('dashboard', dashboard, floor, pageFloor));
    process.stdout.write(versus('scan', scan, floor, pageFloor));
    const ratio = (ours.rps / floor.rps).toFixed(2);
    process.stdout.write(`api-bench: scanops_rps=${ours.rps} bare_rps=${floor.rps} ratio=${ratio} p95_ms=${ours.p95.toFixed(2)}\n`);
  } finally {
    listeners.close();
    // Stop the servers first: an embedded PostgreSQL shuts down with its server, and a drop would cut pooled connections.
    const stopped = await Promise.allSettled(servers.map((server) => server.stop()));
    await database.drop();
    const failed = stopped.find((outcome) => outcome.status === 'rejected');
    if (failed) {
      // As a throw from here would (it would hide the run's own error): the bench fails.
      process.stderr.write(`api-bench failed: a server did not stop cleanly: ${String(failed.reason)}\n`);
      process.exitCode = 1;
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`api-bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
