/**
 * Run inside a fresh network namespace (`unshare -n -- node netns-capture.ts <outdir>`):
 * brings loopback up, captures it with tcpdump into `<outdir>/lo.pcap` while
 * sending known traffic over 127.0.0.1 and ::1 (TCP with data both ways and a
 * FIN close, a refused connection, a connection the client resets, UDP of
 * known sizes, ping over IPv4 and IPv6), writes what it sent to
 * `<outdir>/sent.json`, and converts the capture to `<outdir>/lo.pcapng`.
 * It never touches an interface but the namespace's own loopback.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

if (!process.env.SCANOPS_IN_NETNS) throw new Error('refusing to capture outside a private network namespace');
const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).trim().split('\n');
if (links.length !== 1 || !/^\d+: lo:/.test(links[0] ?? '')) {
  throw new Error(`refusing to capture: this namespace has interfaces besides lo:\n${links.join('\n')}`);
}
execFileSync('ip', ['link', 'set', 'lo', 'up']);

const outdir = process.argv[2];
if (!outdir) throw new Error('usage: netns-capture.ts <outdir>');
const pcap = join(outdir, 'lo.pcap');

interface Endpoint {
  address: string;
  port: number;
}
export interface SentTcp {
  client: Endpoint;
  server: Endpoint;
  /** Bytes the client sent, and the server sent back, before both closed with a FIN. */
  clientBytes: number;
  serverBytes: number;
}
export interface SentUdp {
  client: Endpoint;
  server: Endpoint;
  /** Payload sizes of the datagrams, in order; the server echoes each back. */
  sizes: number[];
}
export interface Sent {
  /** Datagrams between these ports only mark that tcpdump is capturing, and that it has written everything. */
  marker: { client: Endpoint; server: Endpoint };
  tcp4: SentTcp;
  tcp6: SentTcp;
  /** A connect to a port nobody listens on: the kernel answers the SYN with RST/ACK. */
  refused: { address: string; port: number };
  /** The client sends `clientBytes`, the server answers `serverBytes` (1), then the client resets (SO_LINGER 0: RST). */
  reset: SentTcp;
  udp4: SentUdp;
  udp6: SentUdp;
  /** Echo requests ping sent (each answered) to each address. */
  ping4: { address: string; count: number };
  ping6: { address: string; count: number };
}

function endpoint(address: { address: string; port: number } | string | null): Endpoint {
  if (address === null || typeof address === 'string') throw new Error('not an IP socket');
  return { address: address.address, port: address.port };
}

async function listen(host: string, onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
  server.listen(0, host);
  await once(server, 'listening');
  return server;
}

async function closeServer(server: Server): Promise<void> {
  await new Promise((resolve) => server.close(resolve));
}

/** A payload of `length` bytes that is not all one value. */
function payload(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** The client sends `clientBytes`; once the server has them all it answers `serverBytes` and closes; the client closes on its FIN. */
async function tcpExchange(host: string, clientBytes: number, serverBytes: number): Promise<SentTcp> {
  let serverClosed!: Promise<unknown>;
  const server = await listen(host, (socket) => {
    serverClosed = once(socket, 'close');
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received === clientBytes) socket.end(payload(serverBytes, 7));
    });
  });
  const client = connect({ host, port: endpoint(server.address()).port });
  await once(client, 'connect');
  const sent: SentTcp = {
    client: { address: client.localAddress as string, port: client.localPort as number },
    server: { address: client.remoteAddress as string, port: client.remotePort as number },
    clientBytes,
    serverBytes,
  };
  let received = 0;
  client.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  const clientClosed = once(client, 'close');
  client.write(payload(clientBytes, 3));
  await clientClosed;
  await serverClosed;
  await closeServer(server);
  if (received !== serverBytes) throw new Error(`the client read ${received} bytes, not ${serverBytes}`);
  return sent;
}

async function refusedConnection(host: string): Promise<{ address: string; port: number }> {
  // A port that was free a moment ago, and is closed now.
  const server = await listen(host, () => {});
  const { port } = endpoint(server.address());
  await closeServer(server);
  const client = connect({ host, port });
  const [error] = (await once(client, 'error')) as [NodeJS.ErrnoException];
  if (error.code !== 'ECONNREFUSED') throw new Error(`expected ECONNREFUSED, got ${error.code}`);
  return { address: host, port };
}

/** The client sends `clientBytes`, the server answers one byte (which acknowledges them), then the client resets. */
async function resetConnection(host: string, clientBytes: number): Promise<SentTcp> {
  let serverClosed!: Promise<unknown>;
  const server = await listen(host, (socket) => {
    // The reset is an ECONNRESET error on this side (which `once` would reject with): wait for 'close' plainly.
    serverClosed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('error', () => {});
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received === clientBytes) socket.write(payload(1, 9));
    });
  });
  const client = connect({ host, port: endpoint(server.address()).port });
  await once(client, 'connect');
  const sent: SentTcp = {
    client: { address: client.localAddress as string, port: client.localPort as number },
    server: { address: client.remoteAddress as string, port: client.remotePort as number },
    clientBytes,
    serverBytes: 1,
  };
  const answered = once(client, 'data');
  client.write(payload(clientBytes, 5));
  await answered;
  const clientClosed = once(client, 'close');
  client.resetAndDestroy();
  await clientClosed;
  await serverClosed;
  await closeServer(server);
  return sent;
}

