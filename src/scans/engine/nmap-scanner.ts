import { DomainError } from '../../errors.ts';
import type { Family } from '../../net/ip.ts';
import { runProcess } from '../../platform/child-process.ts';
import { createNmapXmlReader } from './nmap-xml.ts';
import type { ProbeResult, Protocol, Scanner, ScanOptions, ScanPlan } from './scanner.ts';

export type NmapScanType = 'SYN' | 'UDP' | 'VERSION';

const TYPES: Record<NmapScanType, { args: string[]; protocol: Protocol }> = {
  SYN: { args: ['-sS'], protocol: 'TCP' },
  UDP: { args: ['-sU'], protocol: 'UDP' },
  VERSION: { args: ['-sT', '-sV'], protocol: 'TCP' },
};

/** Results go to the caller in batches of at most this many: one host of nmap's may hold 65,535. */
const BATCH_SIZE = 1_000;
/** How long nmap gets to stop after SIGTERM before SIGKILL. */
const KILL_AFTER_MS = 500;
/** nmap's progress reports, which feed ours. */
const STATS_EVERY = '500ms';
const STDERR_KEPT = 4_096;

/**
 * Runs nmap for the scan types it alone can do (half-open SYN, UDP, service
 * and version detection) and reads its XML as it streams. nmap gets only the
 * addresses the job resolved and checked against the scope, on its stdin,
 * with DNS and host discovery off (`-n -Pn`): it sends nothing anywhere else.
 */
export function createNmapScanner(type: NmapScanType, nmapPath = 'nmap'): Scanner {
  return {
    async *scan(plan, options, signal, onProgress) {
      const total = plan.hosts.length * plan.ports.count;
      let done = 0;
      // nmap scans one address family per run.
      for (const family of [4, 6] as const) {
        const hosts = plan.hosts.filter((host) => host.family === family).map((host) => host.address);
        if (hosts.length === 0) continue;
        const before = done;
        const share = hosts.length * plan.ports.count;
        const progress = (fraction: number) => onProgress?.(Math.min(total, Math.round(before + fraction * share)));
        for await (const batch of runNmap(nmapPath, type, family, hosts, plan, options, progress, signal)) {
          done += batch.length;
          yield batch;
        }
        if (signal?.aborted) return;
      }
    },
  };
}

async function* runNmap(
  nmapPath: string,
  type: NmapScanType,
  family: Family,
  hosts: string[],
  plan: ScanPlan,
  options: ScanOptions,
  progress: (fraction: number) => void,
  signal?: AbortSignal,
): AsyncGenerator<ProbeResult[]> {
  if (signal?.aborted) return;
  const nmap = runProcess(nmapPath, argsOf(type, family, plan, options), {
    stdin: `${hosts.join('\n')}\n`,
    signal,
    killAfterMs: KILL_AFTER_MS,
    stderrLimit: STDERR_KEPT,
  });
  const ready: ProbeResult[] = [];
  const reader = createNmapXmlReader(plan.ports, TYPES[type].protocol, {
    onHost: (results) => ready.push(...results),
    onProgress: (task, percent) => progress(phaseFraction(type, task, percent)),
  });
  try {
    for await (const chunk of nmap.stdout) {
      reader.write(chunk);
      while (ready.length > 0) yield ready.splice(0, BATCH_SIZE);
    }
    const { code, error, stderr } = await nmap.exited;
    if (error?.code === 'ENOENT') {
      throw new DomainError(
        `nmap is not installed on this worker (looked for "${nmapPath}"); ${type} scans need it. Install nmap or set NMAP_PATH.`,
      );
    }
    if (error) throw error;
    if (signal?.aborted) return;
    if (code !== 0) throw new DomainError(`nmap failed (exit ${code}): ${nmapError(stderr)}`);
    reader.close();
    while (ready.length > 0) yield ready.splice(0, BATCH_SIZE);
  } finally {
    // Also reached when the consumer stops early: never leave nmap running.
    nmap.kill();
  }
}

function argsOf(type: NmapScanType, family: Family, plan: ScanPlan, options: ScanOptions): string[] {
  const timeout = `${options.timeoutMs}ms`;
  return [
    ...TYPES[type].args,
    ...(family === 6 ? ['-6'] : []),
    '-n',
    '-Pn',
    '-T4',
    '--noninteractive',
    '-p',
    plan.ports.toString(),
    '--max-retries',
    String(options.retries),
    '--initial-rtt-timeout',
    `${Math.min(options.timeoutMs, 1_000)}ms`,
    '--max-rtt-timeout',
    timeout,
    '--max-parallelism',
    String(options.concurrency),
    ...(options.maxRate > 0 ? ['--max-rate', String(options.maxRate)] : []),
    '--stats-every',
    STATS_EVERY,
    '-oX',
    '-',
    '-iL',
    '-',
  ];
}

/** A VERSION scan is two passes, port scan then service probes: each is half the work. */
function phaseFraction(type: NmapScanType, task: string, percent: number): number {
  const fraction = Math.min(100, Math.max(0, percent)) / 100;
  if (type !== 'VERSION') return task === 'Service scan' ? 1 : fraction;
  return task === 'Service scan' ? 0.5 + fraction / 2 : fraction / 2;
}

/** nmap's own words, minus its banner lines. */
function nmapError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('Starting Nmap'));
  return lines.slice(0, 3).join(' ') || 'no message';
}
