import { describe, expect, it } from 'vitest';
import { arp, ethernet, icmp, ipv4, ipv6, pcap, TCP_FLAGS, tcp, udp } from '../../../test/helpers/captures.ts';
import { CaptureDecoder } from '../decode/capture-decoder.ts';
import type { PacketSummary } from '../decode/summary.ts';
import { FlowTable } from './flow-table.ts';
import { rebucket, TrafficTally } from './traffic-tally.ts';

const { SYN, ACK, FIN, RST, PSH } = TCP_FLAGS;
const client = { host: '192.0.2.10', port: 50000 };
const server = { host: '198.51.100.1', port: 443 };

/** An Ethernet frame of a TCP segment from `from` to `to` carrying `data` bytes. */
function segment(from: typeof client, to: typeof client, flags: number, data = 0): Uint8Array {
  return ethernet({
    type: 0x0800,
    payload: ipv4({
      src: from.host,
      dst: to.host,
      protocol: 6,
      payload: tcp({ srcPort: from.port, dstPort: to.port, flags, payload: new Uint8Array(data) }),
    }),
  });
}

function decode(...frames: (Uint8Array | [Uint8Array, number])[]): PacketSummary[] {
  const decoder = new CaptureDecoder();
  const records = frames.map((frame) =>
    Array.isArray(frame) ? { frame: frame[0], seconds: frame[1] } : { frame, seconds: 1_700_000_000 },
  );
  return decoder.push(pcap(records));
}

function flowsOf(...frames: Uint8Array[]) {
  const table = new FlowTable();
  for (const packet of decode(...frames)) table.add(packet);
  return [...table.all()];
}

describe('the flow table', () => {
  it('follows a TCP connection from handshake to FIN both ways, counting each direction', () => {
    const [flow, ...others] = flowsOf(
      segment(client, server, SYN),
      segment(server, client, SYN | ACK),
      segment(client, server, ACK),
      segment(client, server, PSH | ACK, 100),
      segment(server, client, PSH | ACK, 1000),
      segment(client, server, FIN | ACK),
      segment(server, client, FIN | ACK),
      segment(client, server, ACK),
    );
    expect(others).toEqual([]);
    expect(flow).toMatchObject({
      protocol: 'TCP',
      src: client.host,
      srcPort: client.port,
      dst: server.host,
      dstPort: server.port,
      state: 'CLOSED',
      originatorPackets: 5,
      responderPackets: 3,
      originatorBytes: 4 * 54 + 154,
      responderBytes: 2 * 54 + 1054,
      tcpFlags: SYN | ACK | PSH | FIN,
    });
  });

  it('tells attempted, rejected, reset and picked-up connections apart', () => {
    expect(flowsOf(segment(client, server, SYN), segment(client, server, SYN))[0]?.state).toBe('ATTEMPTED');
    expect(flowsOf(segment(client, server, SYN), segment(server, client, RST | ACK))[0]?.state).toBe('REJECTED');
    expect(flowsOf(segment(client, server, SYN), segment(server, client, SYN | ACK), segment(client, server, RST))[0]?.state).toBe('RESET');
    expect(flowsOf(segment(client, server, PSH | ACK, 10), segment(server, client, ACK))[0]).toMatchObject({
      state: 'ESTABLISHED',
      src: client.host,
    });
  });

  it('takes the receiver of a SYN/ACK whose SYN it missed for the originator', () => {
    expect(flowsOf(segment(server, client, SYN | ACK), segment(client, server, ACK))[0]).toMatchObject({
      src: client.host,
      srcPort: client.port,
      state: 'ESTABLISHED',
      originatorPackets: 1,
      responderPackets: 1,
    });
  });

  it('starts a new flow when an ended connection sees a new SYN', () => {
    const flows = flowsOf(
      segment(client, server, SYN),
      segment(server, client, RST | ACK),
      segment(client, server, SYN),
      segment(server, client, SYN | ACK),
    );
    expect(flows.map((flow) => flow.state)).toEqual(['ESTABLISHED']);
    const table = new FlowTable();
    const packets = decode(segment(client, server, SYN), segment(server, client, RST | ACK), segment(client, server, SYN));
    for (const packet of packets) table.add(packet);
    expect(table.drain().map((flow) => flow.state)).toEqual(['REJECTED', 'ATTEMPTED']);
  });

  it('keeps UDP and ICMP as ACTIVE flows, both directions in one, and ARP in none', () => {
    const table = new FlowTable();
    const packets = decode(
      ethernet({
        type: 0x0800,
        payload: ipv4({ src: client.host, dst: server.host, protocol: 17, payload: udp(5353, 53, new Uint8Array(20)) }),
      }),
      ethernet({
        type: 0x0800,
        payload: ipv4({ src: server.host, dst: client.host, protocol: 17, payload: udp(53, 5353, new Uint8Array(80)) }),
      }),
      ethernet({ type: 0x0800, payload: ipv4({ src: client.host, dst: server.host, protocol: 1, payload: icmp(8, 0, 1, 1) }) }),
      ethernet({ type: 0x86dd, payload: ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 17, payload: udp(1, 2) }) }),
      ethernet({
        type: 0x0806,
        payload: arp({ operation: 1, senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetIp: '10.0.0.2' }),
      }),
    );
    expect(packets.map((packet) => table.add(packet) !== null)).toEqual([true, true, true, true, false]);
    expect(
      [...table.all()].map((flow) => [flow.protocol, flow.state, flow.src, flow.dst, flow.originatorPackets, flow.responderPackets]),
    ).toEqual([
      ['UDP', 'ACTIVE', client.host, server.host, 1, 1],
      ['ICMP', 'ACTIVE', client.host, server.host, 1, 0],
      ['UDP', 'ACTIVE', '2001:db8::1', '2001:db8::2', 1, 0],
    ]);
  });

  it('holds at most its limit of flows, counting the packets it refused', () => {
    const table = new FlowTable({ maxFlows: 2 });
    const packets = decode(...[1, 2, 3, 1].map((port) => segment({ ...client, port }, server, SYN)));
    for (const packet of packets) table.add(packet);
    expect([table.size, table.untracked]).toEqual([2, 1]);
  });

  it('drains what changed, and evicts idle flows only once drained', () => {
    const table = new FlowTable();
    const [early, late] = decode([segment(client, server, SYN), 100], [segment({ ...client, port: 2 }, server, SYN), 200]);
    table.add(early as PacketSummary);
    expect(table.evict(150)).toBe(0);
    expect(table.drain()).toHaveLength(1);
    table.add(late as PacketSummary);
    expect(table.evict(150)).toBe(1);
    expect([table.size, table.drain().length, table.drain().length]).toEqual([1, 1, 0]);
  });
});

