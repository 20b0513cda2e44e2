import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrafficPacket } from '../../src/traffic/capture/capture.topics.ts';
import {
  arp,
  type CaptureRecord,
  concat,
  ethernet,
  icmp,
  ipv4,
  ipv6,
  PcapngWriter,
  pcap,
  pcapHeader,
  pcapRecord,
  TCP_FLAGS,
  tcp,
  udp,
} from '../helpers/captures.ts';
import { createScan, SAMPLES, uploaded } from '../helpers/evidence.ts';
import { mixedPcap } from '../helpers/mixed-traffic.ts';
import { firstOutcome, type ServerProcess, startServer, subscribe, type TestUser } from '../helpers/server.ts';

/**
 * Replays of recorded captures, end to end against the server process (its
 * in-process worker): the packets over graphql-ws, the stats, the status
 * changes, and what the capture keeps (flows, protocols, talkers, series).
 *
 * The worker runs one capture at a time (CAPTURE_CONCURRENCY=1), so a capture
 * started while a slow one runs stays QUEUED: its subscribers are live before
 * its first packet, however fast the replay then goes.
 */

const MAX_PACKETS = 500;

let server: ServerProcess;
let client: Client;
let analyst: TestUser;
let other: TestUser;
let viewer: TestUser;
let scanId: string;
let knownId: string;
let slowId: string;
let knownCaptureValue: string;
let updates: ReturnType<typeof subscribe<{ captureUpdated: { id: string; status: string; error: string | null } }>>;

/** A packet as `trafficEvents` sends it: the API's shape of the worker's `TrafficPacket`. */
type Packet = Omit<TrafficPacket, 'srcV4' | 'dstV4'>;
type Batch = { captureId: string; dropped: number; packets: Packet[] };
type Stats = { packets: number; bytes: number; decodeErrors: number; droppedForSubscribers: number };
type FlowNode = {
  id: string;
  protocol: string;
  ipProtocol: number | null;
  src: string;
  srcPort: number | null;
  dst: string;
  dstPort: number | null;
  firstSeen: string;
  lastSeen: string;
  originatorPackets: number;
  originatorBytes: number;
  responderPackets: number;
  responderBytes: number;
  state: string;
  tcpFlags: string[];
};
type CaptureNode = { id: string; status: string; error: string | null; [key: string]: unknown };

// ——— The known capture ———

const A = '10.0.0.1';
const B = '10.0.0.2';
const DNS = '10.0.0.53';
const PING = '8.8.8.8';
const A6 = '2001:db8::1';
const B6 = '2001:db8::2';
const MAC_A = '02:00:00:00:00:01';
const T0 = 1_700_000_000; // 20 s into a minute
const { FIN, SYN, RST, PSH, ACK } = TCP_FLAGS;
const FLAG_NAMES = Object.keys(TCP_FLAGS) as (keyof typeof TCP_FLAGS)[];
const flagNames = (bits: number) => FLAG_NAMES.filter((name) => bits & TCP_FLAGS[name]);
const text = (value: string) => Buffer.from(value);

type Known = { record: CaptureRecord; expect: Omit<Packet, 'at' | 'timeNs' | 'length' | 'capturedLength' | 'interface'> };

function tcp4(
  at: [number, number],
  src: string,
  dst: string,
  sp: number,
  dp: number,
  flags: number,
  seq: number,
  ack = 0,
  body = '',
): Known {
  const payload = text(body);
  const frame = ethernet({
    type: 0x0800,
    payload: ipv4({ src, dst, protocol: 6, payload: tcp({ srcPort: sp, dstPort: dp, flags, seq, ack, payload }) }),
  });
  const ackText = flags & ACK ? ` ack=${ack}` : '';
  return {
    record: { frame, seconds: at[0], fraction: at[1] },
    expect: {
      src,
      dst,
      srcPort: sp,
      dstPort: dp,
      protocol: 'TCP',
      ipProtocol: 6,
      tcpFlags: flagNames(flags),
      vlan: [],
      info: `${flagNames(flags).join(',')} seq=${seq}${ackText} win=65535 len=${payload.length}`,
    },
  };
}

const t = (offsetMs: number, micros = 0): [number, number] => [T0 + Math.floor(offsetMs / 1000), (offsetMs % 1000) * 1000 + micros];

