import { spawn, spawnSync } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { portToListenOn } from './ports.ts';

/**
 * Tests that need Redis take it from `TEST_REDIS_URL` (CI: the machine's),
 * else from a `redis-server` of their own, never from whatever happens to
 * listen on 6379. `TEST_REDIS_SERVER` names that binary (test-only; point it
 * at a missing file to see the skip).
 */
const GIVEN = process.env.TEST_REDIS_URL || undefined;
const SERVER = process.env.TEST_REDIS_SERVER || 'redis-server';

/** Why a test needing Redis cannot have one here; `undefined` when it can. */
export const redisMissing =
  GIVEN || !spawnSync(SERVER, ['--version'], { stdio: 'ignore' }).error
    ? undefined
    : `no TEST_REDIS_URL and no ${SERVER} installed (apt-get install redis-server)`;

/**
 * How a suite needing Redis runs where there is none: skipped, with a line
 * saying why, on a developer's machine; run in CI (`CI` set), which must run
 * everything, so that `useRedis` fails there with the same reason.
 */
export function redisSuite(title: string): { title: string; skipped: boolean } {
  if (!redisMissing || process.env.CI) return { title, skipped: false };
  console.warn(`${title}: skipped: ${redisMissing}`);
  return { title: `${title} (skipped: ${redisMissing})`, skipped: true };
}

export type TestRedis = { url: string; stop(): Promise<void> };

/** `TEST_REDIS_URL`, or a private `redis-server` until `stop`. */
export async function useRedis(): Promise<TestRedis> {
  if (GIVEN) return { url: GIVEN, stop: async () => {} };
  if (redisMissing) throw new Error(`Redis tests cannot run: ${redisMissing}`);
  return startRedisServer(await portToListenOn());
}

/** A `redis-server` on 127.0.0.1:`port` that writes nothing to disk; resolves once it accepts connections. */
async function startRedisServer(port: number): Promise<TestRedis> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()];
  const child = spawn(SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const onLine = (line: string) => {
      output.push(line);
      if (line.includes('Ready to accept connections')) resolve();
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`${SERVER} on port ${port} exited with ${code}:\n${output.join('\n')}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Redis as a client on the other side of an outage sees it: a loopback port
 * in front of `redis` that refuses connections while shut, and drops those
 * it carries when it shuts. Works the same on a shared `TEST_REDIS_URL`,
 * which a test must never stop.
 */
export type RedisDoor = { url: string; open(): Promise<void>; shut(): Promise<void> };

/** A door to `redis`, shut to begin with. */
export async function redisDoor(redis: TestRedis): Promise<RedisDoor> {
  const target = new URL(redis.url);
  const port = await portToListenOn();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const url = new URL(redis.url);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const carry = (client: Socket) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket
        .on('error', () => {})
        .on('close', () => {
          sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
    }
    client.pipe(upstream).pipe(client);
  };
  return {
    url: url.toString(),
    async open() {
      const opening = createServer(carry);
      await new Promise<void>((resolve, reject) => opening.once('error', reject).listen(port, '127.0.0.1', resolve));
      server = opening;
    },
    async shut() {
      const closing = server;
      server = undefined;
      if (!closing) return;
      const closed = new Promise((resolve) => closing.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
