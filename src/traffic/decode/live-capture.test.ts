import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sent, SentTcp, SentUdp } from '../../../test/helpers/netns-capture.ts';
import { CaptureDecoder, type DecodeStats, decodeCapture } from './capture-decoder.ts';
import type { PacketSummary } from './summary.ts';

// Real traffic, captured by tcpdump on the loopback of a private network namespace (never the host's):
// a namespace needs root, and the tools must be there. CI has both, and must not skip.
const netns = spawnSync('unshare', ['-n', 'true']).status === 0;
const missingTools = ['ip', 'tcpdump', 'ping', 'editcap', 'tshark'].filter(
  (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
);
const runnable = netns && missingTools.length === 0;

const ETHERNET = 14;
const IP_HEADER = { 4: 20, 6: 40 } as const;
const LOOPBACK = { 4: '127.0.0.1', 6: '::1' } as const;

interface Decoded {
  packets: PacketSummary[];
  stats: DecodeStats;
  decoder: CaptureDecoder;
}

async function decodeFile(path: string, highWaterMark: number): Promise<Decoded> {
  const decoder = new CaptureDecoder();
  const packets: PacketSummary[] = [];
  const batches = decodeCapture(createReadStream(path, { highWaterMark }), decoder);
  for (;;) {
    const next = await batches.next();
    if (next.done) return { packets, stats: next.value, decoder };
    packets.push(...next.value);
  }
}

/** Everything a summary shows, plain fields and text, but the interface it came in on (pcap's has no name, pcapng's may). */
function fields(packet: PacketSummary) {
  return {
    seconds: packet.seconds,
    nanos: packet.nanos,
    time: packet.time,
    linkType: packet.linkTypeName,
    wireLength: packet.wireLength,
    capturedLength: packet.capturedLength,
    protocol: packet.protocol,
    etherType: packet.etherType,
    ipVersion: packet.ipVersion,
    ipProtocol: packet.ipProtocol,
    src: packet.src,
    dst: packet.dst,
    srcMac: packet.srcMac,
    dstMac: packet.dstMac,
    srcPort: packet.srcPort,
    dstPort: packet.dstPort,
    tcpFlags: packet.tcpFlags,
    flags: packet.flags,
    seq: packet.seq,
    ack: packet.ack,
    window: packet.window,
    tcpHeaderLength: packet.tcpHeaderLength,
    payloadLength: packet.payloadLength,
    icmpType: packet.icmpType,
    icmpCode: packet.icmpCode,
    icmpId: packet.icmpId,
    icmpSeq: packet.icmpSeq,
    arpOperation: packet.arpOperation,
    vlans: packet.vlans,
    fragment: packet.fragment,
    problems: packet.problems,
    info: packet.info,
  };
}

const plus = (a: number, b: number) => (a + b) >>> 0;

describe.skipIf(!runnable && !process.env.CI)('decoding a live capture of loopback traffic in a private network namespace', () => {
  let outdir = '';
  let sent: Sent;
  /** tcpdump's own count of the packets it wrote. */
  let captured = -1;
  /** And of the packets the kernel had for it, those it dropped (its ring was full). */
  let dropped = -1;
  let started = 0;
  let finished = 0;
  let pcap: Decoded;
  let pcapng: Decoded;

  beforeAll(async () => {
    if (!netns) throw new Error('CI: `unshare -n` is not permitted here, and the live capture test must run');
    if (missingTools.length) throw new Error(`CI: the live capture test needs ${missingTools.join(', ')}, which is missing`);
    outdir = mkdtempSync(join(tmpdir(), 'scanops-live-capture-'));
    started = Math.floor(Date.now() / 1000);
    const run = spawnSync('unshare', ['-n', '--', process.execPath, 'test/helpers/netns-capture.ts', outdir], {
      env: { ...process.env, SCANOPS_IN_NETNS: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    finished = Math.ceil(Date.now() / 1000);
    if (run.status !== 0) throw new Error(`netns-capture.ts failed (${run.status ?? run.signal}):\n${run.stderr}\n${run.stdout}`);
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { tcpdump: string[] };
    captured = Number(/^(\d+) packets? captured$/m.exec(report.tcpdump.join('\n'))?.[1] ?? -1);
    dropped = Number(/^(\d+) packets? dropped by kernel$/m.exec(report.tcpdump.join('\n'))?.[1] ?? -1);
    sent = JSON.parse(readFileSync(join(outdir, 'sent.json'), 'utf8')) as Sent;
    // Small chunks for the pcap (records split across them), the stream's default for the pcapng.
    pcap = await decodeFile(join(outdir, 'lo.pcap'), 997);
    pcapng = await decodeFile(join(outdir, 'lo.pcapng'), 64 * 1024);
  });

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  /** The packets between two endpoints, either way, in capture order. */
  function between(protocol: 'TCP' | 'UDP', a: { address: string; port: number }, b: { address: string; port: number }) {
    return pcap.packets.filter((packet) => {
      if (packet.protocol !== protocol) return false;
      const ab = packet.srcPort === a.port && packet.dstPort === b.port;
      const ba = packet.srcPort === b.port && packet.dstPort === a.port;
      return ab || ba;
    });
  }

  function expectLoopback(packet: PacketSummary, version: 4 | 6) {
    expect(packet.ipVersion).toBe(version);
    expect(packet.etherType).toBe(version === 4 ? 0x0800 : 0x86dd);
    expect(packet.src).toBe(LOOPBACK[version]);
    expect(packet.dst).toBe(LOOPBACK[version]);
    expect(packet.linkTypeName).toBe('ETHERNET');
    expect(packet.srcMac).toBe('00:00:00:00:00:00');
    expect(packet.dstMac).toBe('00:00:00:00:00:00');
    expect(packet.vlans).toBeNull();
    expect(packet.fragment).toBe(false);
    expect(packet.truncated).toBe(false);
    expect(packet.malformed).toBe(false);
    expect(packet.capturedLength).toBe(packet.wireLength);
  }

  /** A TCP conversation's packets, checked one by one: addresses, lengths, and that each side's sequence numbers add up. */
  function expectTcp(packets: PacketSummary[], connection: SentTcp, version: 4 | 6) {
    const fromClient = (packet: PacketSummary) => packet.srcPort === connection.client.port;
    for (const packet of packets) {
      expectLoopback(packet, version);
      expect(packet.protocol).toBe('TCP');
      expect(packet.ipProtocol).toBe(6);
      expect(fromClient(packet) ? packet.dstPort : packet.srcPort).toBe(connection.server.port);
      expect(packet.wireLength).toBe(ETHERNET + IP_HEADER[version] + (packet.tcpHeaderLength as number) + (packet.payloadLength as number));
    }
    const [syn, synAck, ack] = packets as [PacketSummary, PacketSummary, PacketSummary];
    expect(fromClient(syn)).toBe(true);
    expect(syn.flags).toEqual(['SYN']);
    expect(syn.payloadLength).toBe(0);
    // MSS, SACK permitted, timestamps and window scale: Linux's SYN options take 20 bytes.
    expect(syn.tcpHeaderLength).toBe(40);
    expect(syn.window).toBeGreaterThan(0);
    expect(syn.info).toBe(`SYN seq=${syn.seq} win=${syn.window} len=0`);
    expect(fromClient(synAck)).toBe(false);
    expect(synAck.flags).toEqual(['SYN', 'ACK']);
    expect(synAck.ack).toBe(plus(syn.seq as number, 1));
    expect(synAck.tcpHeaderLength).toBe(40);
    expect(synAck.info).toBe(`SYN,ACK seq=${synAck.seq} ack=${synAck.ack} win=${synAck.window} len=0`);
    expect(fromClient(ack)).toBe(true);
    expect(ack.flags).toEqual(['ACK']);
    expect(ack.seq).toBe(plus(syn.seq as number, 1));
    expect(ack.ack).toBe(plus(synAck.seq as number, 1));
    expect(ack.payloadLength).toBe(0);
    expect(ack.info.startsWith(`ACK seq=${ack.seq} ack=${ack.ack} win=`)).toBe(true);

    for (const [client, isn, bytes] of [
      [true, syn.seq as number, connection.clientBytes],
      [false, synAck.seq as number, connection.serverBytes],
    ] as const) {
      const side = packets.filter((packet) => fromClient(packet) === client).slice(1);
      // After the handshake every segment acknowledges, and carries the timestamps option (12 bytes), a reset too;
      // after a retransmission a SACK block may follow.
      for (const packet of side) {
        expect(packet.flags).toContain('ACK');
        expect(packet.flags).not.toContain('SYN');
        const headerLength = packet.tcpHeaderLength as number;
        expect(headerLength >= 32 && headerLength <= 60 && headerLength % 4 === 0, `header of ${headerLength}`).toBe(true);
      }
      // The data goes in order, each new segment where the one before ended, and adds up to what was sent. Even on
      // loopback a busy machine may retransmit (a tail loss probe): such a segment repeats bytes already seen, and
      // counts once.
      const data = side.filter((packet) => (packet.payloadLength as number) > 0);
      let next = plus(isn, 1);
      let fresh = 0;
      for (const segment of data) {
        const seq = segment.seq as number;
        const length = segment.payloadLength as number;
        expect(segment.info).toMatch(new RegExp(`^(PSH,)?ACK seq=${seq} ack=\\d+ win=\\d+ len=${length}$`));
        if (seq === next) {
          fresh += length;
          next = plus(next, length);
        } else {
          // A retransmission: it ends no later than what came before (sequence numbers wrap, hence the modulo).
          expect((next - seq) >>> 0 >= length, `segment at ${seq} of ${length} bytes, expected at ${next}`).toBe(true);
        }
      }
      expect(fresh).toBe(bytes);
      expect(next).toBe(plus(isn, 1 + bytes));
      // The other side acknowledged it all.
      const acks = packets.filter((packet) => fromClient(packet) !== client && packet.flags.includes('ACK'));
      expect(acks.some((packet) => packet.ack === next)).toBe(true);
    }
    return { syn, synAck, ack, fromClient };
  }

  it('decodes every packet tcpdump wrote, none malformed, in time order, at microseconds', () => {
    expect(dropped, 'tcpdump dropped packets, so the checks below would miss some').toBe(0);
    expect(pcap.decoder.format).toBe('pcap');
    expect(pcap.decoder.interfaces.map((iface) => iface.linkType)).toEqual([1]);
    expect(pcap.stats.packets).toBe(captured);
    expect(pcap.packets).toHaveLength(captured);
    expect(pcap.stats.decodeErrors).toBe(0);
    expect(pcap.stats.wireBytes).toBe(pcap.packets.reduce((sum, packet) => sum + packet.wireLength, 0));
    expect(pcap.stats.capturedBytes).toBe(pcap.stats.wireBytes);
    const { TCP, UDP, ICMP, ICMPV6, ...others } = pcap.stats.byProtocol;
    expect(TCP + UDP + ICMP + ICMPV6).toBe(captured);
    expect(Object.values(others)).toEqual([0, 0, 0]);
    let previous = 0n;
    for (const packet of pcap.packets) {
      expect(packet.seconds).toBeGreaterThanOrEqual(started);
      expect(packet.seconds).toBeLessThanOrEqual(finished);
      expect(packet.nanos % 1000).toBe(0);
      expect(packet.nanos).toBeLessThan(1e9);
      const time = packet.time as bigint;
      expect(time).toBe(BigInt(packet.seconds) * 1_000_000_000n + BigInt(packet.nanos));
      expect(time >= previous).toBe(true);
      previous = time;
    }
  });

  it('reads the pcapng conversion exactly as the pcap, field by field', () => {
    expect(pcapng.decoder.format).toBe('pcapng');
    expect(pcapng.decoder.interfaces.map((iface) => iface.linkType)).toEqual([1]);
    expect(pcapng.stats).toEqual(pcap.stats);
    expect(pcapng.packets.map(fields)).toEqual(pcap.packets.map(fields));
  });

  it('decodes the same whatever the chunking', async () => {
    const decoder = new CaptureDecoder();
    const whole = decoder.push(readFileSync(join(outdir, 'lo.pcap')));
    decoder.end();
    expect(whole.map(fields)).toEqual(pcap.packets.map(fields));
  });

  it('shows the tcpdump start and end markers as UDP between the marker sockets', () => {
    const markers = between('UDP', sent.marker.client, sent.marker.server);
    expect(markers.length).toBeGreaterThanOrEqual(2);
    for (const packet of markers) {
      expectLoopback(packet, 4);
      expect(packet.srcPort).toBe(sent.marker.client.port);
      expect(packet.wireLength).toBe(ETHERNET + 20 + 8 + (packet.payloadLength as number));
    }
    // The last packet in the capture is the end marker.
    expect(pcap.packets.at(-1)).toBe(markers.at(-1));
  });

  for (const [name, version] of [
    ['tcp4', 4],
    ['tcp6', 6],
  ] as const) {
    it(`follows the IPv${version} TCP connection: handshake, data both ways, FIN close`, () => {
      const connection = sent[name];
      expect(connection.client.address).toBe(LOOPBACK[version]);
      const packets = between('TCP', connection.client, connection.server);
      const { syn, synAck, fromClient } = expectTcp(packets, connection, version);
      expect(packets.some((packet) => packet.flags.includes('RST'))).toBe(false);
      // One FIN each way, after the side's data, and acknowledged by the other.
      for (const [client, isn, bytes] of [
        [true, syn.seq as number, connection.clientBytes],
        [false, synAck.seq as number, connection.serverBytes],
      ] as const) {
        const fins = packets.filter((packet) => packet.flags.includes('FIN') && fromClient(packet) === client);
        expect(fins).toHaveLength(1);
        const fin = fins[0] as PacketSummary;
        expect(fin.flags).toContain('ACK');
        expect(fin.seq).toBe(plus(isn, 1 + bytes));
        expect(fin.info).toMatch(/^FIN,(PSH,)?ACK seq=/);
        const finAck = packets.find((packet) => fromClient(packet) !== client && packet.ack === plus(fin.seq as number, 1));
        expect(finAck, `the ${client ? 'client' : 'server'}'s FIN is acknowledged`).toBeDefined();
        expect(packets.indexOf(finAck as PacketSummary)).toBeGreaterThan(packets.indexOf(fin));
      }
    });
  }

  it('shows a refused connection as SYN answered by RST/ACK', () => {
    const { address, port } = sent.refused;
    const syns = pcap.packets.filter((packet) => packet.protocol === 'TCP' && packet.dstPort === port && packet.flags.includes('SYN'));
    expect(syns).toHaveLength(1);
    const syn = syns[0] as PacketSummary;
    const packets = between('TCP', { address, port: syn.srcPort as number }, { address, port });
    expect(packets).toHaveLength(2);
    const [, rst] = packets as [PacketSummary, PacketSummary];
    for (const packet of packets) expectLoopback(packet, 4);
    expect(syn.flags).toEqual(['SYN']);
    expect(syn.info.startsWith('SYN seq=')).toBe(true);
    expect(rst.srcPort).toBe(port);
    expect(rst.dstPort).toBe(syn.srcPort);
    expect(rst.flags).toEqual(['RST', 'ACK']);
    expect(rst.seq).toBe(0);
    expect(rst.ack).toBe(plus(syn.seq as number, 1));
    expect(rst.window).toBe(0);
    expect(rst.tcpHeaderLength).toBe(20);
    expect(rst.payloadLength).toBe(0);
    expect(rst.wireLength).toBe(ETHERNET + 20 + 20);
    expect(rst.info).toBe(`RST,ACK seq=0 ack=${rst.ack} win=0 len=0`);
  });

  it('shows a connection the client reset: handshake, data, then its RST and no FIN', () => {
    const connection = sent.reset;
    const packets = between('TCP', connection.client, connection.server);
    const { syn, fromClient } = expectTcp(packets, connection, 4);
    expect(packets.some((packet) => packet.flags.includes('FIN'))).toBe(false);
    const rst = packets.at(-1) as PacketSummary;
    expect(fromClient(rst)).toBe(true);
    expect(rst.flags).toContain('RST');
    expect(rst.seq).toBe(plus(syn.seq as number, 1 + connection.clientBytes));
    expect(rst.payloadLength).toBe(0);
    expect(rst.info.startsWith(`${rst.flags.join(',')} seq=${rst.seq}`)).toBe(true);
    expect(packets.filter((packet) => packet.flags.includes('RST'))).toEqual([rst]);
  });

  for (const [name, version] of [
    ['udp4', 4],
    ['udp6', 6],
  ] as const) {
    it(`shows each IPv${version} UDP datagram and its echo with its exact length`, () => {
      const exchange: SentUdp = sent[name];
      expect(exchange.client.address).toBe(LOOPBACK[version]);
      const packets = between('UDP', exchange.client, exchange.server);
      expect(packets).toHaveLength(exchange.sizes.length * 2);
      exchange.sizes.forEach((size, index) => {
        const there = packets[index * 2] as PacketSummary;
        const back = packets[index * 2 + 1] as PacketSummary;
        for (const [packet, from, to] of [
          [there, exchange.client, exchange.server],
          [back, exchange.server, exchange.client],
        ] as const) {
          expectLoopback(packet, version);
          expect(packet.ipProtocol).toBe(17);
          expect(packet.srcPort).toBe(from.port);
          expect(packet.dstPort).toBe(to.port);
          expect(packet.payloadLength).toBe(size);
          expect(packet.wireLength).toBe(ETHERNET + IP_HEADER[version] + 8 + size);
          expect(packet.info).toBe(`len=${size}`);
          expect(packet.tcpFlags).toBe(0);
          expect(packet.seq).toBeNull();
        }
      });
    });
  }

  for (const [name, version, protocol, request, reply] of [
    ['ping4', 4, 'ICMP', 8, 0],
    ['ping6', 6, 'ICMPV6', 128, 129],
  ] as const) {
    it(`pairs each ${protocol} echo request with its reply, by id and sequence`, () => {
      const { count } = sent[name];
      const packets = pcap.packets.filter((packet) => packet.protocol === protocol);
      expect(packets).toHaveLength(count * 2);
      const id = packets[0]?.icmpId as number;
      expect(id).toEqual(expect.any(Number));
      for (let i = 0; i < count; i++) {
        const [asked, answered] = [packets[i * 2], packets[i * 2 + 1]] as [PacketSummary, PacketSummary];
        for (const packet of [asked, answered]) {
          expectLoopback(packet, version);
          expect(packet.ipProtocol).toBe(version === 4 ? 1 : 58);
          expect(packet.icmpCode).toBe(0);
          expect(packet.icmpId).toBe(id);
          expect(packet.icmpSeq).toBe(i + 1);
          // ping's 56 bytes of data after the 8-byte echo header.
          expect(packet.wireLength).toBe(ETHERNET + IP_HEADER[version] + 8 + 56);
          expect(packet.srcPort).toBeNull();
          expect(packet.payloadLength).toBeNull();
        }
        expect(asked.icmpType).toBe(request);
        expect(answered.icmpType).toBe(reply);
        expect(asked.info).toBe(`echo request id=${id} seq=${i + 1}`);
        expect(answered.info).toBe(`echo reply id=${id} seq=${i + 1}`);
        expect((answered.time as bigint) >= (asked.time as bigint)).toBe(true);
      }
    });
  }

  it('agrees with tshark on every field of every packet', () => {
    const columns = {
      'frame.time_epoch': (p: PacketSummary) => `${p.seconds}.${String(p.nanos).padStart(9, '0')}`,
      'frame.len': (p: PacketSummary) => p.wireLength,
      'frame.cap_len': (p: PacketSummary) => p.capturedLength,
      'ip.src': (p: PacketSummary) => (p.ipVersion === 4 ? p.src : null),
      'ip.dst': (p: PacketSummary) => (p.ipVersion === 4 ? p.dst : null),
      'ip.proto': (p: PacketSummary) => (p.ipVersion === 4 ? p.ipProtocol : null),
      'ipv6.src': (p: PacketSummary) => (p.ipVersion === 6 ? p.src : null),
      'ipv6.dst': (p: PacketSummary) => (p.ipVersion === 6 ? p.dst : null),
      'ipv6.nxt': (p: PacketSummary) => (p.ipVersion === 6 ? p.ipProtocol : null),
      'tcp.srcport': (p: PacketSummary) => (p.protocol === 'TCP' ? p.srcPort : null),
      'tcp.dstport': (p: PacketSummary) => (p.protocol === 'TCP' ? p.dstPort : null),
      'tcp.seq_raw': (p: PacketSummary) => p.seq,
      'tcp.ack_raw': (p: PacketSummary) => p.ack,
      // tshark's 12 bits of flags (with the reserved and AccECN ones) against our byte of them.
      'tcp.flags': (p: PacketSummary) => (p.protocol === 'TCP' ? p.tcpFlags : null),
      'tcp.window_size_value': (p: PacketSummary) => p.window,
      'tcp.hdr_len': (p: PacketSummary) => p.tcpHeaderLength,
      'tcp.len': (p: PacketSummary) => (p.protocol === 'TCP' ? p.payloadLength : null),
      'udp.srcport': (p: PacketSummary) => (p.protocol === 'UDP' ? p.srcPort : null),
      'udp.dstport': (p: PacketSummary) => (p.protocol === 'UDP' ? p.dstPort : null),
      'udp.length': (p: PacketSummary) => (p.protocol === 'UDP' ? (p.payloadLength as number) + 8 : null),
      'icmp.type': (p: PacketSummary) => (p.protocol === 'ICMP' ? p.icmpType : null),
      'icmp.code': (p: PacketSummary) => (p.protocol === 'ICMP' ? p.icmpCode : null),
      'icmp.ident': (p: PacketSummary) => (p.protocol === 'ICMP' ? p.icmpId : null),
      'icmp.seq': (p: PacketSummary) => (p.protocol === 'ICMP' ? p.icmpSeq : null),
      'icmpv6.type': (p: PacketSummary) => (p.protocol === 'ICMPV6' ? p.icmpType : null),
      'icmpv6.code': (p: PacketSummary) => (p.protocol === 'ICMPV6' ? p.icmpCode : null),
      'icmpv6.echo.identifier': (p: PacketSummary) => (p.protocol === 'ICMPV6' ? p.icmpId : null),
      'icmpv6.echo.sequence_number': (p: PacketSummary) => (p.protocol === 'ICMPV6' ? p.icmpSeq : null),
    };
    const names = Object.keys(columns);
    // Reading a file only: no capture. -o: sequence numbers as on the wire; occurrence=f: an ICMP error's inner headers aside.
    const run = spawnSync(
      'tshark',
      [
        '-n',
        '-r',
        join(outdir, 'lo.pcap'),
        '-T',
        'fields',
        '-E',
        'separator=/t',
        '-E',
        'occurrence=f',
        ...names.flatMap((name) => ['-e', name]),
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const theirs = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) =>
        line.split('\t').map((value, index) => {
          if (value === '') return null;
          // Some fields come as hex (TCP flags, the ICMPv6 identifier).
          if (/^0x[0-9a-f]+$/i.test(value)) return Number.parseInt(value, 16) & (names[index] === 'tcp.flags' ? 0xff : 0xffff);
          return /^\d+$/.test(value) ? Number(value) : value;
        }),
      );
    expect(theirs).toHaveLength(pcap.packets.length);
    const differences: string[] = [];
    pcap.packets.forEach((packet, index) => {
      Object.values(columns).forEach((column, field) => {
        const [ours, tshark] = [column(packet), theirs[index]?.[field] ?? null];
        if (ours !== tshark) differences.push(`packet ${index + 1} ${names[field]}: ours ${ours}, tshark ${tshark}`);
      });
    });
    expect(differences).toEqual([]);
  });

  it('captured nothing but what was sent', () => {
    const pairs = [sent.marker, sent.tcp4, sent.tcp6, sent.reset, sent.udp4, sent.udp6].map(({ client, server }) =>
      [client.port, server.port].sort((a, b) => a - b).join(' '),
    );
    const strays = pcap.packets.filter((packet) => {
      if (packet.protocol === 'ICMP' || packet.protocol === 'ICMPV6') return false;
      if (packet.protocol === 'TCP' && (packet.srcPort === sent.refused.port || packet.dstPort === sent.refused.port)) return false;
      const ports = [packet.srcPort as number, packet.dstPort as number].sort((a, b) => a - b).join(' ');
      return !pairs.includes(ports);
    });
    expect(strays.map((packet) => packet.toJSON())).toEqual([]);
  });
});