const KNOWN: Known[] = [
  // A TCP handshake, a request and an answer, FIN both ways.
  tcp4(t(0, 1), A, B, 40000, 80, SYN, 1000),
  tcp4(t(10, 2), B, A, 80, 40000, SYN | ACK, 5000, 1001),
  tcp4(t(20, 3), A, B, 40000, 80, ACK, 1001, 5001),
  tcp4(t(30, 4), A, B, 40000, 80, PSH | ACK, 1001, 5001, 'GET / HTTP/1.0\r\n\r\n'),
  tcp4(t(40, 5), B, A, 80, 40000, PSH | ACK, 5001, 1019, 'HTTP/1.0 200 OK\r\n\r\nhello'),
  tcp4(t(50, 6), A, B, 40000, 80, FIN | ACK, 1019, 5025),
  tcp4(t(60, 7), B, A, 80, 40000, FIN | ACK, 5025, 1020),
  tcp4(t(70, 8), A, B, 40000, 80, ACK, 1020, 5026),
  // A refused connection.
  tcp4(t(1200), A, B, 40001, 81, SYN, 7000),
  tcp4(t(1210), B, A, 81, 40001, RST | ACK, 0, 7001),
  // UDP both ways, the question on VLAN 100.
  {
    record: {
      frame: ethernet({
        vlans: [100],
        type: 0x0800,
        payload: ipv4({ src: A, dst: DNS, protocol: 17, payload: udp(5353, 53, text('question')) }),
      }),
      seconds: t(2000)[0],
      fraction: t(2000)[1],
    },
    expect: { src: A, dst: DNS, srcPort: 5353, dstPort: 53, protocol: 'UDP', ipProtocol: 17, tcpFlags: [], vlan: [100], info: 'len=8' },
  },
  {
    record: {
      frame: ethernet({ type: 0x0800, payload: ipv4({ src: DNS, dst: A, protocol: 17, payload: udp(53, 5353, text('the answer')) }) }),
      seconds: t(2100)[0],
      fraction: t(2100)[1],
    },
    expect: { src: DNS, dst: A, srcPort: 53, dstPort: 5353, protocol: 'UDP', ipProtocol: 17, tcpFlags: [], vlan: [], info: 'len=10' },
  },
  // An ICMP echo and its reply.
  {
    record: {
      frame: ethernet({ type: 0x0800, payload: ipv4({ src: A, dst: PING, protocol: 1, payload: icmp(8, 0, 7, 1, text('ping')) }) }),
      seconds: t(3000)[0],
      fraction: t(3000)[1],
    },
    expect: {
      src: A,
      dst: PING,
      srcPort: null,
      dstPort: null,
      protocol: 'ICMP',
      ipProtocol: 1,
      tcpFlags: [],
      vlan: [],
      info: 'echo request id=7 seq=1',
    },
  },
  {
    record: {
      frame: ethernet({ type: 0x0800, payload: ipv4({ src: PING, dst: A, protocol: 1, payload: icmp(0, 0, 7, 1, text('ping')) }) }),
      seconds: t(3020)[0],
      fraction: t(3020)[1],
    },
    expect: {
      src: PING,
      dst: A,
      srcPort: null,
      dstPort: null,
      protocol: 'ICMP',
      ipProtocol: 1,
      tcpFlags: [],
      vlan: [],
      info: 'echo reply id=7 seq=1',
    },
  },
  // ARP.
  {
    record: {
      frame: ethernet({
        dst: 'ff:ff:ff:ff:ff:ff',
        type: 0x0806,
        payload: arp({ operation: 1, senderMac: MAC_A, senderIp: A, targetIp: B }),
      }),
      seconds: t(4000)[0],
      fraction: t(4000)[1],
    },
    expect: {
      src: A,
      dst: B,
      srcPort: null,
      dstPort: null,
      protocol: 'ARP',
      ipProtocol: null,
      tcpFlags: [],
      vlan: [],
      info: `who-has ${B} tell ${A} (${MAC_A})`,
    },
  },
  // IPv6, a minute on: an unanswered SYN, and an echo request.
  {
    record: {
      frame: ethernet({
        type: 0x86dd,
        payload: ipv6({ src: A6, dst: B6, next: 6, payload: tcp({ srcPort: 50000, dstPort: 443, flags: SYN, seq: 42 }) }),
      }),
      seconds: t(61_000)[0],
      fraction: t(61_000)[1],
    },
    expect: {
      src: A6,
      dst: B6,
      srcPort: 50000,
      dstPort: 443,
      protocol: 'TCP',
      ipProtocol: 6,
      tcpFlags: ['SYN'],
      vlan: [],
      info: 'SYN seq=42 win=65535 len=0',
    },
  },
  {
    record: {
      frame: ethernet({ type: 0x86dd, payload: ipv6({ src: A6, dst: B6, next: 58, payload: icmp(128, 0, 9, 2) }) }),
      seconds: t(61_500)[0],
      fraction: t(61_500)[1],
    },
    expect: {
      src: A6,
      dst: B6,
      srcPort: null,
      dstPort: null,
      protocol: 'ICMPV6',
      ipProtocol: 58,
      tcpFlags: [],
      vlan: [],
      info: 'echo request id=9 seq=2',
    },
  },
];

const KNOWN_PCAP = pcap(KNOWN.map((known) => known.record));
const EXPECTED: Packet[] = KNOWN.map(({ record, expect: fields }) => ({
  ...fields,
  at: new Date((record.seconds as number) * 1000 + Math.floor((record.fraction as number) / 1000)).toISOString(),
  timeNs: (BigInt(record.seconds as number) * 1_000_000_000n + BigInt(record.fraction as number) * 1000n).toString(),
  interface: null,
  length: record.frame.length,
  capturedLength: record.frame.length,
}));
const TOTAL_BYTES = EXPECTED.reduce((sum, packet) => sum + packet.length, 0);
const lengthOf = (...indexes: number[]) => indexes.reduce((sum, index) => sum + (EXPECTED[index]?.length ?? 0), 0);
const iso = (index: number) => EXPECTED[index]?.at;

/** The flows the known capture makes, oldest first. */
const EXPECTED_FLOWS = [
  {
    protocol: 'TCP',
    src: A,
    srcPort: 40000,
    dst: B,
    dstPort: 80,
    state: 'CLOSED',
    originatorPackets: 5,
    originatorBytes: lengthOf(0, 2, 3, 5, 7),
    responderPackets: 3,
    responderBytes: lengthOf(1, 4, 6),
    tcpFlags: ['FIN', 'SYN', 'PSH', 'ACK'],
    firstSeen: iso(0),
    lastSeen: iso(7),
  },
  {
    protocol: 'TCP',
    src: A,
    srcPort: 40001,
    dst: B,
    dstPort: 81,
    state: 'REJECTED',
    originatorPackets: 1,
    originatorBytes: lengthOf(8),
    responderPackets: 1,
    responderBytes: lengthOf(9),
    tcpFlags: ['SYN', 'RST', 'ACK'],
  },
  {
    protocol: 'UDP',
    src: A,
    srcPort: 5353,
    dst: DNS,
    dstPort: 53,
    state: 'ACTIVE',
    originatorPackets: 1,
    originatorBytes: lengthOf(10),
    responderPackets: 1,
    responderBytes: lengthOf(11),
    tcpFlags: [],
  },
  {
    protocol: 'ICMP',
    src: A,
    dst: PING,
    state: 'ACTIVE',
    originatorPackets: 1,
    originatorBytes: lengthOf(12),
    responderPackets: 1,
    responderBytes: lengthOf(13),
    tcpFlags: [],
  },
  {
    protocol: 'TCP',
    src: A6,
    srcPort: 50000,
    dst: B6,
    dstPort: 443,
    state: 'ATTEMPTED',
    originatorPackets: 1,
    originatorBytes: lengthOf(15),
    responderPackets: 0,
    responderBytes: 0,
    tcpFlags: ['SYN'],
  },
  {
    protocol: 'ICMPV6',
    src: A6,
    dst: B6,
    state: 'ACTIVE',
    originatorPackets: 1,
    originatorBytes: lengthOf(16),
    responderPackets: 0,
    responderBytes: 0,
    tcpFlags: [],
  },
];

