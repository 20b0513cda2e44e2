/**
 * Live captures end to end, against the server process: its in-process worker
 * is the sensor, and captures through `SENSOR_NETNS` inside a private network
 * namespace of this test, on that namespace's `lo` only. Every packet counted
 * here is one the test sent inside the namespace.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import type { TrafficPacket } from '../../src/traffic/capture/capture.topics.ts';
import { CaptureDecoder } from '../../src/traffic/decode/capture-decoder.ts';
import { createScan, download } from '../helpers/evidence.ts';
import { Netns } from '../helpers/netns.ts';
import { type ServerProcess, startServer, subscribe } from '../helpers/server.ts';

const hasTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const runnable = Netns.available && hasTcpdump;

/** A packet as `trafficEvents` sends it: the API's shape of the worker's `TrafficPacket`. */
type Packet = Omit<TrafficPacket, 'srcV4' | 'dstV4'>;
type Batch = { trafficEvents: { captureId: string; packets: Packet[]; dropped: number } };
type Flow = {
  protocol: string;
  ipProtocol: number | null;
  src: string;
  srcPort: number | null;
  dst: string;
  dstPort: number | null;
  originatorPackets: number;
  originatorBytes: number;
  responderPackets: number;
  responderBytes: number;
  state: string;
  tcpFlags: string[];
};
type Stats = {
  packets: number;
  bytes: number;
  droppedByKernel: number;
  droppedForSubscribers: number;
  decodeErrors: number;
  packetsPerSecond: number;
  bytesPerSecond: number;
};
type Capture = {
  id: string;
  status: string;
  error: string | null;
  filter: string | null;
  effectiveFilter: string | null;
  startedAt: string | null;
  endedAt: string | null;
  stats: Stats;
};

const PACKET = 'at timeNs interface src dst srcPort dstPort protocol ipProtocol length capturedLength tcpFlags vlan info';
const EVENTS = `subscription($id: ID!, $filter: TrafficFilter) {
  trafficEvents(captureId: $id, filter: $filter) { captureId dropped packets { ${PACKET} } }
}`;
const STATS = 'packets bytes droppedByKernel droppedForSubscribers decodeErrors packetsPerSecond bytesPerSecond';
const CAPTURE = `id status error filter effectiveFilter startedAt endedAt stats { ${STATS} }`;
const START = `mutation($input: StartCaptureInput!) { startCapture(input: $input) { capture { ${CAPTURE} } } }`;
const STOP = `mutation($id: ID!) { stopCapture(input: { id: $id }) { capture { ${CAPTURE} } } }`;
const DETAIL = `query($id: ID!) { capture(id: $id) {
  ${CAPTURE}
  protocols { protocol packets bytes }
  topTalkers { address packets bytes }
  series { at packets bytes }
  flows(first: 100) { totalCount nodes {
    protocol ipProtocol src srcPort dst dstPort originatorPackets originatorBytes responderPackets responderBytes state tcpFlags
  } }
  savedEvidence { id url size contentType }
} }`;

/** Ethernet (lo's link type in tcpdump), IPv4 and UDP headers. */
const UDP_OVERHEAD = 14 + 20 + 8;

/**
 * UDP inside the namespace: binds a receiver on `host`:`port` and a sender
 * (on `from` when given), sends datagrams of `sizes` (each `gap` ms apart, or
 * in bursts of 500 when 0), prints the sender's port. Nothing answers, and the
 * receiver is bound, so no ICMP unreachable mixes in. `repeat` sends the sizes that many times over.
 */
const UDP_SCRIPT = `
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
const [host, ...numbers] = process.argv.slice(1);
const [port, from, gap, repeat, ...once_] = numbers.map(Number);
const sizes = Array.from({ length: repeat }, () => once_).flat();
const receiver = createSocket('udp4');
receiver.on('message', () => {});
receiver.bind(port, host);
await once(receiver, 'listening');
const sender = createSocket('udp4');
sender.bind(from, host);
await once(sender, 'listening');
let pending = [];
for (const size of sizes) {
  pending.push(new Promise((done) => sender.send(Buffer.alloc(size, 7), port, host, done)));
  if (gap > 0) { await Promise.all(pending); pending = []; await new Promise((r) => setTimeout(r, gap)); }
  else if (pending.length >= 500) { await Promise.all(pending); pending = []; await new Promise((r) => setImmediate(r)); }
}
await Promise.all(pending);
process.stdout.write(String(sender.address().port));
sender.close();
receiver.close();
`;

