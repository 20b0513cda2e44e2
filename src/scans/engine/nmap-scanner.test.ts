import { spawnSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loopbackNetwork } from '../../../test/helpers/loopback.ts';
import { unusedPort } from '../../../test/helpers/ports.ts';
import { collect, statesOf } from '../../../test/helpers/probes.ts';
import { DomainError } from '../../errors.ts';
import { PortSpec } from '../port-spec.ts';
import { createNmapScanner } from './nmap-scanner.ts';
import { scannerContract } from './scanner.contract.ts';
import { DEFAULT_SCAN_OPTIONS, type ProbeHost, type ScanOptions } from './scanner.ts';

const V4: ProbeHost = { address: '127.0.0.1', family: 4 };
const V6: ProbeHost = { address: '::1', family: 6 };
const FAST: ScanOptions = { ...DEFAULT_SCAN_OPTIONS, timeoutMs: 300, retries: 0 };

// CI installs nmap and runs as root; elsewhere these need both, and say so by skipping.
const hasNmap = spawnSync('nmap', ['-V']).status === 0;
const root = process.getuid?.() === 0;
const runNmap = hasNmap || Boolean(process.env.CI);
const runPrivileged = runNmap && (root || Boolean(process.env.CI));

const servers: Server[] = [];
const sockets: UdpSocket[] = [];

/** A listener that greets, stays silent (`null`: holds the connection, says nothing) or hangs up at once. */
async function listen(host: string, greeting?: string | null): Promise<number> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    if (greeting) socket.write(greeting);
    else if (greeting === undefined) socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  servers.push(server);
  return (server.address() as { port: number }).port;
}

async function udp(answer: boolean): Promise<number> {
  const socket = createSocket('udp4');
  if (answer) socket.on('message', (_message, from) => socket.send('pong', from.port, from.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  sockets.push(socket);
  return socket.address().port;
}

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  for (const socket of sockets) socket.close();
});

describe.skipIf(!runPrivileged)('nmap SYN scan', () => {
  it('reports exactly the listening ports as OPEN and the rest as CLOSED, one result per probe', async () => {
    const open = [await listen('127.0.0.1'), await listen('127.0.0.1')];
    const closed = await unusedPort();
    // A run of 100 ports: nmap summarises the closed ones, the reader expands them.
    const spec = PortSpec.parse([...open, `${closed}-${closed + 99}`].join(','));
    const progress: number[] = [];
    const results = await collect(
      createNmapScanner('SYN').scan({ hosts: [V4], ports: spec }, FAST, undefined, (done) => progress.push(done)),
    );
    expect(results).toHaveLength(spec.count);
    expect(new Set(results.map((r) => r.port)).size).toBe(spec.count);
    expect(statesOf(results)).toMatchObject({ [open[0]!]: 'OPEN', [open[1]!]: 'OPEN', [closed]: 'CLOSED' });
    expect(results.every((r) => r.protocol === 'TCP' && r.address === '127.0.0.1')).toBe(true);
    expect(progress.every((done) => done >= 0 && done <= spec.count)).toBe(true);
  });

  it('scans IPv6 (::1) and IPv4 hosts of one plan', async () => {
    const open6 = await listen('::1');
    const closed = await unusedPort('::1');
    const results = await collect(createNmapScanner('SYN').scan({ hosts: [V4, V6], ports: PortSpec.parse(`${open6},${closed}`) }, FAST));
    expect(
      results
        .filter((r) => r.address === '::1')
        .map((r) => [r.port, r.state])
        .sort(),
    ).toEqual(
      [
        [open6, 'OPEN'],
        [closed, 'CLOSED'],
      ].sort(),
    );
    expect(results.filter((r) => r.address === '127.0.0.1')).toHaveLength(2);
  });
});

describe.skipIf(!runPrivileged)('nmap UDP scan', () => {
  it('tells a port that answers (OPEN) from a refused one (CLOSED) and a silent one (FILTERED)', async () => {
    const answering = await udp(true);
    const silent = await udp(false);
    const closed = await unusedPort();
    const results = await collect(
      createNmapScanner('UDP').scan({ hosts: [V4], ports: PortSpec.parse(`${answering},${silent},${closed}`) }, FAST),
    );
    expect(results.every((r) => r.protocol === 'UDP')).toBe(true);
    expect(statesOf(results)).toEqual({ [answering]: 'OPEN', [silent]: 'FILTERED', [closed]: 'CLOSED' });
  });
});

// VERSION is nmap's connect scan (-sT) plus service probes: it needs no root, so it alone runs the contract wherever nmap is.
describe.skipIf(!runNmap)('nmap VERSION scan under the contract', () => {
  // Each run is an nmap process of its own, started and reaped.
  scannerContract('nmap VERSION scan', () => ({ scanner: createNmapScanner('VERSION'), network: loopbackNetwork() }), {
    overheadMs: 1_000,
  });
});

describe.skipIf(!runNmap)('nmap VERSION scan', () => {
  it('names the service and its version on an open port', async () => {
    const ssh = await listen('127.0.0.1', 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n');
    const closed = await unusedPort();
    const results = await collect(createNmapScanner('VERSION').scan({ hosts: [V4], ports: PortSpec.parse(`${ssh},${closed}`) }, FAST));
    expect(results.find((r) => r.port === ssh)).toMatchObject({
      state: 'OPEN',
      service: 'ssh',
      version: expect.stringContaining('OpenSSH 9.2p1'),
    });
    expect(results.find((r) => r.port === closed)).toMatchObject({ state: 'CLOSED' });
  });

  it('stops nmap within a second of being cancelled', async () => {
    // Service probes of a port that never speaks take nmap many seconds.
    const mute = await listen('127.0.0.1', null);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    await collect(createNmapScanner('VERSION').scan({ hosts: [V4], ports: PortSpec.parse(String(mute)) }, FAST, controller.signal));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(1_300);
    expect(spawnSync('pgrep', ['-f', `nmap -sT -sV .*-p ${mute} `]).status).toBe(1);
  });
});

describe('nmap scanner failures', () => {
  it('says clearly when nmap is not installed', async () => {
    const scanner = createNmapScanner('SYN', '/nonexistent/nmap');
    await expect(collect(scanner.scan({ hosts: [V4], ports: PortSpec.parse('80') }, FAST))).rejects.toThrow(DomainError);
    await expect(collect(scanner.scan({ hosts: [V4], ports: PortSpec.parse('80') }, FAST))).rejects.toThrow(
      /nmap is not installed on this worker/,
    );
  });

  it('passes on what nmap said when it fails', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'fake-nmap-'));
    const fake = path.join(dir, 'nmap');
    await writeFile(
      fake,
      '#!/bin/sh\necho "Starting Nmap 7.93" >&2\necho "You requested a scan type which requires root privileges." >&2\nexit 1\n',
    );
    await chmod(fake, 0o755);
    const scanning = collect(createNmapScanner('SYN', fake).scan({ hosts: [V4], ports: PortSpec.parse('80') }, FAST));
    await expect(scanning).rejects.toThrow('nmap failed (exit 1): You requested a scan type which requires root privileges.');
  });
});