/** The same packets as pcapng, microsecond timestamps on a named interface. */
function knownPcapng(): Uint8Array {
  const writer = new PcapngWriter().section().iface({ name: 'eth7', tsresol: 6 });
  for (const { record } of KNOWN) {
    writer.packet(0, BigInt(record.seconds as number) * 1_000_000n + BigInt(record.fraction as number), record.frame);
  }
  return writer.bytes();
}

/** Two packets 10 s apart: at speed 0.01 the second is 1,000 s away, so it runs until stopped. */
const SLOW_PCAP = pcap([
  { frame: KNOWN[0]?.record.frame as Uint8Array, seconds: T0 },
  { frame: KNOWN[1]?.record.frame as Uint8Array, seconds: T0 + 10 },
]);

/** Five packets over one second of capture time. */
const SECOND_PCAP = pcap(
  [0, 250_000, 500_000, 750_000, 999_000].map((fraction) => ({ frame: KNOWN[10]?.record.frame as Uint8Array, seconds: T0, fraction })),
);

// ——— Queries ———

const START = `mutation($input: StartCaptureInput!) {
  startCapture(input: $input) { capture { id status speed maxPackets interface sensor { id } sourceEvidence { id } scan { id } owner { id } } }
}`;
const STOP = 'mutation($id: ID!) { stopCapture(input: { id: $id }) { capture { id status endedAt } } }';
const TRAFFIC = `subscription($captureId: ID!, $filter: TrafficFilter) {
  trafficEvents(captureId: $captureId, filter: $filter) {
    captureId dropped
    packets { at timeNs interface src dst srcPort dstPort protocol ipProtocol length capturedLength tcpFlags vlan info }
  }
}`;
const STATS = `subscription($captureId: ID!) {
  trafficStats(captureId: $captureId) { packets bytes droppedByKernel droppedForSubscribers decodeErrors packetsPerSecond bytesPerSecond }
}`;
const FLOW_FIELDS = `id protocol ipProtocol src srcPort dst dstPort firstSeen lastSeen
  originatorPackets originatorBytes responderPackets responderBytes state tcpFlags`;
