import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { createConnectScanner } from '../src/scans/engine/connect-scanner.ts';
import { DEFAULT_SCAN_OPTIONS, PortState, type ScanPlan } from '../src/scans/engine/scanner.ts';
import { PortSpec } from '../src/scans/port-spec.ts';

/**
 * A full 65,535-port CONNECT scan of 127.0.0.1 through the engine, next to
 * `nmap -sT -T5 -p-` on the same listeners. Both run inside a private network
 * namespace, so the only thing ever probed is a loopback this script created.
 */
const LISTENERS = Number(process.env.BENCH_LISTENERS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? DEFAULT_SCAN_OPTIONS.concurrency);
const ROUNDS = 3;
const ADDRESS = '127.0.0.1';
const NMAP_ARGS = ['-n', '-Pn', '-sT', '-T5', '-p-', '-oX', '-', ADDRESS];

type Run = { seconds: number; open: number[] };

function enterNamespace(): void {
  const child = spawnSync('unshare', ['-n', '--', process.execPath, import.meta.filename], {
    stdio: 'inherit',
    env: { ...process.env, SCANOPS_BENCH_NETNS: '1' },
  });
  if (child.error || child.status !== 0) {
    const why = child.error?.message ?? `exit ${child.status ?? child.signal}`;
    process.stderr.write(
      `scan-bench: the run under \`unshare -n\` failed (${why}); unshare needs root or CAP_SYS_ADMIN, and the host loopback is never scanned instead\n`,
    );
    process.exit(1);
  }
}

/** `unshare` execs us without forking, so our parent is the outer bench, still in the host namespace. */
function assertPrivateNamespace(): void {
  const ours = readlinkSync('/proc/self/ns/net');
  if (ours === readlinkSync(`/proc/${process.ppid}/ns/net`)) {
    throw new Error(`scan-bench: still in the parent's network namespace (${ours}); run it through \`npm run bench:scan\``);
  }
}

async function listen(): Promise<Server> {
  // The engine resets connections it has opened, so accepted sockets see ECONNRESET.
  const server = createServer((socket) => socket.on('error', () => {}).end());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, ADDRESS, resolve));
  return server;
}

async function engineScan(plan: ScanPlan): Promise<Run> {
  const open: number[] = [];
  const started = performance.now();
  for await (const batch of createConnectScanner().scan(plan, { ...DEFAULT_SCAN_OPTIONS, concurrency: CONCURRENCY })) {
    for (const probe of batch) if (probe.state === PortState.OPEN) open.push(probe.port);
  }
  return { seconds: (performance.now() - started) / 1_000, open: open.sort((a, b) => a - b) };
}

async function nmapScan(): Promise<Run> {
  const started = performance.now();
  const child = spawn('nmap', NMAP_ARGS, { stdio: ['ignore', 'pipe', 'inherit'] });
  let xml = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    xml += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve));
  const seconds = (performance.now() - started) / 1_000;
  if (code !== 0) throw new Error(`nmap exited with ${code}`);
  const open = [...xml.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="open"/g)].map((match) => Number(match[1]));
  return { seconds, open: open.sort((a, b) => a - b) };
}

const hasNmap = () => !spawnSync('nmap', ['--version'], { stdio: 'ignore' }).error;
const median = (runs: Run[]) => runs.map((run) => run.seconds).sort((a, b) => a - b)[Math.floor(runs.length / 2)] ?? NaN;
const same = (a: number[], b: number[]) => a.length === b.length && a.every((port, i) => port === b[i]);
const line = (text: string) => process.stdout.write(`${text}\n`);

async function bench(): Promise<void> {
  assertPrivateNamespace();
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const servers = await Promise.all(Array.from({ length: LISTENERS }, listen));
  try {
    const expected = servers.map((server) => (server.address() as AddressInfo).port).sort((a, b) => a - b);
    const host = { address: ADDRESS, family: 4 as const };
    const plan = { hosts: [host], ports: PortSpec.parse('1-65535') };
    await engineScan({ hosts: [host], ports: PortSpec.parse(['1-200', ...expected].join(',')) });

    const nmap = hasNmap();
    const ours: Run[] = [];
    const theirs: Run[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      ours.push(await engineScan(plan));
      if (nmap) theirs.push(await nmapScan());
      const timings = [`scanops ${ours.at(-1)?.seconds.toFixed(2)} s`, ...(nmap ? [`nmap ${theirs.at(-1)?.seconds.toFixed(2)} s`] : [])];
      line(`round ${round}/${ROUNDS}: ${timings.join(', ')}`);
    }

    const mismatches = [...ours.map((run, i) => ['scanops', i, run] as const), ...theirs.map((run, i) => ['nmap', i, run] as const)].filter(
      ([, , run]) => !same(run.open, expected),
    );
    const scanopsS = median(ours);
    const nmapS = nmap ? median(theirs) : undefined;
    line(`${LISTENERS} listeners on ${ADDRESS} in a private netns: ${expected.join(',')}`);
    line(`median of ${ROUNDS} alternating runs; engine concurrency ${CONCURRENCY}`);
    line(`scanops: ${scanopsS.toFixed(2)} s, ${Math.round(plan.ports.count / scanopsS)} probes/s`);
    line(nmap ? `nmap:    ${nmapS?.toFixed(2)} s (${NMAP_ARGS.join(' ')})` : 'nmap:    not on PATH, skipped');
    for (const [name, i, run] of mismatches) line(`differs: ${name} run ${i + 1} found ${run.open.join(',') || 'nothing'}`);
    line(`open ports: ${mismatches.length === 0 ? 'identical, exactly the listeners' : 'NOT identical'}`);
    const ratio = nmapS === undefined ? 'none' : (scanopsS / nmapS).toFixed(2);
    const found = ours.at(-1)?.open.length ?? 0;
    line(
      `scan-bench: scanops_s=${scanopsS.toFixed(2)} nmap_s=${nmapS?.toFixed(2) ?? 'none'} ratio=${ratio} identical=${mismatches.length === 0 ? 'yes' : 'no'} open=${found}`,
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

if (process.env.SCANOPS_BENCH_NETNS === '1') await bench();
else enterNamespace();
