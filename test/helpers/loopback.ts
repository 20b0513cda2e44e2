import { createServer, type Server, type Socket } from 'node:net';
import type { ContractNetwork } from '../../src/scans/engine/scanner.contract.ts';
import { unusedPort } from './ports.ts';
import { hasPython, type SilentPort, silentPort } from './silent-port.ts';

/**
 * Real ports on loopback for the scanner contract: listeners that accept and
 * hang up, free ports, and (with python3, or in CI, where its absence should
 * fail) ports that never answer. `close()` ends them all.
 */
export function loopbackNetwork(): ContractNetwork {
  const servers: Server[] = [];
  const silents: SilentPort[] = [];
  const sockets = new Set<Socket>();
  return {
    async open(address) {
      const server = createServer((socket) => {
        // Engines reset connections once they have their answer.
        socket.on('error', () => {});
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.end();
      });
      await new Promise<void>((resolve) => server.listen(0, address, resolve));
      servers.push(server);
      return (server.address() as { port: number }).port;
    },
    closed: (address) => unusedPort(address),
    silent:
      hasPython || process.env.CI
        ? async () => {
            const silent = await silentPort();
            silents.push(silent);
            return silent.port;
          }
        : undefined,
    async close() {
      for (const silent of silents) silent.close();
      // A server closes once its connections have; nmap's probes can leave one Node still counts after the peer is gone.
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