const CAPTURE = `query($id: ID!) {
  capture(id: $id) {
    id status error startedAt endedAt speed
    stats { packets bytes droppedByKernel droppedForSubscribers decodeErrors packetsPerSecond bytesPerSecond }
    protocols { protocol packets bytes }
    topTalkers(first: 20) { address packets bytes packetsSent bytesSent packetsReceived bytesReceived }
    perSecond: series(bucketSeconds: 1) { at packets bytes }
    perMinute: series(bucketSeconds: 60) { at packets bytes }
    flows(first: 50, orderBy: { field: FIRST_SEEN, direction: ASC }) { totalCount nodes { ${FLOW_FIELDS} } }
  }
}`;
const FLOWS = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $filter: FlowFilter, $orderBy: FlowOrder) {
  capture(id: $id) {
    flows(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { ${FLOW_FIELDS} } }
    }
  }
}`;

type Body<T> = { data?: T | null; errors?: { message: string; extensions?: { code?: unknown } }[] };

async function gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, user?: TestUser): Promise<Body<T>> {
  return (await server.graphql<T>(query, variables, user?.headers)).body as Body<T>;
}

const codes = (body: Body<unknown>) => (body.errors ?? []).map((error) => error.extensions?.code);

async function startReplay(input: Record<string, unknown>, user?: TestUser): Promise<CaptureNode> {
  const body = await gql<{ startCapture: { capture: CaptureNode } }>(START, { input }, user);
  if (!body.data?.startCapture) throw new Error(`startCapture failed: ${JSON.stringify(body.errors)}`);
  return body.data.startCapture.capture;
}

async function captureOf(id: string, user?: TestUser): Promise<CaptureNode> {
  const body = await gql<{ capture: CaptureNode }>(CAPTURE, { id }, user);
  if (!body.data?.capture) throw new Error(`no capture ${id}: ${JSON.stringify(body.errors)}`);
  return body.data.capture;
}

async function waitFor(id: string, statuses: string[], timeoutMs = 10_000): Promise<CaptureNode> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await gql<{ capture: CaptureNode }>('query($id: ID!) { capture(id: $id) { id status error startedAt endedAt } }', { id });
    const capture = body.data?.capture;
    if (capture && statuses.includes(capture.status)) return capture;
    if (Date.now() > deadline) throw new Error(`capture ${id} is ${capture?.status}, not ${statuses.join('/')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Until `done` resolves or `ms` pass: a subscription that never completes fails the test rather than hanging it. */
async function within<T>(done: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Replays `input` with subscribers live before its first packet: a slow
 * capture holds the worker while this one waits QUEUED, its subscriptions
 * answer (the empty batch, the first stats), then the slow one is stopped.
 */
async function watchedReplay(input: Record<string, unknown>, filters: (Record<string, unknown> | null)[] = [null]) {
  const blocker = await startReplay({ evidenceId: slowId, speed: 0.01 });
  await waitFor(blocker.id, ['RUNNING']);
  const capture = await startReplay(input);
  expect(capture.status).toBe('QUEUED');
  const events = filters.map((filter) => subscribe<{ trafficEvents: Batch }>(client, TRAFFIC, { captureId: capture.id, filter }));
  const stats = subscribe<{ trafficStats: Stats }>(client, STATS, { captureId: capture.id });
  await Promise.all([...events.map((sub) => sub.next(1)), stats.next(1)]);
  const stopAsked = Date.now();
  const stopped = await gql<{ stopCapture: { capture: CaptureNode } }>(STOP, { id: blocker.id });
  const stopMs = Date.now() - stopAsked;
  await within(Promise.all([...events.map((sub) => sub.completed), stats.completed]), 15_000, 'the replay’s subscriptions');
  for (const sub of [...events, stats]) expect(sub.errors).toEqual([]);
  return {
    capture,
    blocker: { id: blocker.id, stopped: stopped.data?.stopCapture.capture, stopMs },
    batches: events.map((sub) => sub.results.map((result) => result.trafficEvents)),
    stats: stats.results.map((result) => result.trafficStats),
  };
}

const packetsOf = (batches: Batch[]) => batches.flatMap((batch) => batch.packets);
const stripIds = (flows: FlowNode[]) => flows.map(({ id: _id, ...flow }) => flow);

beforeAll(async () => {
  server = await startServer({ env: { CAPTURE_MAX_PACKETS: String(MAX_PACKETS), CAPTURE_CONCURRENCY: '1' } });
  [analyst, other, viewer] = await Promise.all([server.createUser('ANALYST'), server.createUser('ANALYST'), server.createUser('VIEWER')]);
  client = server.wsClient();
  updates = subscribe(client, 'subscription { captureUpdated { id status error } }');
  scanId = await createScan(server);
  const [known, slow] = await Promise.all([
    uploaded(server, scanId, { filename: 'known.pcap', content: KNOWN_PCAP }),
    uploaded(server, scanId, { filename: 'slow.pcap', content: SLOW_PCAP }),
  ]);
  expect(known.contentType).toBe('application/vnd.tcpdump.pcap');
  knownId = known.id;
  slowId = slow.id;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('replaying a known pcap at speed 0', () => {
  let watched: Awaited<ReturnType<typeof watchedReplay>>;
  let captureId: string;

  beforeAll(async () => {
    watched = await watchedReplay({ evidenceId: knownId, scanId, speed: 0 }, [
      null,
      { protocol: 'UDP' },
      { host: B },
      { host: '2001:db8::/64' },
      { port: 80 },
      { protocol: 'TCP', host: '10.0.0.0/24', port: 81 },
      { host: '192.0.2.0/24' },
    ]);
    captureId = watched.capture.id;
    knownCaptureValue = captureId;
  }, 30_000);

  it('streams every packet exactly once, in order, with the file’s fields and times', () => {
    const [all = []] = watched.batches;
    expect(all[0]).toEqual({ captureId, dropped: 0, packets: [] });
    for (const batch of all) expect(batch).toMatchObject({ captureId, dropped: 0 });
    expect(packetsOf(all)).toEqual(EXPECTED);
  });

  it('filters trafficEvents by protocol, host (address or CIDR) and port', () => {
    const [, udpOnly, hostB, v6, port80, refused, none] = watched.batches.map((batches) => packetsOf(batches));
    const pick = (test: (packet: Packet) => boolean) => EXPECTED.filter(test);
    expect(udpOnly).toEqual(pick((p) => p.protocol === 'UDP'));
    expect(hostB).toEqual(pick((p) => p.src === B || p.dst === B));
    expect(hostB).toHaveLength(11); // the two TCP conversations and the ARP question
    expect(v6).toEqual(EXPECTED.slice(15));
    expect(port80).toEqual(EXPECTED.slice(0, 8));
    expect(refused).toEqual(EXPECTED.slice(8, 10));
    expect(none).toEqual([]);
  });

  it('trafficStats starts at once and ends with every packet and byte', () => {
    const first = watched.stats[0];
    const last = watched.stats.at(-1);
    expect(first).toMatchObject({ packets: 0, bytes: 0 });
    expect(last).toMatchObject({
      packets: EXPECTED.length,
      bytes: TOTAL_BYTES,
      decodeErrors: 0,
      droppedForSubscribers: 0,
      droppedByKernel: 0,
    });
    const counts = watched.stats.map((stats) => stats.packets);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it('captureUpdated showed it QUEUED, RUNNING, COMPLETED', () => {
    const mine = updates.results.map((result) => result.captureUpdated).filter((capture) => capture.id === captureId);
    expect(mine.map((capture) => capture.status)).toEqual(['QUEUED', 'RUNNING', 'COMPLETED']);
    const blocker = updates.results.map((result) => result.captureUpdated).filter((capture) => capture.id === watched.blocker.id);
    expect(blocker.map((capture) => capture.status)).toEqual(['QUEUED', 'RUNNING', 'STOPPED']);
  });

  it('stopCapture on a slow replay answers STOPPED within a second or so', () => {
    expect(watched.blocker.stopped?.status).toBe('STOPPED');
    expect(watched.blocker.stopMs).toBeLessThan(1_500);
  });

  it('keeps the right stats, protocols, talkers, series and flows', async () => {
    const capture = (await captureOf(captureId)) as CaptureNode & {
      stats: Stats;
      protocols: { protocol: string; packets: number; bytes: number }[];
      topTalkers: {
        address: string;
        packets: number;
        bytes: number;
        packetsSent: number;
        bytesSent: number;
        packetsReceived: number;
        bytesReceived: number;
      }[];
      perSecond: { at: string; packets: number; bytes: number }[];
      perMinute: { at: string; packets: number; bytes: number }[];
      flows: { totalCount: number; nodes: FlowNode[] };
    };
    expect(capture).toMatchObject({ status: 'COMPLETED', error: null, speed: 0 });
    expect(capture.stats).toMatchObject({ packets: EXPECTED.length, bytes: TOTAL_BYTES, decodeErrors: 0 });

    const byProtocol = new Map<string, { packets: number; bytes: number }>();
    for (const p of EXPECTED) {
      const entry = byProtocol.get(p.protocol) ?? { packets: 0, bytes: 0 };
      byProtocol.set(p.protocol, { packets: entry.packets + 1, bytes: entry.bytes + p.length });
    }
    expect([...capture.protocols].sort((a, b) => a.protocol.localeCompare(b.protocol))).toEqual(
      [...byProtocol].map(([protocol, counts]) => ({ protocol, ...counts })).sort((a, b) => a.protocol.localeCompare(b.protocol)),
    );
    const packetCounts = capture.protocols.map((entry) => entry.packets);
    expect(packetCounts).toEqual([...packetCounts].sort((a, b) => b - a));

    const talkers = new Map<string, { packetsSent: number; bytesSent: number; packetsReceived: number; bytesReceived: number }>();
    const talker = (address: string) => {
      const found = talkers.get(address) ?? { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0 };
      talkers.set(address, found);
      return found;
    };
    for (const p of EXPECTED) {
      talker(p.src).packetsSent++;
      talker(p.src).bytesSent += p.length;
      talker(p.dst).packetsReceived++;
      talker(p.dst).bytesReceived += p.length;
    }
    const expectedTalkers = [...talkers].map(([address, counts]) => ({
      address,
      packets: counts.packetsSent + counts.packetsReceived,
      bytes: counts.bytesSent + counts.bytesReceived,
      ...counts,
    }));
    const byAddress = (a: { address: string }, b: { address: string }) => a.address.localeCompare(b.address);
    expect([...capture.topTalkers].sort(byAddress)).toEqual(expectedTalkers.sort(byAddress));
    const talkerBytes = capture.topTalkers.map((entry) => entry.bytes);
    expect(talkerBytes).toEqual([...talkerBytes].sort((a, b) => b - a));
    expect(capture.topTalkers[0]?.address).toBe(A);

    const buckets = (seconds: number) => {
      const map = new Map<string, { packets: number; bytes: number }>();
      for (const p of EXPECTED) {
        const at = new Date(Math.floor(Date.parse(p.at) / 1000 / seconds) * seconds * 1000).toISOString();
        const entry = map.get(at) ?? { packets: 0, bytes: 0 };
        map.set(at, { packets: entry.packets + 1, bytes: entry.bytes + p.length });
      }
      return [...map].map(([at, counts]) => ({ at, ...counts }));
    };
    const nonEmpty = (series: { packets: number }[]) => series.filter((bucket) => bucket.packets > 0);
    expect(nonEmpty(capture.perSecond)).toEqual(buckets(1));
    expect(nonEmpty(capture.perMinute)).toEqual(buckets(60));
    expect(buckets(60)).toHaveLength(2);
    const times = capture.perSecond.map((bucket) => bucket.at);
    expect(times).toEqual([...times].sort());

    expect(capture.flows.totalCount).toBe(EXPECTED_FLOWS.length);
    expect(capture.flows.nodes).toMatchObject(EXPECTED_FLOWS);
  });

  it('filters, orders and pages the flows', async () => {
    const flows = async (variables: Record<string, unknown>, user?: TestUser) => {
      const body = await gql<{
        capture: { flows: { totalCount: number; pageInfo: Record<string, unknown>; edges: { cursor: string; node: FlowNode }[] } };
      }>(FLOWS, { id: captureId, ...variables }, user);
      if (!body.data?.capture) throw new Error(JSON.stringify(body.errors));
      return body.data.capture.flows;
    };
    const key = (flow: { src: string; srcPort?: number | null; protocol: string }) => `${flow.protocol} ${flow.src}:${flow.srcPort ?? ''}`;
    const keys = (connection: { edges: { node: FlowNode }[] }) => connection.edges.map((edge) => key(edge.node));
    const expectedKeys = (test: (flow: (typeof EXPECTED_FLOWS)[number]) => boolean) => EXPECTED_FLOWS.filter(test).map(key);
    const asc = { field: 'FIRST_SEEN', direction: 'ASC' };

    expect(keys(await flows({ filter: { protocol: 'TCP' }, orderBy: asc }))).toEqual(expectedKeys((f) => f.protocol === 'TCP'));
    expect(keys(await flows({ filter: { state: 'CLOSED' } }))).toEqual(expectedKeys((f) => f.state === 'CLOSED'));
    expect(keys(await flows({ filter: { state: 'REJECTED' } }))).toEqual(expectedKeys((f) => f.state === 'REJECTED'));
    expect(keys(await flows({ filter: { state: 'ACTIVE' }, orderBy: asc }))).toEqual(expectedKeys((f) => f.state === 'ACTIVE'));
    expect(keys(await flows({ filter: { host: B }, orderBy: asc }))).toEqual(expectedKeys((f) => f.dst === B));
    expect(keys(await flows({ filter: { host: '10.0.0.0/28' }, orderBy: asc }))).toEqual(expectedKeys((f) => f.src === A));
    expect(keys(await flows({ filter: { host: '2001:db8::/32' }, orderBy: asc }))).toEqual(expectedKeys((f) => f.src === A6));
    expect(keys(await flows({ filter: { port: 53 } }))).toEqual(expectedKeys((f) => f.dstPort === 53));
    expect(keys(await flows({ filter: { protocol: 'TCP', state: 'ATTEMPTED', host: B6, port: 443 } }))).toEqual(
      expectedKeys((f) => f.state === 'ATTEMPTED'),
    );
    expect((await flows({ filter: { host: '192.0.2.1' } })).totalCount).toBe(0);

    const bytes = (f: (typeof EXPECTED_FLOWS)[number]) => f.originatorBytes + f.responderBytes;
    const packets = (f: (typeof EXPECTED_FLOWS)[number]) => f.originatorPackets + f.responderPackets;
    const byBytes = await flows({ orderBy: { field: 'BYTES', direction: 'DESC' } });
    expect(byBytes.edges.map((edge) => edge.node.originatorBytes + edge.node.responderBytes)).toEqual(
      EXPECTED_FLOWS.map(bytes).sort((a, b) => b - a),
    );
    expect(key(byBytes.edges[0]?.node as FlowNode)).toBe(key(EXPECTED_FLOWS[0] as (typeof EXPECTED_FLOWS)[number]));
    const byPackets = await flows({ orderBy: { field: 'PACKETS', direction: 'ASC' } });
    expect(byPackets.edges.map((edge) => edge.node.originatorPackets + edge.node.responderPackets)).toEqual(
      EXPECTED_FLOWS.map(packets).sort((a, b) => a - b),
    );
    const byLast = await flows({ orderBy: { field: 'LAST_SEEN', direction: 'DESC' } });
    const lasts = byLast.edges.map((edge) => edge.node.lastSeen);
    expect(lasts).toEqual([...lasts].sort().reverse());

    // Forward, two at a time, to the end.
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const connection = await flows({ first: 2, after, orderBy: asc });
      expect(connection.totalCount).toBe(EXPECTED_FLOWS.length);
      seen.push(...keys(connection));
      after = connection.pageInfo.endCursor as string;
      if (!connection.pageInfo.hasNextPage) break;
    }
    expect(seen).toEqual(EXPECTED_FLOWS.map(key));
    // Backward from the end.
    const lastTwo = await flows({ last: 2, orderBy: asc });
    expect(keys(lastTwo)).toEqual(EXPECTED_FLOWS.slice(-2).map(key));
    expect(lastTwo.pageInfo).toMatchObject({ hasPreviousPage: true });
    const before = await flows({ last: 3, before: lastTwo.pageInfo.startCursor, orderBy: asc });
    expect(keys(before)).toEqual(EXPECTED_FLOWS.slice(-5, -2).map(key));
    // A filtered total, across pages.
    const tcpPage = await flows({ first: 1, filter: { protocol: 'TCP' } });
    expect(tcpPage).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });

    // A cursor of another order.
    const bytesCursor = byBytes.edges[0]?.cursor;
    const refused = await gql(FLOWS, { id: captureId, first: 2, after: bytesCursor, orderBy: asc });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    const garbage = await gql(FLOWS, { id: captureId, first: 2, after: 'not a cursor' });
    expect(codes(garbage)).toEqual(['BAD_USER_INPUT']);
    for (const filter of [{ host: 'not-an-address' }, { port: 70_000 }, { port: -1 }]) {
      expect(codes(await gql(FLOWS, { id: captureId, first: 2, filter })), JSON.stringify(filter)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('finds a capture and a flow by node(id), and the capture in its scan and in captures(filter)', async () => {
    const capture = await captureOf(captureId);
    const flow = (capture.flows as { nodes: FlowNode[] }).nodes[0] as FlowNode;
    const body = await gql<{
      c: { __typename: string; id: string; status: string };
      f: { __typename: string; id: string; state: string; capture: { id: string } };
    }>(
      `query($c: ID!, $f: ID!) {
        c: node(id: $c) { __typename id ... on Capture { status } }
        f: node(id: $f) { __typename id ... on Flow { state capture { id } } }
      }`,
      { c: captureId, f: flow.id },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      c: { __typename: 'Capture', id: captureId, status: 'COMPLETED' },
      f: { __typename: 'Flow', id: flow.id, state: 'CLOSED', capture: { id: captureId } },
    });

    const scan = await gql<{ scan: { captures: { totalCount: number; nodes: { id: string }[] } } }>(
      'query($id: ID!) { scan(id: $id) { captures(first: 10) { totalCount nodes { id } } } }',
      { id: scanId },
    );
    expect(scan.data?.scan.captures).toEqual({ totalCount: 1, nodes: [{ id: captureId }] });

    const captures = await gql<{ captures: { totalCount: number; nodes: { id: string; status: string }[] } }>(
      'query($filter: CaptureFilter) { captures(first: 10, filter: $filter) { totalCount nodes { id status } } }',
      { filter: { scanId } },
    );
    expect(captures.data?.captures).toEqual({ totalCount: 1, nodes: [{ id: captureId, status: 'COMPLETED' }] });
  });

  it('sends an ended capture’s trafficEvents as one empty batch, and its trafficStats once, then completes', async () => {
    const events = subscribe<{ trafficEvents: Batch }>(client, TRAFFIC, { captureId });
    const stats = subscribe<{ trafficStats: Stats }>(client, STATS, { captureId });
    await within(Promise.all([events.completed, stats.completed]), 5_000, 'an ended capture’s subscriptions');
    expect(events.results.map((r) => r.trafficEvents)).toEqual([{ captureId, dropped: 0, packets: [] }]);
    expect(stats.results.map((r) => r.trafficStats)).toEqual([expect.objectContaining({ packets: EXPECTED.length, bytes: TOTAL_BYTES })]);
  });

  it('gives the same flows for the pcapng of the same packets', async () => {
    const evidence = await uploaded(server, scanId, { filename: 'known.pcapng', content: knownPcapng() });
    expect(evidence.contentType).toBe('application/x-pcapng');
    const { capture, batches, stats } = await watchedReplay({ evidenceId: evidence.id });
    expect(packetsOf(batches[0] ?? [])).toEqual(EXPECTED.map((packet) => ({ ...packet, interface: 'eth7' })));
    expect(stats.at(-1)).toMatchObject({ packets: EXPECTED.length, bytes: TOTAL_BYTES });
    const ng = (await captureOf(capture.id)) as CaptureNode & { flows: { nodes: FlowNode[] } };
    const pcapFlows = (await captureOf(captureId)) as CaptureNode & { flows: { nodes: FlowNode[] } };
    expect(ng.status).toBe('COMPLETED');
    expect(stripIds(ng.flows.nodes)).toEqual(stripIds(pcapFlows.flows.nodes));
  }, 20_000);
});

describe('speed and limits', () => {
  let secondId: string;
  beforeAll(async () => {
    secondId = (await uploaded(server, scanId, { filename: 'second.pcap', content: SECOND_PCAP })).id;
  });

  const wallMs = (capture: CaptureNode) => Date.parse(capture.endedAt as string) - Date.parse(capture.startedAt as string);

  it('plays a second of packets in about a second at speed 1, and at once at speed 0', async () => {
    const recorded = await startReplay({ evidenceId: secondId, speed: 1 });
    const asRecorded = await waitFor(recorded.id, ['COMPLETED', 'FAILED', 'STOPPED']);
    expect(asRecorded.status).toBe('COMPLETED');
    expect(wallMs(asRecorded)).toBeGreaterThanOrEqual(800);
    expect(wallMs(asRecorded)).toBeLessThan(5_000);
    const fast = await startReplay({ evidenceId: secondId });
    const atOnce = await waitFor(fast.id, ['COMPLETED', 'FAILED', 'STOPPED']);
    expect(atOnce.status).toBe('COMPLETED');
    expect(wallMs(atOnce)).toBeLessThan(700);
    expect(((await captureOf(fast.id)).stats as Stats).packets).toBe(5);
  }, 20_000);

  it('waits for the subscribers it asked for, so that a replay at speed 0 is seen whole', async () => {
    const started = await startReplay({ evidenceId: knownId, waitForSubscribers: 2 });
    expect(started.status).toBe('QUEUED');
    // Long after a worker would have taken it: it waits.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await captureOf(started.id)).status).toBe('QUEUED');
    const watchers = [server.wsClient(), server.wsClient()];
    const events = watchers.map((ws) => subscribe<{ trafficEvents: Batch }>(ws, TRAFFIC, { captureId: started.id }));
    await within(Promise.all(events.map((sub) => sub.completed)), 15_000, 'the awaited subscriptions');
    for (const sub of events) {
      expect(sub.errors).toEqual([]);
      expect(packetsOf(sub.results.map((result) => result.trafficEvents))).toEqual(EXPECTED);
    }
    expect((await captureOf(started.id)).status).toBe('COMPLETED');
    await Promise.all(watchers.map((ws) => ws.dispose()));
    const refused = await gql(START, { input: { evidenceId: knownId, waitForSubscribers: -1 } });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
  }, 30_000);

  it('stops at maxPackets exactly, COMPLETED', async () => {
    const { bytes } = mixedPcap(50);
    const evidence = await uploaded(server, scanId, { filename: 'mixed.pcap', content: bytes });
    const started = await startReplay({ evidenceId: evidence.id, maxPackets: 7 });
    expect(started.maxPackets).toBe(7);
    const ended = await waitFor(started.id, ['COMPLETED', 'FAILED', 'STOPPED']);
    expect(ended.status).toBe('COMPLETED');
    expect(((await captureOf(started.id)).stats as Stats).packets).toBe(7);
    const whole = await startReplay({ evidenceId: evidence.id });
    expect(whole.maxPackets).toBe(MAX_PACKETS);
    await waitFor(whole.id, ['COMPLETED']);
    expect(((await captureOf(whole.id)).stats as Stats).packets).toBe(50);
  }, 20_000);

  it('refuses to stop an ended capture with CONFLICT', async () => {
    const body = await gql(STOP, { id: knownCaptureId() });
    expect(codes(body)).toEqual(['CONFLICT']);
  });

  it('lists captures by status and pages them', async () => {
    const completed = await gql<{ captures: { totalCount: number; nodes: { status: string }[] } }>(
      'query { captures(first: 50, filter: { status: COMPLETED }) { totalCount nodes { status } } }',
    );
    const stopped = await gql<{ captures: { totalCount: number; nodes: { status: string }[] } }>(
      'query { captures(first: 50, filter: { status: STOPPED }) { totalCount nodes { status } } }',
    );
    expect(completed.data?.captures.nodes.every((capture) => capture.status === 'COMPLETED')).toBe(true);
    expect(stopped.data?.captures.nodes.every((capture) => capture.status === 'STOPPED')).toBe(true);
    expect(completed.data?.captures.totalCount).toBeGreaterThanOrEqual(6);
    expect(stopped.data?.captures.totalCount).toBeGreaterThanOrEqual(2);

    const all = await gql<{ captures: { totalCount: number; nodes: { id: string; createdAt: string }[] } }>(
      'query { captures(first: 100) { totalCount nodes { id createdAt } } }',
    );
    const ids = all.data?.captures.nodes.map((capture) => capture.id) ?? [];
    const created = all.data?.captures.nodes.map((capture) => capture.createdAt) ?? [];
    expect(created).toEqual([...created].sort().reverse());
    const paged: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const body: Body<{ captures: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } }> = await gql(
        'query($after: String) { captures(first: 3, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      const connection = body.data?.captures;
      paged.push(...(connection?.nodes.map((node) => node.id) ?? []));
      if (!connection?.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(paged).toEqual(ids);
    const last = await gql<{ captures: { nodes: { id: string }[] } }>('query { captures(last: 2) { nodes { id } } }');
    expect(last.data?.captures.nodes.map((node) => node.id)).toEqual(ids.slice(-2));
  });
});

/** The replay of the known pcap, once its describe ran. */
const knownCaptureId = () => knownCaptureValue;

describe('refusals', () => {
  it.each([
    ['both interface and evidenceId', () => ({ interface: 'lo', evidenceId: knownId }), 'BAD_USER_INPUT'],
    ['neither interface nor evidenceId', () => ({}), 'BAD_USER_INPUT'],
    ['an unknown evidence', () => ({ evidenceId: '00000000-0000-4000-8000-000000000000' }), 'NOT_FOUND'],
    ['maxPackets above CAPTURE_MAX_PACKETS', () => ({ evidenceId: knownId, maxPackets: MAX_PACKETS + 1 }), 'BAD_USER_INPUT'],
    ['maxPackets 0', () => ({ evidenceId: knownId, maxPackets: 0 }), 'BAD_USER_INPUT'],
    ['maxPackets not whole', () => ({ evidenceId: knownId, maxPackets: 1.5 }), 'BAD_USER_INPUT'],
    ['a negative speed', () => ({ evidenceId: knownId, speed: -1 }), 'BAD_USER_INPUT'],
    ['a speed above 1000', () => ({ evidenceId: knownId, speed: 1_001 }), 'BAD_USER_INPUT'],
    ['a filter on a replay', () => ({ evidenceId: knownId, filter: 'tcp' }), 'BAD_USER_INPUT'],
    ['a sensor on a replay', () => ({ evidenceId: knownId, sensor: 'anything' }), 'BAD_USER_INPUT'],
    ['saveEvidence without scanId', () => ({ evidenceId: knownId, saveEvidence: true }), 'BAD_USER_INPUT'],
    ['saveEvidence on a replay', () => ({ evidenceId: knownId, scanId, saveEvidence: true }), 'BAD_USER_INPUT'],
    ['an unknown scan', () => ({ evidenceId: knownId, scanId: '00000000-0000-4000-8000-000000000000' }), 'NOT_FOUND'],
  ] as const)('startCapture with %s: %s', async (_, input, code) => {
    const body = await gql(START, { input: input() });
    expect(codes(body), JSON.stringify(body.errors)).toEqual([code]);
    expect(body.data).toBeNull();
  });

  it('refuses to replay a PNG', async () => {
    const png = await uploaded(server, scanId, { filename: 'shot.png', content: SAMPLES.png });
    expect(codes(await gql(START, { input: { evidenceId: png.id } }))).toEqual(['BAD_USER_INPUT']);
  });

  it('answers a malformed body, an invalid query and wrong variables with their codes', async () => {
    const malformed = await server.post('{"query": "mutation {');
    expect(malformed.status).toBe(400);
    expect((malformed.body as Body<unknown>).errors?.map((error) => error.extensions?.code)).toEqual(['BAD_REQUEST']);
    const invalid = await gql('mutation { startCapture(input: { evidenceId: 1, bogus: true }) { capture { id } } }');
    expect(codes(invalid)).toContain('GRAPHQL_VALIDATION_FAILED');
    const wrongType = await gql(START, { input: { evidenceId: knownId, speed: 'fast' } });
    expect(codes(wrongType)).toEqual(['BAD_USER_INPUT']);
    const unknownEnum = await gql(FLOWS, { id: knownCaptureId(), first: 1, filter: { protocol: 'SCTP' } });
    expect(codes(unknownEnum)).toEqual(['BAD_USER_INPUT']);
    // A client of its own: graphql-ws 6.4's client, disposing an operation in its `next` as the server's `complete`
    // for it arrives, releases it twice, so a lazy client closes its socket and ends its other operations (`updates`).
    const badTraffic = await firstOutcome(server.wsClient(), TRAFFIC, { captureId: knownCaptureId(), filter: { host: 'nope' } });
    expect(badTraffic.errors.map((error) => error.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses the unauthenticated, over HTTP and over graphql-ws', async () => {
    const body = (await server.graphql(START, { input: { evidenceId: knownId } }, { authorization: '' })).body;
    expect(codes(body)).toEqual(['UNAUTHENTICATED']);
    const read = (await server.graphql('query($id: ID!) { capture(id: $id) { id } }', { id: knownCaptureId() }, { authorization: '' }))
      .body;
    expect(codes(read)).toEqual(['UNAUTHENTICATED']);
    const anonymous = server.wsClient({ token: null });
    const outcome = await firstOutcome(anonymous, TRAFFIC, { captureId: knownCaptureId() });
    expect(outcome.data).toBeNull();
    expect(outcome.errors.map((error) => error.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('lets a VIEWER read captures but not start or stop one', async () => {
    const id = knownCaptureId();
    expect(codes(await gql(START, { input: { evidenceId: knownId } }, viewer))).toEqual(['FORBIDDEN']);
    expect(codes(await gql(STOP, { id }, viewer))).toEqual(['FORBIDDEN']);
    const read = await gql<{ capture: { id: string; flows: { totalCount: number } } }>(
      'query($id: ID!) { capture(id: $id) { id flows(first: 1) { totalCount } } }',
      { id },
      viewer,
    );
    expect(read.data?.capture).toEqual({ id, flows: { totalCount: EXPECTED_FLOWS.length } });
    const viewerWs = server.wsClient({ token: viewer.token });
    const outcome = await firstOutcome(viewerWs, TRAFFIC, { captureId: id });
    expect(outcome).toEqual({ data: { captureId: id, dropped: 0, packets: [] }, errors: [] });
  });

  it('hides an ANALYST’s capture from another ANALYST', async () => {
    const own = await createScan(server, analyst);
    const evidence = await uploaded(server, own, { filename: 'mine.pcap', content: KNOWN_PCAP }, analyst);
    // The admin's evidence is not the analyst's to replay.
    expect(codes(await gql(START, { input: { evidenceId: knownId } }, analyst))).toEqual(['NOT_FOUND']);
    const capture = await startReplay({ evidenceId: evidence.id, scanId: own }, analyst);
    const ended = await waitFor(capture.id, ['COMPLETED', 'FAILED', 'STOPPED']);
    expect(ended.status).toBe('COMPLETED');

    const seen = await gql<{ capture: unknown; node: unknown }>(
      'query($id: ID!) { capture(id: $id) { id } node(id: $id) { id } }',
      { id: capture.id },
      other,
    );
    expect(seen.errors).toBeUndefined();
    expect(seen.data).toEqual({ capture: null, node: null });
    expect(codes(await gql(STOP, { id: capture.id }, other))).toEqual(['NOT_FOUND']);
    const otherWs = server.wsClient({ token: other.token });
    const hidden = await firstOutcome(otherWs, TRAFFIC, { captureId: capture.id });
    expect(
      hidden.errors.map((e) => e.code),
      JSON.stringify(hidden),
    ).toEqual(['NOT_FOUND']);
    expect((await firstOutcome(otherWs, STATS, { captureId: capture.id })).errors.map((e) => e.code)).toEqual(['NOT_FOUND']);
    // Exactly as for a capture that does not exist: nothing tells the two apart.
    const unknown = Buffer.from('Capture:00000000-0000-4000-8000-000000000000').toString('base64url');
    expect(await firstOutcome(otherWs, TRAFFIC, { captureId: unknown })).toEqual(hidden);
    const stopUnknown = await gql(STOP, { id: unknown }, other);
    const stopHidden = await gql(STOP, { id: capture.id }, other);
    expect(stopUnknown.errors?.map((e) => [e.message, e.extensions?.code])).toEqual(
      stopHidden.errors?.map((e) => [e.message, e.extensions?.code]),
    );
    const list = await gql<{ captures: { nodes: { id: string }[] } }>('query { captures(first: 100) { nodes { id } } }', undefined, other);
    expect(list.data?.captures.nodes).toEqual([]);
    // Its owner sees it, and only their own.
    const mine = await gql<{ captures: { nodes: { id: string }[] } }>(
      'query { captures(first: 100) { nodes { id } } }',
      undefined,
      analyst,
    );
    expect(mine.data?.captures.nodes).toEqual([{ id: capture.id }]);
    // The admin and a viewer see it.
    expect((await captureOf(capture.id)).status).toBe('COMPLETED');
    expect((await captureOf(capture.id, viewer)).status).toBe('COMPLETED');
  }, 15_000);

  it('ends a broken pcap FAILED with a `capture:` error, keeping the packets before the break', async () => {
    const good = KNOWN.slice(0, 3).map((known) => pcapRecord(known.record));
    const garbage = Buffer.alloc(16);
    garbage.writeUInt32LE(T0 + 1, 0);
    garbage.writeUInt32LE(0xfffffff0, 8); // a record length no capture has
    garbage.writeUInt32LE(0xfffffff0, 12);
    const broken = concat(pcapHeader(), ...good, garbage, Buffer.alloc(64, 0xab));
    const evidence = await uploaded(server, scanId, { filename: 'broken.pcap', content: broken });
    const capture = await startReplay({ evidenceId: evidence.id });
    const ended = await waitFor(capture.id, ['COMPLETED', 'FAILED', 'STOPPED']);
    expect(ended.status).toBe('FAILED');
    expect(ended.error).toMatch(/^capture: /);
    const kept = (await captureOf(capture.id)) as CaptureNode & { stats: Stats; flows: { nodes: FlowNode[] } };
    expect(kept.stats).toMatchObject({ packets: 3, bytes: lengthOf(0, 1, 2) });
    expect(kept.flows.nodes).toMatchObject([{ src: A, srcPort: 40000, state: 'ESTABLISHED', originatorPackets: 2, responderPackets: 1 }]);
    // The event follows the row: it may come a moment after the status is read.
    const failedUpdate = async () => updates.results.map((r) => r.captureUpdated).find((c) => c.id === capture.id && c.status === 'FAILED');
    for (let tries = 0; tries < 100 && !(await failedUpdate()); tries++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect((await failedUpdate())?.error).toMatch(/^capture: /);
  });
});
