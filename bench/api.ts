import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import pg from 'pg';

/**
 * Throughput of `scans(first: 50)` on the real server process and PostgreSQL,
 * next to a bare graphql-yoga answering `{ __typename }` under the same load:
 * the ratio is what ScanOps costs over the framework on this machine, so it
 * compares across machines better than raw req/s do.
 */
const CONNECTIONS = 20;
const DURATION_S = 10;
const WARMUP_S = 1;
const SCAN_COUNT = 500;
const SEED_CONCURRENCY = 10;
const STOP_TIMEOUT_MS = 30_000;
const ROOT = path.resolve(import.meta.dirname, '..');
const SCANS_QUERY =
  '{ scans(first: 50) { edges { cursor node { id targets ports scanType status createdAt updatedAt startedAt finishedAt error } } } }';
const BARE_QUERY = '{ __typename }';
const CREATE_SCAN = 'mutation($input: CreateScanInput!) { createScan(input: $input) { scan { id } } }';
const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }';
/** The admin the bench's server creates on its empty database, and logs in as: every request is authenticated, as in use. */
const ADMIN = { email: 'ops@scanops.local', password: 'load test password, long enough' };

type Server = { url: string; stop(): Promise<void> };
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

/** Runs `node <script>` and resolves once it logs its URL (the `"graphql"` field, as `src/main.ts` logs it). */
async function start(name: string, script: string, env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, [script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const onLine = (line: string) => {
      // Keep reading after the URL: a full pipe would stall the server.
      if (output.push(line) > 100) output.shift();
      const match = /"graphql":"(http:\/\/127\.0\.0\.1:\d+\/graphql)"/.exec(line);
      if (match?.[1]) resolve(match[1]);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`${name} exited with ${code} before listening:\n${output.join('\n')}`)));
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`${name} did not stop cleanly (exit ${code}):\n${output.slice(-20).join('\n')}`);
    },
  };
}

/** A fresh database on DATABASE_URL's server; without DATABASE_URL, the server's embedded PostgreSQL in its own folder. */
async function benchDatabase(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const given = process.env.DATABASE_URL;
  if (!given) return { env: { DATA_DIR: '.data/bench', EMBEDDED_POSTGRES_PORT: '54349' }, drop: async () => {} };
  const name = `scanops_bench_${randomBytes(6).toString('hex')}`;
  await admin(given, `create database ${name}`);
  const url = new URL(given);
  url.pathname = `/${name}`;
  return { env: { DATABASE_URL: url.toString() }, drop: () => admin(given, `drop database if exists ${name} with (force)`) };
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

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

/** Creates scans through the API until there are SCAN_COUNT; the embedded database outlives a run, so it may hold them already. */
async function seed(url: string, headers: Record<string, string>): Promise<void> {
  const { scans } = (await graphql(url, '{ scans { totalCount } }', {}, headers)) as { scans: { totalCount: number } };
  if (scans.totalCount > SCAN_COUNT) throw new Error(`the bench database holds ${scans.totalCount} scans, more than ${SCAN_COUNT}`);
  for (let next = scans.totalCount; next < SCAN_COUNT; next += SEED_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(SEED_CONCURRENCY, SCAN_COUNT - next) }, (_, i) => next + i);
    await Promise.all(
      batch.map((n) => graphql(url, CREATE_SCAN, { input: { targets: ['127.0.0.1'], ports: `1-${1000 + (n % 25)}` } }, headers)),
    );
  }
}

/** A 200 carrying GraphQL errors (an expired token, a refused query) would flatter the figures: count those as failures too. */
async function measure(url: string, query: string, headers: Record<string, string> = {}): Promise<Figures> {
  // autocannon's percentiles skip p95; microseconds keep the fractions of a millisecond.
  const latency = createHistogram();
  const run = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
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
    `${name.padEnd(8)} ${String(f.rps).padStart(7)} req/s  p50 ${f.p50.toFixed(2)} ms  p95 ${f.p95.toFixed(2)} ms  p99 ${f.p99.toFixed(2)} ms  ` +
    `(${f.responses} responses, ${f.non2xx} non-2xx, ${f.errors} errors, ${f.timeouts} timeouts)${f.firstError ? `; first error: ${f.firstError}` : ''}\n`
  );
}

async function main(): Promise<void> {
  const database = await benchDatabase();
  const servers: Server[] = [];
  try {
    const scanops = await start('ScanOps', 'src/main.ts', {
      LOG_LEVEL: 'info',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      ...database.env,
    });
    servers.push(scanops);
    const bare = await start('bare yoga', 'bench/bare-server.ts', {});
    servers.push(bare);
    const { login } = (await graphql(scanops.url, LOGIN, { input: ADMIN })) as { login: { accessToken: string } };
    const auth = { authorization: `Bearer ${login.accessToken}` };
    await seed(scanops.url, auth);
    const page = (await graphql(scanops.url, SCANS_QUERY, {}, auth)) as { scans: { edges: unknown[] } };
    if (page.scans.edges.length !== 50) throw new Error(`scans(first: 50) returned ${page.scans.edges.length} edges`);
    await graphql(bare.url, BARE_QUERY);

    process.stdout.write(`${CONNECTIONS} connections, ${DURATION_S} s each after a ${WARMUP_S} s warm-up; ${SCAN_COUNT} scans stored\n`);
    const ours = await measure(scanops.url, SCANS_QUERY, auth);
    process.stdout.write(report('scanops', ours));
    const floor = await measure(bare.url, BARE_QUERY);
    process.stdout.write(report('bare', floor));
    const failed = ours.non2xx + ours.errors + floor.non2xx + floor.errors;
    if (failed > 0) {
      process.stderr.write(`api-bench: ${failed} requests failed; the figures are not comparable\n`);
      process.exitCode = 1;
    }
    const ratio = (ours.rps / floor.rps).toFixed(2);
    process.stdout.write(`api-bench: scanops_rps=${ours.rps} bare_rps=${floor.rps} ratio=${ratio} p95_ms=${ours.p95.toFixed(2)}\n`);
  } finally {
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
