import { runProcess } from '../../platform/child-process.ts';
import { CaptureFailure, type PacketSource, type SourceReport, type SourceRun } from './packet-source.ts';

export interface LiveCaptureOptions {
  interface: string;
  /** A BPF filter; empty captures everything. Always passed after `--`, so no part of it is read as an option. */
  filter: string;
  snapLength: number;
  /** How to run tcpdump: its path, or a command that runs it (`['ip', 'netns', 'exec', 'lab', 'tcpdump']`). */
  tcpdump: readonly string[];
}

/** The longest filter text passed to tcpdump. */
export const MAX_FILTER_LENGTH = 4096;

/**
 * A live capture: `tcpdump -i IFACE -U --immediate-mode -w - -s SNAP -- FILTER`
 * as a child process (argv only, no shell), its pcap stdout as the bytes. The
 * filter is compiled on the interface first (`tcpdump -d`), which also proves
 * the interface exists and may be captured on; what goes wrong becomes a
 * `CaptureFailure` that says what.
 */
export class TcpdumpSource implements PacketSource {
  private readonly options: LiveCaptureOptions;
  /** Settles once tcpdump says it is listening (or the capture failed first). */
  readonly listening: Promise<void>;
  private heard: () => void = () => {};

  constructor(options: LiveCaptureOptions) {
    if (options.filter.length > MAX_FILTER_LENGTH) throw new CaptureFailure(`filter: longer than ${MAX_FILTER_LENGTH} characters`);
    this.options = options;
    this.listening = new Promise((resolve) => {
      this.heard = resolve;
    });
  }

  open(signal: AbortSignal): SourceRun {
    const { interface: iface, filter, snapLength, tcpdump } = this.options;
    const [file = 'tcpdump', ...prefix] = tcpdump;
    const filterArgs = filter.trim() ? ['--', filter] : [];
    let report: (value: SourceReport) => void = () => {};
    let fail: (error: unknown) => void = () => {};
    const ended = new Promise<SourceReport>((resolve, reject) => {
      report = resolve;
      fail = reject;
    });
    ended.catch(() => {});
    const heard = this.heard;
    async function* bytes(): AsyncGenerator<Uint8Array> {
      try {
        const compiled = await runProcess(file, [...prefix, '-d', '-i', iface, '-s', String(snapLength), ...filterArgs], { signal }).exited;
        if (signal.aborted) return report({ droppedByKernel: 0 });
        if (compiled.error || compiled.code !== 0) throw failureOf(compiled.error, compiled.stderr, iface);
        let tail = '';
        const capture = runProcess(
          file,
          [...prefix, '-i', iface, '-U', '--immediate-mode', '-w', '-', '-s', String(snapLength), ...filterArgs],
          {
            signal,
            binary: true,
            // tcpdump writes its counts and flushes on SIGINT as on SIGTERM; SIGINT is what a person would send.
            stopSignal: 'SIGINT',
            killAfterMs: 800,
            onStderr: (text) => {
              tail = (tail + text).slice(-4096);
              if (/listening on /.test(tail)) heard();
            },
          },
        );
        try {
          for await (const chunk of capture.stdout) yield chunk;
        } finally {
          capture.kill();
        }
        const exit = await capture.exited;
        if (exit.error || (exit.code !== 0 && !signal.aborted)) throw failureOf(exit.error, tail || exit.stderr, iface);
        report({ droppedByKernel: droppedOf(tail) });
      } catch (error) {
        fail(error);
        throw error;
      } finally {
        heard();
        report({ droppedByKernel: 0 });
      }
    }
    return { bytes: bytes(), ended };
  }
}

/** `N packets dropped by kernel`, from tcpdump's counts on exit. */
function droppedOf(stderr: string): number {
  const match = /(\d+) packets? dropped by kernel/.exec(stderr);
  return match ? Number(match[1]) : 0;
}

/** What tcpdump's complaint means for the capture's `error`. */
export function failureOf(error: NodeJS.ErrnoException | undefined, stderr: string, iface: string): CaptureFailure {
  if (error?.code === 'ENOENT') return new CaptureFailure('tcpdump: not installed on this sensor');
  if (error) return new CaptureFailure(`tcpdump: ${error.message}`);
  const said = stderr
    .split('\n')
    .map((line) => line.replace(/^tcpdump: /, '').trim())
    .filter((line) => line && !/^(listening on|Warning:|\d+ packets)/.test(line));
  const text = said.join('; ') || 'exited without saying why';
  if (
    /syntax error|parse filter|illegal|unknown (host|port|protocol|network)|expression rejects|not supported|invalid|filter/i.test(text)
  ) {
    return new CaptureFailure(`filter: ${text}`);
  }
  if (/no such device|doesn't exist|does not exist|no suitable device/i.test(text))
    return new CaptureFailure(`interface: ${iface} does not exist`);
  if (/permission|not permitted|privilege/i.test(text)) {
    return new CaptureFailure(`permission: capturing on ${iface} needs root or CAP_NET_RAW (${text})`);
  }
  return new CaptureFailure(`tcpdump: ${text}`);
}

/**
 * Checks a filter without an interface (`tcpdump -d -y EN10MB`): what the API
 * can refuse at once. Returns the reason it does not compile, or null; null
 * too when tcpdump is not here to ask (the sensor then decides).
 */
export async function filterProblem(filter: string, tcpdump: readonly string[] = ['tcpdump']): Promise<string | null> {
  if (filter.length > MAX_FILTER_LENGTH) return `longer than ${MAX_FILTER_LENGTH} characters`;
  if (!filter.trim()) return null;
  const [file = 'tcpdump', ...prefix] = tcpdump;
  const exit = await runProcess(file, [...prefix, '-d', '-y', 'EN10MB', '--', filter]).exited;
  if (exit.error || exit.code === 0) return null;
  return failureOf(undefined, exit.stderr, '').message.replace(/^filter: /, '');
}