/** A TCP exchange (data both ways, FIN close) and a refused connection inside the namespace; prints their ports. */
const TCP_SCRIPT = `
import { connect, createServer } from 'node:net';
import { once } from 'node:events';
const clientBytes = 5000, serverBytes = 700;
const server = createServer((socket) => {
  let got = 0;
  socket.on('data', (chunk) => { got += chunk.length; if (got === clientBytes) socket.end(Buffer.alloc(serverBytes, 2)); });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const serverPort = server.address().port;
const client = connect({ host: '127.0.0.1', port: serverPort });
await once(client, 'connect');
const clientPort = client.localPort;
let read = 0;
client.on('data', (chunk) => { read += chunk.length; });
client.on('end', () => client.end());
const closed = once(client, 'close');
client.write(Buffer.alloc(clientBytes, 1));
await closed;
await new Promise((resolve) => server.close(resolve));
if (read !== serverBytes) throw new Error('read ' + read);
const spare = createServer();
spare.listen(0, '127.0.0.1');
await once(spare, 'listening');
const refusedPort = spare.address().port;
await new Promise((resolve) => spare.close(resolve));
const refused = connect({ host: '127.0.0.1', port: refusedPort });
const [error] = await once(refused, 'error').catch((e) => [e]);
if (error.code !== 'ECONNREFUSED') throw new Error(String(error.code));
process.stdout.write(JSON.stringify({ clientPort, serverPort, clientBytes, serverBytes, refusedPort }));
`;

