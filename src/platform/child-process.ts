import { spawn } from 'node:child_process';

export type ProcessOptions = {
  /** Written to the process's stdin, which is then closed. */
  stdin?: string;
  /** Aborting stops the process: SIGTERM, then SIGKILL after `killAfterMs`. */
  signal?: AbortSignal;
  /** @default 500 */
  killAfterMs?: number;
  /** How much of stderr is kept for the error message. @default 4096 */
  stderrLimit?: number;
  /** Sees stderr as it comes (a tool that says on stderr when it is ready). */
  onStderr?: (text: string) => void;
  /** The signal that stops it when aborted. @default 'SIGTERM' */
  stopSignal?: NodeJS.Signals;
};

export type Exit = {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it could not run at all (`ENOENT`: not installed), if so. */
  error?: NodeJS.ErrnoException;
  /** The start of what it wrote to stderr. */
  stderr: string;
};

export type RunningProcess<Out = string> = {
  /** Its stdout as it comes: text, or bytes when run with `binary`. */
  stdout: AsyncIterable<Out>;
  /** Settles once it exited, or failed to start (at once). */
  exited: Promise<Exit>;
  /** Kills it now if it still runs: call in a `finally`, so a consumer that stops early never leaves it behind. */
  kill(): void;
};

/**
 * Runs a tool we drive by its output (nmap's XML, tcpdump's pcap bytes), with the
 * chores every such run needs: stdin written and closed, stderr kept short
 * for the error message, an AbortSignal that stops it politely then firmly,
 * and nothing left running when its reader stops.
 */
export function runProcess(file: string, args: readonly string[], options: ProcessOptions & { binary: true }): RunningProcess<Buffer>;
export function runProcess(file: string, args: readonly string[], options?: ProcessOptions): RunningProcess;
export function runProcess(
  file: string,
  args: readonly string[],
  options: ProcessOptions & { binary?: boolean } = {},
): RunningProcess<string | Buffer> {
  const { stdin, signal, killAfterMs = 500, stderrLimit = 4_096, stopSignal = 'SIGTERM', binary = false, onStderr } = options;
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < stderrLimit) stderr += text;
    onStderr?.(text);
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error, stderr }));
    child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal, stderr }));
  });
  // A tool may quit before reading its input (bad options): its exit says so, not a write error.
  child.stdin.on('error', () => {});
  child.stdin.end(stdin ?? '');
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = () => {
    child.kill(stopSignal);
    setTimeout(() => running() && child.kill('SIGKILL'), killAfterMs).unref();
  };
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  void exited.then(() => signal?.removeEventListener('abort', stop));
  return {
    stdout: (binary ? child.stdout : child.stdout.setEncoding('utf8')) as AsyncIterable<string | Buffer>,
    exited,
    kill: () => {
      if (running()) child.kill('SIGKILL');
    },
  };
}
