import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortSpec } from '../port-spec.ts';
import { createConnectScanner } from './connect-scanner.ts';
import { DEFAULT_SCAN_OPTIONS, type ProbeResult, type ProbeHost, type ScanOptions } from './scanner.ts';
import { type Connect, loadRawConnect, socketConnect } from './tcp-connect.ts';
import { unusedPort } from '../../../test/helpers/ports.ts';
import { collect, statesOf } from '../../../test/helpers/probes.ts';
import { hasPython, type SilentPort, silentPort } from '../../../test/helpers/silent-port.ts';

const V4: ProbeHost = { address: '127.0.0.1', family: 4 };
const V6: ProbeHost = { address: '::1', family: 6 };
const FAST: ScanOptions = { ...DEFAULT_SCAN_OPTIONS, timeoutMs: 500, retries: 0 };

const servers: Server[] = [];

async function listen(host: string, greeting?: string): Promise<number> {
  const server = createServer((socket) => {
    // The engine resets connections once it has its answer.
    socket.on('error', () => {});
    if (greeting) socket.end(greeting);
    else socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  servers.push(server);
  return (server.address() as { port: number }).port;
}



afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

const raw = loadRawConnect();
const adapters: [string, Connect | undefined][] = [['raw libuv connect', raw], ['net.Socket connect', socketConnect]];

describe('the raw connect path', () => {
  it('is available on the Node this project runs', () => {
    expect(raw).toBeTypeOf('function');
  });
});

describe.each(adapters)('connect scanner over %s', (_name, connect) => {
  const scanner = () => createConnectScanner(connect);

  it('reports exactly the listening ports as OPEN and the rest as CLOSED', async () => {
    const open = [await listen('127.0.0.1'), await listen('127.0.0.1'), await listen('127.0.0.1')];
    const closed = [await unusedPort(), await unusedPort()];
    const ports = PortSpec.parse([...open, ...closed].join(','));
    const results = await collect(scanner().scan({ hosts: [V4], ports }, FAST));
    expect(results).toHaveLength(5);
    expect(statesOf(results)).toEqual(Object.fromEntries([...open.map((p) => [p, 'OPEN']), ...closed.map((p) => [p, 'CLOSED'])]));
    expect(results.every((r) => r.address === '127.0.0.1' && r.protocol === 'TCP')).toBe(true);
  });

  it('scans IPv6 loopback', async () => {
    const open = await listen('::1');
    const closed = await unusedPort('::1');
    const results = await collect(scanner().scan({ hosts: [V6], ports: PortSpec.parse(`${open},${closed}`) }, FAST));
    expect(statesOf(results)).toEqual({ [open]: 'OPEN', [closed]: 'CLOSED' });
    expect(results[0]?.address).toBe('::1');
  });

  it('grabs a bounded, printable banner from open ports', async () => {
    const ssh = await listen('127.0.0.1', 'SSH-2.0-OpenSSH_9.6\r\n');
    const noisy = await listen('127.0.0.1', `\u0000\u0001${'x'.repeat(1000)}`);
    const results = await collect(scanner().scan({ hosts: [V4], ports: PortSpec.parse(`${ssh},${noisy}`) }, { ...FAST, bannerGrab: true, bannerMaxBytes: 64 }));
    const banners = Object.fromEntries(results.map((r) => [r.port, r.banner]));
    expect(banners[ssh]).toBe('SSH-2.0-OpenSSH_9.6');
    expect(banners[noisy]).toBe(`..${'x'.repeat(62)}`);
  });

  it('stops within a second of being cancelled', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = Date.now();
      controller.abort();
    }, 200);
    const results = await collect(scanner().scan({ hosts: [V4], ports: PortSpec.parse('1-20000') }, { ...FAST, maxRate: 500 }, controller.signal));
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    expect(results.length).toBeLessThan(20_000);
  });

  it('never starts probes faster than maxRate', async () => {
    const started = Date.now();
    const results = await collect(scanner().scan({ hosts: [V4], ports: PortSpec.parse('1-60') }, { ...FAST, maxRate: 100 }));
    expect(results).toHaveLength(60);
    // 60 probes at 100/s cannot finish in under ~0.59 s, however fast the machine.
    expect(Date.now() - started).toBeGreaterThanOrEqual(580);
  });
});

describe.skipIf(!hasPython && !process.env.CI)('a port that never answers', () => {
  let silent: SilentPort;
  let port: number;

  beforeAll(async () => {
    silent = await silentPort();
    port = silent.port;
  });

  afterAll(() => {
    silent?.close();
  });

  it.each(adapters)('is FILTERED after its retries over %s', async (_name, connect) => {
    const open = await listen('127.0.0.1');
    const results = await collect(createConnectScanner(connect).scan(
      { hosts: [V4], ports: PortSpec.parse(`${open},${port}`) },
      { ...FAST, timeoutMs: 300, retries: 1 },
    ));
    expect(statesOf(results)).toEqual({ [open]: 'OPEN', [port]: 'FILTERED' });
  });
});