describe('the traffic tally', () => {
  it('counts protocols, talkers both ways, and seconds', () => {
    const tally = new TrafficTally();
    const packets = decode(
      [segment(client, server, SYN), 10],
      [segment(server, client, SYN | ACK, 0), 10],
      [segment(client, server, ACK, 946), 12],
      [
        ethernet({
          type: 0x0806,
          payload: arp({ operation: 1, senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetIp: '10.0.0.2' }),
        }),
        12,
      ],
    );
    for (const packet of packets) tally.add(packet);
    expect(tally.protocolCounts()).toEqual([
      { protocol: 'TCP', packets: 3, bytes: 54 * 3 + 946 },
      { protocol: 'ARP', packets: 1, bytes: 42 },
    ]);
    expect(tally.topTalkers(2)).toEqual([
      { address: client.host, packets: 3, bytes: 1108, packetsSent: 2, bytesSent: 1054, packetsReceived: 1, bytesReceived: 54 },
      { address: server.host, packets: 3, bytes: 1108, packetsSent: 1, bytesSent: 54, packetsReceived: 2, bytesReceived: 1054 },
    ]);
    expect(tally.series()).toEqual([
      { at: 10, packets: 2, bytes: 108 },
      { at: 12, packets: 2, bytes: 1042 },
    ]);
    expect(rebucket(tally.series(), 5)).toEqual([{ at: 10, packets: 4, bytes: 1150 }]);
  });

  it('keeps its bounds', () => {
    const tally = new TrafficTally({ maxTalkers: 3, maxSeconds: 2 });
    const packets = decode(
      ...[1, 2, 3].map((second): [Uint8Array, number] => [segment({ ...client, host: `192.0.2.${second}` }, server, SYN), second]),
    );
    for (const packet of packets) tally.add(packet);
    expect(tally.topTalkers(10)).toHaveLength(3);
    expect(tally.series().map((bucket) => bucket.at)).toEqual([2, 3]);
  });
});
