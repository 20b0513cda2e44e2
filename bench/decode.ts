import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MIXED_TRAFFIC_VERSION, writeMixedPcap } from '../test/helpers/mixed-traffic.ts';
import type { DecoderReport } from './lib/decode-child.ts';

/**
 * The capture decoder on a pcap of a million packets of mixed traffic
 * (test/helpers/mixed-traffic.ts, kept under .data/bench/ for the next run),
 * next to `tcpdump -nn -r` and tshark's field output of the same file. Each
 * reader is a child process timed from spawn to exit, its output to
 * /dev/null; the decoder's rate in the last line is its reading and decoding
 * as timed inside its child (node's start, paid once by a server, is printed
 * apart). The decoder child makes every
 * summary and reads its protocol, but formats addresses only for a sample,
 * as the API does (they are built when asked for).
 *
 * Peak RSS: each child runs under GNU time (`/usr/bin/time -f %M`, the
 * child's ru_maxrss from wait4), or, without it, under python3 reading
 * getrusage(RUSAGE_CHILDREN) after its child exits: the same measure for all
 * three, and nothing to install. The decoder also reports its own maxRSS.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const PACKETS = envCount('BENCH_PACKETS', 1_000_000);
const ROUNDS = envCount('BENCH_ROUNDS', 3);
const SEED = 1;
const FLOWS = 3000;
const NAME = PACKETS % 1_000_000 === 0 ? `mixed-${PACKETS / 1_000_000}m` : `mixed-${PACKETS}`;
const CAPTURE = path.join(ROOT, '.data/bench', `${NAME}.pcap`);
const MANIFEST = path.join(ROOT, '.data/bench', `${NAME}.json`);
const TSHARK_FIELDS = ['frame.time_epoch', 'ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'frame.len'];
const RSS_PY =
  'import resource, subprocess, sys\n' +
  'code = subprocess.call(sys.argv[2:])\n' +
  'open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n' +
  'sys.exit(code)\n';

type Manifest = { version: number; seed: number; flows: number; packets: number; bytes: number; byProtocol: Record<string, number> };
type Run = { seconds: number; rssKb: number | null };

const out = (text: string) => process.stdout.write(`${text}\n`);
const progress = (text: string) => process.stderr.write(`decode-bench: ${text}\n`);

function envCount(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number, not ${process.env[name]}`);
  return value;
}

function readManifest(): Manifest | null {
  try {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest;
    const valid =
      manifest.version === MIXED_TRAFFIC_VERSION &&
      manifest.seed === SEED &&
      manifest.flows === FLOWS &&
      manifest.packets === PACKETS &&
      existsSync(CAPTURE) &&
      statSync(CAPTURE).size === manifest.bytes;
    return valid ? manifest : null;
  } catch {
    return null;
  }
}

/** The capture of an earlier run when its manifest still describes it, else a new one (written aside, then renamed). */
async function capture(): Promise<Manifest> {
  const kept = readManifest();
  if (kept) {
    progress(`reusing ${path.relative(ROOT, CAPTURE)} (${kept.packets} packets, ${(kept.bytes / 1e6).toFixed(0)} MB)`);
    return kept;
  }
  mkdirSync(path.dirname(CAPTURE), { recursive: true });
  const partial = `${CAPTURE}.partial`;
  const started = performance.now();
  const { bytes, byProtocol } = await writeMixedPcap(partial, PACKETS, { seed: SEED, flows: FLOWS });
  renameSync(partial, CAPTURE);
  const manifest: Manifest = { version: MIXED_TRAFFIC_VERSION, seed: SEED, flows: FLOWS, packets: PACKETS, bytes, byProtocol };
  writeFileSync(MANIFEST, `${JSON.stringify(manifest)}\n`);
  progress(
    `wrote ${path.relative(ROOT, CAPTURE)}: ${PACKETS} packets, ${(bytes / 1e6).toFixed(0)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return manifest;
}

const has = (command: string, args = ['--version']) => {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return !result.error && result.status === 0;
};

/** How a child's peak RSS is read: GNU time, or a python3 wrapper; null when neither is there. */
function rssWrapper(): ((file: string) => string[]) | null {
  if (has('/usr/bin/time', ['-f', '%M', 'true'])) return (file) => ['/usr/bin/time', '-f', '%M', '-o', file];
  if (has('python3')) return (file) => ['python3', '-c', RSS_PY, file];
  return null;
}

async function timed(
  command: string[],
  wrap: ((file: string) => string[]) | null,
  dir: string,
  capture = false,
): Promise<Run & { stdout: string }> {
  const rssFile = path.join(dir, 'rss');
  rmSync(rssFile, { force: true });
  const argv = [...(wrap ? wrap(rssFile) : []), ...command];
  const started = performance.now();
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', capture ? 'pipe' : 'ignore', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${command.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`);
  const rss = wrap && existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) : Number.NaN;
  return { seconds, rssKb: Number.isFinite(rss) ? rss : null, stdout };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const maxOf = (runs: Run[]) => {
  const known = runs.map((run) => run.rssKb).filter((rss): rss is number => rss !== null);
  return known.length ? Math.max(...known) : null;
};
const mb = (kb: number | null) => (kb === null ? 'n/a' : `${Math.round(kb / 1024)} MB`);

