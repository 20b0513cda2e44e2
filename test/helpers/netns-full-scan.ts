/**
 * Run inside a fresh network namespace (`unshare -n`): brings loopback up,
 * opens the listeners asked for, scans all 65,535 ports of 127.0.0.1 with the
 * connect engine, and prints one JSON line: the listeners and what was found.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createConnectScanner } from '../../src/scans/engine/connect-scanner.ts';
import { DEFAULT_SCAN_OPTIONS } from '../../src/scans/engine/scanner.ts';
import { PortSpec } from '../../src/scans/port-spec.ts';

if (!process.env.SCANOPS_IN_NETNS) throw new Error('refusing to scan outside a private network namespace');
execFileSync('ip', ['link', 'set', 'lo', 'up']);

const count = Number(process.argv[2] ?? 5);
const servers: Server[] = [];
for (let i = 0; i < count; i++) {
  const server = createServer((socket) => socket.on('error', () => {}).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
}
const listeners = servers.map((server) => (server.address() as { port: number }).port).sort((a, b) => a - b);

const states: Record<string, number> = { OPEN: 0, CLOSED: 0, FILTERED: 0 };
const open: number[] = [];
for await (const batch of createConnectScanner().scan(
  { hosts: [{ address: '127.0.0.1', family: 4 }], ports: PortSpec.parse('1-65535') },
  DEFAULT_SCAN_OPTIONS,
)) {
  for (const result of batch) {
    states[result.state] = (states[result.state] ?? 0) + 1;
    if (result.state === 'OPEN') open.push(result.port);
  }
}
process.stdout.write(`${JSON.stringify({ listeners, open: open.sort((a, b) => a - b), states })}\n`);
await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