/** Runs a command inside the namespace without blocking this process (subscribers keep reading meanwhile). */
function run(netns: Netns, command: string[], timeoutMs = 20_000): Promise<string> {
  const [file = 'ip', ...args] = netns.exec(...command);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command.join(' ')} exited ${code}: ${stderr}`))));
  });
}

const node = (netns: Netns, script: string, ...args: (string | number)[]) =>
  run(netns, [process.execPath, '--input-type=module', '-e', script, '--', ...args.map(String)]);

/** UDP datagrams of `sizes` to `port` (from `from`, 0: any); resolves with the sender's port. */
const udp = async (netns: Netns, port: number, sizes: number[], { from = 0, gap = 0, repeat = 1, host = '127.0.0.1' } = {}) =>
  Number(await node(netns, UDP_SCRIPT, host, port, from, gap, repeat, ...sizes));

const MARK_START = 39_001;
const MARK_END = 39_002;

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const all = (results: Batch[]) => results.flatMap((result) => result.trafficEvents.packets);

describe.skipIf(!runnable && !process.env.CI)('live traffic on a namespace’s lo (server process)', () => {
  let netns: Netns;
  let server: ServerProcess;

  async function gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) {
    const { body } = await server.graphql<T>(query, variables, headers);
    return body;
  }

  async function start(input: Record<string, unknown>, headers?: Record<string, string>): Promise<Capture> {
    const body = await gql<{ startCapture: { capture: Capture } }>(START, { input }, headers);
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return body.data!.startCapture.capture;
  }

  async function startError(input: Record<string, unknown>): Promise<{ code: unknown; message: string }[]> {
    const body = await gql(START, { input });
    return (body.errors ?? []).map((error) => ({ code: error.extensions?.code, message: error.message }));
  }

  async function detail(id: string) {
    const body = await gql<{
      capture: Capture & {
        protocols: { protocol: string; packets: number; bytes: number }[];
        topTalkers: { address: string; packets: number; bytes: number }[];
        series: { at: string; packets: number; bytes: number }[];
        flows: { totalCount: number; nodes: Flow[] };
        savedEvidence: { id: string; url: string; size: number; contentType: string } | null;
      };
    }>(DETAIL, { id });
    expect(body.errors).toBeUndefined();
    return body.data!.capture;
  }

  /** Downloads a saved pcap and decodes it (checking it is one). */
  async function pcapOf(url: string) {
    const response = await download(server, url, { authorization: `Bearer ${server.adminToken}` });
    expect(response.status).toBe(200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const decoder = new CaptureDecoder();
    const packets = decoder.push(bytes).map((packet) => ({
      srcPort: packet.srcPort,
      dstPort: packet.dstPort,
      length: packet.wireLength,
      timeNs: String(packet.time),
    }));
    decoder.end();
    expect(decoder.format).toBe('pcap');
    expect(decoder.stats.decodeErrors).toBe(0);
    return Object.assign(packets, { size: bytes.length });
  }

  const ended = (id: string, timeoutMs = 10_000) =>
    until(
      `capture ${id} to end`,
      async () => {
        const capture = await detail(id);
        return ['STOPPED', 'COMPLETED', 'FAILED'].includes(capture.status) && capture;
      },
      timeoutMs,
    );

  /** Subscribes to a capture's packets and waits until one of `port`'s marker datagrams came through (tcpdump is listening). */
  async function listening(id: string, filter?: Record<string, unknown>, port = MARK_START, token = server.adminToken) {
    const events = subscribe<Batch>(server.wsClient({ token }), EVENTS, { id, filter });
    await events.next(1);
    await until('tcpdump to listen', async () => {
      await udp(netns, port, [1]);
      await sleep(150);
      return all(events.results).some((packet) => packet.dstPort === port);
    });
    return events;
  }

  /** Everything sent before it is in the feed once the end marker is. */
  async function drained(events: ReturnType<typeof subscribe<Batch>>, port = MARK_END) {
    await until('the end marker', async () => {
      await udp(netns, port, [2]);
      await sleep(150);
      return all(events.results).some((packet) => packet.dstPort === port && packet.length === 2 + UDP_OVERHEAD);
    });
  }

  beforeAll(async () => {
    netns = new Netns();
    server = await startServer({ env: { SENSOR_NETNS: netns.name } });
    await until('the sensor online with lo', async () => {
      const body = await gql<{
        captureSensors: { name: string; online: boolean; interfaces: { name: string; up: boolean; loopback: boolean }[] }[];
      }>('{ captureSensors { name online interfaces { name up loopback } } }');
      const sensors = body.data?.captureSensors ?? [];
      // The namespace has lo only: the sensor lists its interfaces, not the host's.
      return (
        sensors.length === 1 &&
        sensors[0]?.online &&
        sensors[0].interfaces.map((i) => i.name).join() === 'lo' &&
        sensors[0].interfaces[0]?.loopback
      );
    });
  });

  afterAll(async () => {
    await server?.stop();
    netns?.remove();
  });

  it('streams a live capture of known traffic, then stops within a second with flows, stats and series that match', async () => {
    const capture = await start({ interface: 'lo' });
    expect(capture.status).toMatch(/QUEUED|RUNNING/);
    const stats = subscribe<{ trafficStats: Stats }>(
      server.wsClient(),
      `subscription($id: ID!) { trafficStats(captureId: $id) { ${STATS} } }`,
      {
        id: capture.id,
      },
    );
    const events = await listening(capture.id);
    const tcp = JSON.parse(await node(netns, TCP_SCRIPT)) as {
      clientPort: number;
      serverPort: number;
      clientBytes: number;
      serverBytes: number;
      refusedPort: number;
    };
    const sizes = [10, 200, 1000];
    const udpFrom = await udp(netns, 39_100, sizes);
    await run(netns, ['ping', '-c', '2', '-i', '0.2', '-q', '127.0.0.1']);
    await drained(events);

    const stopAt = performance.now();
    const stopped = await gql<{ stopCapture: { capture: Capture } }>(STOP, { id: capture.id });
    const stopMs = performance.now() - stopAt;
    console.info(`stopCapture answered STOPPED in ${stopMs.toFixed(0)} ms`);
    expect(stopped.errors).toBeUndefined();
    expect(stopped.data!.stopCapture.capture.status).toBe('STOPPED');
    expect(stopMs).toBeLessThan(1_000);
    await events.completed;
    // Ended: stopping again is a conflict; a new subscriber gets the empty batch and the end at once.
    const again = await gql(STOP, { id: capture.id });
    expect(again.errors?.map((error) => error.extensions?.code)).toEqual(['CONFLICT']);
    const late = subscribe<Batch>(server.wsClient(), EVENTS, { id: capture.id });
    await late.completed;
    expect(late.results.map((result) => result.trafficEvents)).toEqual([{ captureId: capture.id, packets: [], dropped: 0 }]);

    const packets = all(events.results);
    expect(events.results.every((batch) => batch.trafficEvents.captureId === capture.id && batch.trafficEvents.dropped === 0)).toBe(true);
    // The UDP datagrams, field by field.
    const datagrams = packets.filter((packet) => packet.dstPort === 39_100);
    expect(datagrams.map((packet) => packet.length)).toEqual(sizes.map((size) => size + UDP_OVERHEAD));
    for (const packet of datagrams) {
      expect(packet).toMatchObject({
        src: '127.0.0.1',
        dst: '127.0.0.1',
        srcPort: udpFrom,
        protocol: 'UDP',
        ipProtocol: 17,
        tcpFlags: [],
        vlan: [],
      });
      expect(packet.capturedLength).toBe(packet.length);
      expect([null, 'lo']).toContain(packet.interface);
      expect(new Date(packet.at).getTime()).toBe(Math.floor(Number(BigInt(packet.timeNs) / 1_000_000n)));
      expect(Math.abs(Date.now() - new Date(packet.at).getTime())).toBeLessThan(60_000);
    }
    // The TCP handshake, and the refused SYN answered by RST/ACK.
    const conversation = packets.filter((packet) => packet.srcPort === tcp.serverPort || packet.dstPort === tcp.serverPort);
    expect(conversation[0]).toMatchObject({ protocol: 'TCP', ipProtocol: 6, srcPort: tcp.clientPort, tcpFlags: ['SYN'] });
    expect(conversation[0]?.info).toMatch(/SYN/);
    expect(conversation[1]?.tcpFlags.sort()).toEqual(['ACK', 'SYN']);
    expect(conversation.some((packet) => packet.tcpFlags.includes('FIN'))).toBe(true);
    const refused = packets.filter((packet) => packet.srcPort === tcp.refusedPort || packet.dstPort === tcp.refusedPort);
    expect(refused.map((packet) => packet.tcpFlags.sort().join('+'))).toEqual(['SYN', 'ACK+RST']);
    // The pings.
    const icmp = packets.filter((packet) => packet.protocol === 'ICMP');
    expect(icmp).toHaveLength(4);
    expect(icmp.filter((packet) => /echo request/.test(packet.info))).toHaveLength(2);
    expect(icmp.filter((packet) => /echo reply/.test(packet.info))).toHaveLength(2);
    expect(icmp.every((packet) => packet.length === 98 && packet.ipProtocol === 1)).toBe(true);

    const done = await detail(capture.id);
    expect(done.status).toBe('STOPPED');
    expect(done.error).toBeNull();
    // trafficStats: at once, about once a second while it ran, and last the final counts; then it completed.
    await stats.completed;
    expect(stats.errors).toEqual([]);
    expect(stats.results.length).toBeGreaterThanOrEqual(2);
    expect(stats.results.at(-1)?.trafficStats).toEqual(done.stats);
    const counted = stats.results.map((result) => result.trafficStats.packets);
    expect(counted).toEqual([...counted].sort((a, b) => a - b));
    expect(done.stats.packets).toBe(packets.length);
    expect(done.stats.bytes).toBe(packets.reduce((sum, packet) => sum + packet.length, 0));
    expect(done.stats).toMatchObject({ droppedByKernel: 0, droppedForSubscribers: 0, decodeErrors: 0 });
    expect(done.stats.packetsPerSecond).toBeGreaterThan(0);
    expect(done.stats.bytesPerSecond).toBeGreaterThan(done.stats.packetsPerSecond);
    const byProtocol = Object.fromEntries(done.protocols.map((count) => [count.protocol, count.packets]));
    expect(byProtocol).toEqual({
      TCP: packets.filter((packet) => packet.protocol === 'TCP').length,
      UDP: packets.filter((packet) => packet.protocol === 'UDP').length,
      ICMP: 4,
    });
    expect(done.protocols.map((count) => count.packets)).toEqual([...done.protocols.map((count) => count.packets)].sort((a, b) => b - a));
    expect(done.series.reduce((sum, bucket) => sum + bucket.packets, 0)).toBe(packets.length);
    expect(done.series.reduce((sum, bucket) => sum + bucket.bytes, 0)).toBe(done.stats.bytes);
    expect(done.topTalkers.map((talker) => talker.address)).toEqual(['127.0.0.1']);

    const flows = done.flows.nodes;
    const closed = flows.find((flow) => flow.dstPort === tcp.serverPort);
    expect(closed).toMatchObject({ protocol: 'TCP', state: 'CLOSED', src: '127.0.0.1', srcPort: tcp.clientPort, ipProtocol: 6 });
    expect(closed?.tcpFlags).toEqual(expect.arrayContaining(['SYN', 'ACK', 'FIN', 'PSH']));
    expect(closed!.originatorPackets + closed!.responderPackets).toBe(conversation.length);
    expect(closed!.originatorBytes).toBeGreaterThan(tcp.clientBytes);
    expect(closed!.responderBytes).toBeGreaterThan(tcp.serverBytes);
    expect(closed!.originatorBytes + closed!.responderBytes).toBe(conversation.reduce((sum, packet) => sum + packet.length, 0));
    expect(flows.find((flow) => flow.dstPort === tcp.refusedPort)).toMatchObject({
      protocol: 'TCP',
      state: 'REJECTED',
      srcPort: expect.any(Number),
      originatorPackets: 1,
      responderPackets: 1,
    });
    expect(flows.find((flow) => flow.dstPort === 39_100)).toMatchObject({
      protocol: 'UDP',
      state: 'ACTIVE',
      srcPort: udpFrom,
      originatorPackets: 3,
      originatorBytes: sizes.reduce((sum, size) => sum + size + UDP_OVERHEAD, 0),
      responderPackets: 0,
      responderBytes: 0,
    });
    const pings = flows.filter((flow) => flow.protocol === 'ICMP');
    expect(pings.every((flow) => flow.state === 'ACTIVE')).toBe(true);
    expect(pings.reduce((sum, flow) => sum + flow.originatorPackets + flow.responderPackets, 0)).toBe(4);
    expect(done.flows.totalCount).toBe(flows.length);
  });

  it('keeps to a BPF filter, and refuses filters, interfaces and speeds that do not belong', async () => {
    const capture = await start({ interface: 'lo', filter: 'udp' });
    expect(capture.effectiveFilter).toBe('udp');
    const events = await listening(capture.id);
    await node(netns, TCP_SCRIPT);
    await run(netns, ['ping', '-c', '1', '-q', '127.0.0.1']);
    await drained(events);
    await gql(STOP, { id: capture.id });
    await events.completed;
    const packets = all(events.results);
    expect(packets.length).toBeGreaterThan(1);
    expect(new Set(packets.map((packet) => packet.protocol))).toEqual(new Set(['UDP']));
    expect((await ended(capture.id)).protocols.map((count) => count.protocol)).toEqual(['UDP']);

    const began = performance.now();
    const bad = await startError({ interface: 'lo', filter: 'udp and and port' });
    expect(bad).toEqual([expect.objectContaining({ code: 'BAD_USER_INPUT' })]);
    expect(performance.now() - began).toBeLessThan(2_000);

    // Text shaped like tcpdump's options is a filter, nothing else: refused, or a capture that fails on it; never a file.
    for (const text of [
      `-w /tmp/scanops-x-${process.pid}`,
      `-w/tmp/scanops-x-${process.pid}`,
      `--version -w /tmp/scanops-x-${process.pid}`,
    ]) {
      const body = await gql<{ startCapture: { capture: Capture } }>(START, { input: { interface: 'lo', filter: text } });
      if (body.errors) expect(body.errors.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      else {
        const failed = await ended(body.data!.startCapture.capture.id);
        expect(failed.status).toBe('FAILED');
        expect(failed.error).toMatch(/^filter:/);
      }
    }
    await sleep(300);
    expect(existsSync(`/tmp/scanops-x-${process.pid}`)).toBe(false);

    expect(await startError({ interface: 'eth-nope' })).toEqual([expect.objectContaining({ code: 'BAD_USER_INPUT' })]);
    expect(await startError({ interface: 'lo', speed: 2 })).toEqual([expect.objectContaining({ code: 'BAD_USER_INPUT' })]);
  });

  it('ends at maxPackets with exactly that many, and at maxSeconds after about that long', async () => {
    const counted = await start({ interface: 'lo', maxPackets: 3 });
    const events = subscribe<Batch>(server.wsClient(), EVENTS, { id: counted.id });
    await events.next(1);
    const done = await until(
      'maxPackets',
      async () => {
        await udp(netns, MARK_START, [1, 1]);
        const capture = await detail(counted.id);
        return capture.status !== 'RUNNING' && capture.status !== 'QUEUED' && capture;
      },
      15_000,
      50,
    );
    expect(done.status).toBe('COMPLETED');
    expect(done.stats.packets).toBe(3);
    await events.completed;
    expect(all(events.results)).toHaveLength(3);

    const timed = await start({ interface: 'lo', maxSeconds: 1 });
    const finished = await ended(timed.id, 8_000);
    expect(finished.status).toBe('COMPLETED');
    const seconds = (new Date(finished.endedAt!).getTime() - new Date(finished.startedAt!).getTime()) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(0.9);
    expect(seconds).toBeLessThan(2.5);
  });

  it('saves a live capture as its scan’s evidence: a pcap of the same packets', async () => {
    const scanId = await createScan(server);
    const capture = await start({ interface: 'lo', scanId, saveEvidence: true });
    const events = await listening(capture.id);
    const sizes = [5, 50, 500];
    const from = await udp(netns, 39_200, sizes);
    await drained(events);
    await gql(STOP, { id: capture.id });
    await events.completed;
    const done = await until('the saved evidence', async () => {
      const found = await detail(capture.id);
      return found.savedEvidence && found;
    });
    expect(done.status).toBe('STOPPED');
    const saved = done.savedEvidence!;
    expect(saved.contentType).toBe('application/vnd.tcpdump.pcap');
    const decoded = await pcapOf(saved.url);
    expect(decoded.size).toBe(saved.size);
    const streamed = all(events.results);
    expect(decoded).toHaveLength(done.stats.packets);
    const shape = (packet: { srcPort: number | null; dstPort: number | null; length: number; timeNs: string }) => ({
      srcPort: packet.srcPort,
      dstPort: packet.dstPort,
      length: packet.length,
      timeNs: packet.timeNs,
    });
    expect(decoded.map(shape)).toEqual(streamed.map(shape));
    expect(decoded.filter((packet) => packet.dstPort === 39_200).map(({ timeNs: _, ...rest }) => rest)).toEqual(
      sizes.map((size) => ({ srcPort: from, dstPort: 39_200, length: size + UDP_OVERHEAD })),
    );
  });

  it('drops for a subscriber that does not read, not for one that does, and keeps the server’s memory bounded', async () => {
    const FLOOD_PORT = 39_300;
    const LOW_PORT = 39_301;
    // Rounds of datagrams until the capture decoded this many (the kernel drops what the capture cannot keep up with): past what
    // the slow socket's buffers and its queue of MAX_QUEUED_PACKETS hold, which was 16k to 25k packets.
    const ROUND = 10_000;
    const ENOUGH = 50_000;
    const capture = await start({ interface: 'lo', snapLength: 128, scanId: await createScan(server), saveEvidence: true });
    // The fast one sees only LOW_PORT: its markers go there too (1 and 2 bytes; the stream's datagrams have 20).
    const fast = await listening(capture.id, { port: LOW_PORT }, LOW_PORT);

    // A graphql-transport-ws client by hand, whose socket stops being read once its subscription is live.
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    type Message = { type: string; payload?: { data?: Batch; errors?: unknown } };
    const messages: Message[] = [];
    let live!: () => void;
    const isLive = new Promise<void>((resolve) => (live = resolve));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Message;
      messages.push(message);
      if (message.type === 'connection_ack')
        socket.send(JSON.stringify({ id: 'slow', type: 'subscribe', payload: { query: EVENTS, variables: { id: capture.id } } }));
      if (message.type === 'next') live();
    });
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${server.adminToken}` } })),
    );
    await isLive;
    const raw = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();

    let maxRss = 0;
    const rss = () => {
      const status = existsSync(`/proc/${server.pid}/status`) ? readFileSync(`/proc/${server.pid}/status`, 'utf8') : '';
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      maxRss = Math.max(maxRss, Number(match?.[1] ?? 0) * 1024);
    };
    rss();
    const baseline = maxRss;
    const sampler = setInterval(rss, 100);
    onTestFinished(() => {
      clearInterval(sampler);
      socket.close();
    });
    const lowSent = 30;
    const flood = async () => {
      for (let rounds = 1; ; rounds++) {
        await udp(netns, FLOOD_PORT, [16], { repeat: ROUND });
        if ((await detail(capture.id)).stats.packets >= ENOUGH || rounds === 30) return rounds;
      }
    };
    const [rounds, lowFrom] = await Promise.all([flood(), udp(netns, LOW_PORT, [20], { gap: 50, repeat: lowSent })]);
    await drained(fast, LOW_PORT);
    await sleep(1_500);
    raw.resume();
    const slowDrops = () => messages.some((m) => (m.payload?.data?.trafficEvents.dropped ?? 0) > 0);
    await until('a batch of the slow subscriber that counts drops', async () => slowDrops(), 10_000);
    await sleep(1_000);
    clearInterval(sampler);
    rss();

    const slowBatches = messages.filter((m) => m.type === 'next').map((m) => m.payload?.data);
    const slowDropped = slowBatches.reduce((sum, batch) => sum + (batch?.trafficEvents.dropped ?? 0), 0);
    console.info(
      `slow subscriber: ${slowBatches.length} batches, ${slowDropped} dropped; server RSS at most ${(maxRss / 2 ** 20).toFixed(0)} MiB (${(baseline / 2 ** 20).toFixed(0)} MiB before)`,
    );
    expect(slowDropped).toBeGreaterThan(0);

    const low = all(fast.results).filter((packet) => packet.dstPort === LOW_PORT && packet.length === 20 + UDP_OVERHEAD);
    expect(all(fast.results).every((packet) => packet.dstPort === LOW_PORT)).toBe(true);
    expect(fast.results.every((batch) => batch.trafficEvents.dropped === 0)).toBe(true);
    expect(low.every((packet) => packet.srcPort === lowFrom)).toBe(true);

    await gql(STOP, { id: capture.id });
    await fast.completed;
    // The slow one gets what it still has queued, then the end too.
    await until('the slow subscriber to complete', async () => messages.some((m) => m.type === 'complete'), 10_000);
    expect(messages.filter((m) => m.type === 'error')).toEqual([]);
    socket.close();
    const done = await until('the drops counted and the pcap saved', async () => {
      const found = await detail(capture.id);
      return found.stats.droppedForSubscribers > 0 && found.savedEvidence && found;
    });
    console.info(`capture stats after ${rounds} rounds of ${ROUND} datagrams: ${JSON.stringify(done.stats)}`);
    // What the capture saw is its pcap (the kernel may drop some of the flood before tcpdump): the fast subscriber got all of it on its port.
    const saved = await pcapOf(done.savedEvidence!.url);
    expect(saved).toHaveLength(done.stats.packets);
    const seen = saved.filter((packet) => packet.dstPort === LOW_PORT && packet.length === 20 + UDP_OVERHEAD);
    expect(low.map((packet) => packet.timeNs)).toEqual(seen.map((packet) => packet.timeNs));
    if (done.stats.droppedByKernel === 0) expect(low).toHaveLength(lowSent);
    // Every packet the slow one subscribed in time for came to it or was counted dropped, and its drops are the capture's.
    const slowEnd = messages.flatMap((m) => (m.type === 'next' && m.payload?.data ? [m.payload.data.trafficEvents] : []));
    const slowAllDropped = slowEnd.reduce((sum, batch) => sum + batch.dropped, 0);
    const slowReceived = slowEnd.reduce((sum, batch) => sum + batch.packets.length, 0);
    const slowFirst = slowEnd.flatMap((batch) => batch.packets)[0];
    const slowDue = saved.filter((packet) => BigInt(packet.timeNs) >= BigInt(slowFirst?.timeNs ?? '0')).length;
    expect(slowReceived + slowAllDropped).toBeLessThanOrEqual(done.stats.packets);
    expect(slowReceived + slowAllDropped).toBeGreaterThanOrEqual(slowDue);
    expect(done.stats.droppedForSubscribers).toBe(slowAllDropped);
    expect(done.stats.packets + done.stats.droppedByKernel).toBeGreaterThanOrEqual(rounds * ROUND);
    expect(done.stats.packets).toBeGreaterThanOrEqual(ENOUGH);
    expect(maxRss).toBeGreaterThan(0);
    expect(maxRss).toBeLessThan(400 * 2 ** 20);
  }, 45_000);

  it('keeps an ANALYST’s live capture to their allowed networks', async () => {
    const analyst = await server.createUser('ANALYST');
    const filtered = await start({ interface: 'lo', filter: 'udp' }, analyst.headers);
    expect(filtered.filter).toBe('udp');
    expect(filtered.effectiveFilter).toMatch(/^\(udp\) and \((net \S+)( or net \S+)*\)$/);
    expect(filtered.effectiveFilter).toContain('net 127.0.0.0/8');
    expect(filtered.effectiveFilter).toContain('net ::1/128');
    const whole = await start({ interface: 'lo' }, analyst.headers);
    expect(whole.filter).toBeNull();
    expect(whole.effectiveFilter?.split(' or ').sort()).toEqual(['net 127.0.0.0/8', 'net ::1/128'].sort());
    // Traffic outside the allowed networks (an address of the namespace's lo that no scope has) never reaches the analyst.
    execFileSync('ip', ['-n', netns.name, 'addr', 'add', '10.99.0.1/32', 'dev', 'lo']);
    const events = await listening(whole.id, undefined, MARK_START, analyst.token);
    await udp(netns, 39_400, [30, 31], { host: '10.99.0.1' });
    await udp(netns, 39_401, [40]);
    await drained(events);
    const seen = all(events.results);
    expect(seen.filter((packet) => packet.dstPort === 39_401)).toHaveLength(1);
    expect(seen.filter((packet) => packet.dstPort === 39_400 || packet.src === '10.99.0.1')).toEqual([]);
    expect(seen.every((packet) => packet.src === '127.0.0.1' && packet.dst === '127.0.0.1')).toBe(true);
    for (const capture of [filtered, whole]) {
      const body = await gql<{ stopCapture: { capture: Capture } }>(STOP, { id: capture.id }, analyst.headers);
      expect(body.errors).toBeUndefined();
    }
    expect((await ended(filtered.id)).status).toBe('STOPPED');
    expect((await ended(whole.id)).status).toBe('STOPPED');
  });
});
