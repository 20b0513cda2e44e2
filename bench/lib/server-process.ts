import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';

/**
 * The real server process on a fresh database, for benches: what bench/api.ts
 * does inline, plus the server's pid (to read its RSS and CPU from /proc) and
 * a watch on its log for warnings a bench should flag.
 */
export const ROOT = path.resolve(import.meta.dirname, '../..');
const STOP_TIMEOUT_MS = 30_000;
const PROBLEM_SAMPLES = 5;

/** Warnings and errors the server wrote: pino lines at level warn (40) or above, and node's own `(node:pid) XWarning` lines. */
export type ServerLog = {
  warnings: number;
  errors: number;
  /** Node process warnings by name (`MaxListenersExceededWarning`) and V8's fatal errors, which go to stderr outside pino. */
  nodeWarnings: Map<string, number>;
  /** The first few problem lines, as written. */
  samples: string[];
};

export type ServerProcess = {
  url: string;
  pid: number;
  log: ServerLog;
  /** `undefined` while it runs; its exit code (or `null`, killed by a signal) once it has exited. */
  exitCode(): number | null | undefined;
  stop(): Promise<void>;
};

/** Runs `node <script>` and resolves once it logs its URL (the `"graphql"` field, as `src/main.ts` logs it). */
export async function startServer(name: string, script: string, env: Record<string, string>): Promise<ServerProcess> {
  // BENCH_CPU_PROF=<dir>: the server writes a CPU profile there when it stops (`node --cpu-prof`).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const log: ServerLog = { warnings: 0, errors: 0, nodeWarnings: new Map(), samples: [] };
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const onLine = (line: string) => {
      // Keep reading after the URL: a full pipe would stall the server.
      if (output.push(line) > 100) output.shift();
      watchLine(log, line);
      const match = /"graphql":"(http:\/\/127\.0\.0\.1:\d+\/graphql)"/.exec(line);
      if (match?.[1]) resolve(match[1]);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`${name} exited with ${code} before listening:\n${output.join('\n')}`)));
  });
  if (child.pid === undefined) throw new Error(`${name} has no pid`);
  return {
    url,
    pid: child.pid,
    log,
    exitCode: () => exitCode,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`${name} did not stop cleanly (exit ${code}):\n${output.slice(-20).join('\n')}`);
    },
  };
}

function watchLine(log: ServerLog, line: string): void {
  // V8 dies of its heap with `FATAL ERROR: … JavaScript heap out of memory`, outside pino too.
  const nodeWarning = /^\(node:\d+\) (\w+Warning)/.exec(line)?.[1] ?? /^(FATAL ERROR: .*)/.exec(line)?.[1];
  const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
  if (nodeWarning) log.nodeWarnings.set(nodeWarning, (log.nodeWarnings.get(nodeWarning) ?? 0) + 1);
  else if (level >= 50) log.errors += 1;
  else if (level >= 40) log.warnings += 1;
  else return;
  if (log.samples.length < PROBLEM_SAMPLES) log.samples.push(line.slice(0, 400));
}

/**
 * A fresh database on DATABASE_URL's server, dropped after; without
 * DATABASE_URL, the server's embedded PostgreSQL in `dataDir`, which outlives
 * a run (as bench/api.ts has it), so a bench must not rely on it being empty.
 */
export async function benchDatabase(
  dataDir: string,
  embeddedPort: number,
): Promise<{ env: Record<string, string>; embedded: boolean; drop(): Promise<void> }> {
  const given = process.env.DATABASE_URL;
  if (!given) return { env: { DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(embeddedPort) }, embedded: true, drop: async () => {} };
  const name = `scanops_bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(given, `create database ${name}`);
  const url = new URL(given);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString(), DATA_DIR: dataDir },
    embedded: false,
    drop: () => adminQuery(given, `drop database if exists ${name} with (force)`),
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** One reading of a process from /proc: resident memory now and at its peak, and CPU time so far. */
export type ProcessSample = { rssMb: number; peakRssMb: number; cpuSeconds: number };

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export function sampleProcess(pid: number): ProcessSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  // The command name in field 2 may hold spaces and parentheses: count fields after the last ')'. utime and stime are fields 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024, cpuSeconds: ticks / CLOCK_TICKS };
}

/**
 * Samples a process every `everyMs`, so the last reading survives the
 * process: a server that dies of its memory still reports what it reached.
 */
export function watchProcess(pid: number, everyMs = 1_000): { latest(): ProcessSample; stop(): void } {
  let last: ProcessSample = { rssMb: Number.NaN, peakRssMb: Number.NaN, cpuSeconds: Number.NaN };
  const read = () => {
    try {
      last = sampleProcess(pid);
    } catch {
      // Gone: keep the last reading.
    }
    return last;
  };
  read();
  const timer = setInterval(read, everyMs).unref();
  return { latest: read, stop: () => clearInterval(timer) };
}
