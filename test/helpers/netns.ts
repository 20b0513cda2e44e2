import { execFileSync, spawnSync } from 'node:child_process';

/**
 * A private, named network namespace (`ip netns`) holding only a loopback
 * interface that is up: live captures in tests run on its `lo`, so they see
 * only the packets the test sends there. Needs root (CI is); `available` says.
 */
export class Netns {
  static readonly available = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
  private static count = 0;
  readonly name = `scanops-test-${process.pid}-${Netns.count++}`;

  constructor() {
    execFileSync('ip', ['netns', 'add', this.name]);
    execFileSync('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
  }

  /** A command prefix that runs `command` inside the namespace. */
  exec(...command: string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...command];
  }

  /** Runs a small Node script inside the namespace and waits for it (it may read `process.argv[1..]`). */
  node(script: string, ...args: string[]): void {
    const [file = 'ip', ...rest] = this.exec(process.execPath, '--input-type=module', '-e', script, '--', ...args);
    const run = spawnSync(file, rest, { encoding: 'utf8', timeout: 10_000 });
    if (run.status !== 0) throw new Error(`the script in ${this.name} failed: ${run.stderr || run.error?.message}`);
  }

  /** Sends UDP datagrams of these payload sizes to 127.0.0.1:`port` from inside the namespace. */
  sendUdp(port: number, sizes: readonly number[]): void {
    this.node(
      `import { createSocket } from 'node:dgram';
       const [port, ...sizes] = process.argv.slice(1).map(Number);
       const socket = createSocket('udp4');
       for (const size of sizes) await new Promise((done) => socket.send(Buffer.alloc(size), port, '127.0.0.1', done));
       socket.close();`,
      String(port),
      ...sizes.map(String),
    );
  }

  remove(): void {
    spawnSync('ip', ['netns', 'delete', this.name]);
  }
}
