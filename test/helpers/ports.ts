import { createServer } from 'node:net';

/** A port nothing listens on now: bound once to learn a free number, then released. */
export async function unusedPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