async function udpSocket(type: 'udp4' | 'udp6', host: string): Promise<UdpSocket> {
  const socket = createSocket(type);
  socket.bind(0, host);
  await once(socket, 'listening');
  return socket;
}

/** The client sends each size in turn and waits for the server's echo of it. */
async function udpExchange(type: 'udp4' | 'udp6', host: string, sizes: number[]): Promise<SentUdp> {
  const server = await udpSocket(type, host);
  server.on('message', (message, from) => server.send(message, from.port, from.address));
  const client = await udpSocket(type, host);
  for (const [index, size] of sizes.entries()) {
    const echoed = once(client, 'message');
    client.send(payload(size, index), server.address().port, host);
    const [message] = (await echoed) as [Buffer];
    if (message.length !== size) throw new Error(`echo of ${message.length} bytes for ${size}`);
  }
  const sent = { client: endpoint(client.address()), server: endpoint(server.address()), sizes };
  client.close();
  server.close();
  return sent;
}

function ping(args: string[], count: number): void {
  const output = execFileSync('ping', [...args, '-c', String(count)], { encoding: 'utf8', timeout: 10_000 });
  if (!output.includes(`${count} received`)) throw new Error(`ping ${args.join(' ')}:\n${output}`);
}

/** Starts tcpdump on lo and resolves once its "listening on lo" line is out. */
async function startTcpdump(): Promise<{ tcpdump: ChildProcess; stderr: () => string }> {
  // --immediate-mode: packets leave the kernel's ring one by one, so none is left behind in a block when it stops.
  // -B: each slot of that ring takes a whole snapshot length (256 KiB), and 2 MiB (8 of them) is too few on a busy
  // machine: the kernel drops what finds the ring full. 32 MiB is room for 128 packets, more than all we send.
  // `timeout` (which passes SIGINT on) ends it should this script die without stopping it.
  const args = ['-i', 'lo', '-n', '--immediate-mode', '-B', '32768', '-U', '-w', pcap];
  const tcpdump = spawn('timeout', ['-s', 'INT', '60', 'tcpdump', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  process.on('exit', () => tcpdump.kill('SIGINT'));
  process.on('SIGTERM', () => process.exit(1));
  let stderr = '';
  tcpdump.stderr?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start listening:\n${stderr}`)), 10_000);
    tcpdump.once('exit', (code) => reject(new Error(`tcpdump exited with ${code}:\n${stderr}`)));
    tcpdump.stderr?.on('data', (text: string) => {
      stderr += text;
      if (stderr.includes('listening on lo')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { tcpdump, stderr: () => stderr };
}

/** Sends `text` between the marker sockets until it shows in the capture file (tcpdump -U writes each packet as it comes). */
async function mark(client: UdpSocket, server: UdpSocket, text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  const bytes = Buffer.from(text);
  for (;;) {
    client.send(bytes, server.address().port, '127.0.0.1');
    await sleep(50);
    let file: Buffer;
    try {
      file = readFileSync(pcap);
    } catch {
      file = Buffer.alloc(0);
    }
    if (file.includes(bytes)) return;
    if (Date.now() > deadline) throw new Error(`the marker ${text} never reached the capture`);
  }
}

const { tcpdump, stderr } = await startTcpdump();
const markerServer = await udpSocket('udp4', '127.0.0.1');
const markerClient = await udpSocket('udp4', '127.0.0.1');
// Capturing for certain, and a moment to settle.
await mark(markerClient, markerServer, `scanops-netns-capture-start-${process.pid}`);
await sleep(50);

const sent: Sent = {
  marker: { client: endpoint(markerClient.address()), server: endpoint(markerServer.address()) },
  tcp4: await tcpExchange('127.0.0.1', 100_000, 3_000),
  tcp6: await tcpExchange('::1', 1_234, 567),
  refused: await refusedConnection('127.0.0.1'),
  reset: await resetConnection('127.0.0.1', 10),
  udp4: await udpExchange('udp4', '127.0.0.1', [0, 1, 100, 1472, 8_000]),
  udp6: await udpExchange('udp6', '::1', [10, 1_000]),
  ping4: { address: '127.0.0.1', count: 2 },
  ping6: { address: '::1', count: 1 },
};
ping(['-q', '-i', '0.2', '127.0.0.1'], sent.ping4.count);
ping(['-q', '-6', '::1'], sent.ping6.count);

// Everything before the end marker is in the file once the marker is.
await mark(markerClient, markerServer, `scanops-netns-capture-end-${process.pid}`);
markerClient.close();
markerServer.close();
const exited = once(tcpdump, 'exit');
tcpdump.kill('SIGINT');
const [code, signal] = (await exited) as [number | null, string | null];
if (code !== 0) throw new Error(`tcpdump ended with ${code ?? signal}:\n${stderr()}`);

writeFileSync(join(outdir, 'sent.json'), `${JSON.stringify(sent, null, 2)}\n`);
execFileSync('editcap', ['-F', 'pcapng', pcap, join(outdir, 'lo.pcapng')]);
process.stdout.write(`${JSON.stringify({ ok: true, tcpdump: stderr().trim().split('\n') })}\n`);