async function bench(): Promise<void> {
  const manifest = await capture();
  const dir = mkdtempSync(path.join(tmpdir(), 'scanops-decode-bench-'));
  try {
    const wrap = rssWrapper();
    const tshark = has('tshark');
    if (!has('tcpdump')) throw new Error('tcpdump is not on PATH');
    // BENCH_CPU_PROF=<dir>: the decoder child writes a CPU profile there when it exits (`node --cpu-prof`).
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`] : [];
    const decoderCommand = [process.execPath, ...profile, path.join(import.meta.dirname, 'lib/decode-child.ts'), CAPTURE];
    const tcpdumpCommand = ['tcpdump', '-nn', '-r', CAPTURE];
    const tsharkCommand = ['tshark', '-r', CAPTURE, '-T', 'fields', ...TSHARK_FIELDS.flatMap((field) => ['-e', field])];

    // One pass of each first: the page cache holds the file for all of them alike.
    progress('warming the page cache');
    await timed(['cat', CAPTURE], null, dir);

    const ours: Run[] = [];
    const theirs: Run[] = [];
    const reports: DecoderReport[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const run = await timed(decoderCommand, wrap, dir, true);
      const report = JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as DecoderReport;
      ours.push(run);
      reports.push(report);
      theirs.push(await timed(tcpdumpCommand, wrap, dir));
      progress(
        `round ${round}/${ROUNDS}: scanops ${run.seconds.toFixed(2)} s (decoding ${(report.decodeMs / 1000).toFixed(2)} s), tcpdump ${theirs.at(-1)?.seconds.toFixed(2)} s`,
      );
    }
    let tsharkRun: Run | null = null;
    if (tshark) {
      progress('tshark, once');
      tsharkRun = await timed(tsharkCommand, wrap, dir);
    }

    const report = reports.at(-1) as DecoderReport;
    const counted = JSON.stringify(Object.fromEntries(Object.entries(report.byProtocol).sort()));
    const generated = JSON.stringify(
      Object.fromEntries(
        Object.entries(manifest.byProtocol)
          .filter(([, n]) => n > 0)
          .sort(),
      ),
    );
    const ok = report.packets === manifest.packets && counted === generated;
    const file = manifest.bytes / 1e6;
    const rate = (seconds: number) => `${Math.round(manifest.packets / seconds)} packets/s, ${(file / seconds).toFixed(0)} MB/s`;
    const scanopsS = median(ours.map((run) => run.seconds));
    const tcpdumpS = median(theirs.map((run) => run.seconds));
    const decodeS = median(reports.map((r) => r.decodeMs / 1000));
    const decoderRss = maxOf(ours) ?? Math.max(...reports.map((r) => r.maxRssKb));

    out(`capture: ${path.relative(ROOT, CAPTURE)}, ${manifest.packets} packets, ${file.toFixed(0)} MB, seed ${SEED}, ${FLOWS} flows`);
    out(
      `median of ${ROUNDS} alternating runs, each a child process timed spawn to exit; peak RSS by ${wrap ? (wrap('x')[0] === 'python3' ? 'python3 getrusage' : 'GNU time %M') : 'nothing (neither GNU time nor python3)'}`,
    );
    out(
      `scanops: ${decodeS.toFixed(2)} s reading and decoding, ${rate(decodeS)}, peak RSS ${mb(decoderRss)} (own maxRSS ${mb(Math.max(...reports.map((r) => r.maxRssKb)))})`,
    );
    out(`         ${scanopsS.toFixed(2)} s with node's start, ${rate(scanopsS)}`);
    out(`tcpdump: ${tcpdumpS.toFixed(2)} s, ${rate(tcpdumpS)}, peak RSS ${mb(maxOf(theirs))} (${tcpdumpCommand.slice(0, 3).join(' ')})`);
    out(
      tsharkRun
        ? `tshark:  ${tsharkRun.seconds.toFixed(2)} s, ${rate(tsharkRun.seconds)}, peak RSS ${mb(tsharkRun.rssKb)} (-T fields, ${TSHARK_FIELDS.length} fields)`
        : 'tshark:  not on PATH, skipped',
    );
    out(`protocols: ${counted}${ok ? ', as generated' : `, generated ${generated}: NOT the same`}`);
    for (const sample of report.samples) out(`  sample: ${sample}`);
    const pps = (seconds: number) => Math.round(manifest.packets / seconds);
    // The decoder runs inside a long-lived server or worker: its rate is its reading and decoding, node's start
    // (~0.2 s of loading TypeScript, once per process) apart; tcpdump's whole run is its reading and printing.
    out(
      `decode-bench: scanops_pps=${pps(decodeS)} tcpdump_pps=${pps(tcpdumpS)} ratio=${(tcpdumpS / decodeS).toFixed(2)} tshark_pps=${tsharkRun ? pps(tsharkRun.seconds) : 'none'} rss_mb=${Math.round(decoderRss / 1024)}`,
    );
    if (!ok) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await bench();
} catch (error) {
  process.stderr.write(`decode-bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
}
