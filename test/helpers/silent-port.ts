import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

export const hasPython = spawnSync('python3', ['--version']).status === 0;

export type SilentPort = { port: number; close(): void };

/**
 * A listener that never accepts, its backlog of one already taken: the kernel
 * drops further SYNs, so a probe times out, as behind a firewall. Node's own
 * servers always accept, hence a tiny Python listener (python3 is in Debian's base).
 */
export async function silentPort(host = '127.0.0.1'): Promise<SilentPort> {
  const listener: ChildProcess = spawn(
    'python3',
    [
      '-c',
      [
        'import socket, sys, time',
        `s = socket.socket(); s.bind((${JSON.stringify(host)}, 0)); s.listen(0)`,
        'c = socket.create_connection(s.getsockname())',
        'print(s.getsockname()[1], flush=True)',
        'time.sleep(120)',
      ].join('\n'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = Number(await new Promise<string>((resolve) => createInterface({ input: listener.stdout! }).once('line', resolve)));
  return { port, close: () => listener.kill() };
}
