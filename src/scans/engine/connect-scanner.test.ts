import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { loopbackNetwork } from '../../../test/helpers/loopback.ts';
import { collect } from '../../../test/helpers/probes.ts';
import { PortSpec } from '../port-spec.ts';
import { createConnectScanner } from './connect-scanner.ts';
import { scannerContract } from './scanner.contract.ts';
import { DEFAULT_SCAN_OPTIONS, type ProbeHost, type ScanOptions } from './scanner.ts';
import { type Connect, loadRawConnect, socketConnect } from './tcp-connect.ts';

const V4: ProbeHost = { address: '127.0.0.1', family: 4 };
const FAST: ScanOptions = { ...DEFAULT_SCAN_OPTIONS, timeoutMs: 500, retries: 0 };

const servers: Server[] = [];

/** A listener that says `greeting` and hangs up. */
async function greeter(greeting: string): Promise<number> {
  const server = createServer((socket) => {
    // The engine resets connections once it has its answer.
    socket.on('error', () => {});
    socket.end(greeting);
  });
  await new Promise<void>((resolve) => server.listen(0, V4.address, resolve));
  servers.push(server);
  return (server.address() as { port: number }).port;
}

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

const raw = loadRawConnect();
const adapters: [string, Connect | undefined][] = [
  ['raw libuv connect', raw],
  ['net.Socket connect', socketConnect],
];

describe('the raw connect path', () => {
  it('is available on the Node this project runs', () => {
    expect(raw).toBeTypeOf('function');
  });
});

for (const [name, connect] of adapters) {
  scannerContract(`the connect scanner over ${name}`, () => ({ scanner: createConnectScanner(connect), network: loopbackNetwork() }));
}

describe.each(adapters)('connect scanner over %s', (_name, connect) => {
  it('grabs a bounded, printable banner from open ports', async () => {
    const ssh = await greeter('SSH-2.0-OpenSSH_9.6\r\n');
    const noisy = await greeter(`\u0000\u0001${'x'.repeat(1000)}`);
    const results = await collect(
      createConnectScanner(connect).scan(
        { hosts: [V4], ports: PortSpec.parse(`${ssh},${noisy}`) },
        { ...FAST, bannerGrab: true, bannerMaxBytes: 64 },
      ),
    );
    const banners = Object.fromEntries(results.map((r) => [r.port, r.banner]));
    expect(banners[ssh]).toBe('SSH-2.0-OpenSSH_9.6');
    expect(banners[noisy]).toBe(`..${'x'.repeat(62)}`);
  });
});
