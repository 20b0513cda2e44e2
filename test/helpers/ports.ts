import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port nothing listens on now: bound once to learn a free number, then released. */
export async function unusedPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A free port for a server that a test starts later (an embedded PostgreSQL,
 * a redis-server): below the kernel's ephemeral range, which `unusedPort`
 * draws from and every outgoing connection takes its local port from, so that
 * no client socket of a parallel test can hold it by the time the server binds.
 */
export async function portToListenOn(host = '127.0.0.1'): Promise<number> {
  const [ephemeralStart = 32_768] = (() => {
    try {
      return readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    } catch {
      return [32_768];
    }
  })();
  const low = 20_000;
  const high = Math.max(low + 1_000, Math.min(ephemeralStart, 32_768)) - 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await free(port, host)) return port;
  }
  return unusedPort(host);
}

function free(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
