import { describe, expect, it } from 'vitest';
import {
  arp,
  ethernet,
  fragmentBody,
  icmp,
  ipv4,
  ipv6,
  nullLink,
  pcap,
  sll,
  sll2,
  TCP_FLAGS,
  tcp,
  udp,
} from '../../../test/helpers/captures.ts';
import { CaptureDecoder } from './capture-decoder.ts';
import { LinkType } from './link.ts';
import type { PacketSummary } from './summary.ts';

/** Decodes frames of one link type, each as a record of a pcap. */
function decode(linkType: number, ...frames: Uint8Array[]): PacketSummary[] {
  const decoder = new CaptureDecoder();
  const packets = decoder.push(
    pcap(
      frames.map((frame) => ({ frame })),
      { linkType },
    ),
  );
  decoder.end();
  return packets;
}

function one(linkType: number, frame: Uint8Array): PacketSummary {
  const [packet] = decode(linkType, frame);
  if (!packet) throw new Error('no packet decoded');
  return packet;
}

const v4 = { src: '192.0.2.1', dst: '198.51.100.7' };
const v6 = { src: '2001:db8::1', dst: '2001:db8:0:1::2' };
const synFrame = (vlans?: number[], qinq?: boolean) =>
  ethernet({
    vlans,
    qinq,
    type: 0x0800,
    payload: ipv4({
      ...v4,
      protocol: 6,
      payload: tcp({ srcPort: 40000, dstPort: 443, seq: 3_000_000_000, flags: TCP_FLAGS.SYN, window: 64240 }),
    }),
  });

describe('the link layer', () => {
  it('reads Ethernet, its MACs and EtherType', () => {
    const packet = one(LinkType.ETHERNET, synFrame());
    expect(packet).toMatchObject({
      protocol: 'TCP',
      src: v4.src,
      dst: v4.dst,
      srcPort: 40000,
      dstPort: 443,
      etherType: 0x0800,
      vlans: null,
    });
    expect([packet.srcMac, packet.dstMac]).toEqual(['02:00:00:00:00:01', '02:00:00:00:00:02']);
    expect(packet.linkTypeName).toBe('ETHERNET');
  });

  it('reads 802.1Q and QinQ tags, outer first', () => {
    expect(one(LinkType.ETHERNET, synFrame([42])).vlans).toEqual([42]);
    const stacked = one(LinkType.ETHERNET, synFrame([100, 4094], true));
    expect(stacked).toMatchObject({ vlans: [100, 4094], protocol: 'TCP', dstPort: 443 });
  });

  it('reads Linux cooked captures, SLL and SLL2', () => {
    const payload = ipv4({ ...v4, protocol: 17, payload: udp(5353, 53, new Uint8Array(12)) });
    for (const [linkType, frame] of [
      [LinkType.LINUX_SLL, sll(0x0800, payload)],
      [LinkType.LINUX_SLL2, sll2(0x0800, payload)],
    ] as const) {
      expect(one(linkType, frame)).toMatchObject({ protocol: 'UDP', src: v4.src, srcPort: 5353, dstPort: 53, payloadLength: 12 });
    }
  });

  it('reads raw IP by its version, under every raw link type', () => {
    const four = ipv4({ ...v4, protocol: 1, payload: icmp(8, 0, 7, 1) });
    const six = ipv6({ ...v6, next: 58, payload: icmp(128, 0, 9, 2) });
    for (const linkType of [LinkType.RAW, LinkType.RAW_OLD, LinkType.RAW_OPENBSD]) {
      expect(decode(linkType, four, six).map((packet) => [packet.protocol, packet.src])).toEqual([
        ['ICMP', v4.src],
        ['ICMPV6', v6.src],
      ]);
    }
    expect(one(LinkType.IPV4, four).protocol).toBe('ICMP');
    expect(one(LinkType.IPV6, six).protocol).toBe('ICMPV6');
    expect(one(LinkType.RAW, Uint8Array.of(0x50, 0, 0, 0))).toMatchObject({ protocol: 'OTHER', malformed: true });
  });

  it('reads BSD loopback in either byte order, and LOOP in network order', () => {
    const four = ipv4({ ...v4, protocol: 17, payload: udp(1, 2) });
    const six = ipv6({ ...v6, next: 17, payload: udp(3, 4) });
    const packets = decode(
      LinkType.NULL,
      nullLink(2, four),
      nullLink(2, four, false),
      nullLink(30, six),
      nullLink(24, six, false),
      nullLink(10, six),
    );
    expect(packets.map((packet) => packet.ipVersion)).toEqual([4, 4, 6, 6, 6]);
    expect(one(LinkType.LOOP, nullLink(2, four, false)).ipVersion).toBe(4);
    expect(one(LinkType.NULL, nullLink(7, four)).protocol).toBe('OTHER');
  });

  it('leaves an unknown link type as OTHER, decoded no further', () => {
    const packet = one(147, synFrame());
    expect(packet).toMatchObject({ protocol: 'OTHER', src: null, srcPort: null, problems: 0, linkTypeName: 'LINKTYPE_147' });
  });

  it('reports 802.3 frames and unknown EtherTypes as OTHER', () => {
    expect(one(LinkType.ETHERNET, ethernet({ type: 0x0026, payload: new Uint8Array(38) }))).toMatchObject({
      protocol: 'OTHER',
      etherType: null,
    });
    const lldp = one(LinkType.ETHERNET, ethernet({ type: 0x88cc, payload: new Uint8Array(30) }));
    expect(lldp).toMatchObject({ protocol: 'OTHER', etherType: 0x88cc, info: 'ethertype 0x88cc' });
  });
});

describe('IPv4', () => {
  it('skips options by the header length', () => {
    const options = Uint8Array.of(0x94, 4, 0, 0, 1, 1, 1, 0); // router alert, NOPs, end
    const frame = ethernet({ type: 0x0800, payload: ipv4({ ...v4, protocol: 17, options, payload: udp(1000, 2000, new Uint8Array(5)) }) });
    expect(one(LinkType.ETHERNET, frame)).toMatchObject({ srcPort: 1000, dstPort: 2000, payloadLength: 5 });
  });

  it('flags fragments and reads ports from the first only', () => {
    const first = ipv4({ ...v4, protocol: 17, moreFragments: true, payload: udp(1111, 2222, new Uint8Array(64)) });
    const later = ipv4({ ...v4, protocol: 17, fragmentOffset: 9, payload: new Uint8Array(40) });
    const [a, b] = decode(LinkType.RAW, first, later);
    expect(a).toMatchObject({ fragment: true, protocol: 'UDP', srcPort: 1111, dstPort: 2222 });
    expect(b).toMatchObject({ fragment: true, protocol: 'UDP', srcPort: null, dstPort: null, info: 'fragment', problems: 0 });
  });

  it('measures the payload by the IP length, not the link padding', () => {
    const packet = ipv4({ ...v4, protocol: 6, payload: tcp({ srcPort: 1, dstPort: 2, flags: TCP_FLAGS.ACK, payload: new Uint8Array(2) }) });
    const padded = ethernet({ type: 0x0800, payload: new Uint8Array([...packet, 0, 0, 0, 0]) });
    expect(one(LinkType.ETHERNET, padded)).toMatchObject({ payloadLength: 2, problems: 0 });
  });

  it('reports GRE and other protocols as the outermost it knows', () => {
    const gre = one(
      LinkType.RAW,
      ipv4({ ...v4, protocol: 47, payload: new Uint8Array([0, 0, 0x08, 0, ...ipv4({ ...v4, protocol: 6, payload: new Uint8Array(20) })]) }),
    );
    expect(gre).toMatchObject({ protocol: 'GRE', ipProtocol: 47, srcPort: null, src: v4.src });
    expect(one(LinkType.RAW, ipv4({ ...v4, protocol: 89, payload: new Uint8Array(8) }))).toMatchObject({
      protocol: 'OTHER',
      ipProtocol: 89,
      info: 'ip proto 89',
    });
  });
});

describe('IPv6', () => {
  it('formats addresses as RFC 5952 does', () => {
    const at = (src: string, dst: string) => one(LinkType.RAW, ipv6({ src, dst, next: 59, payload: new Uint8Array(0) }));
    expect(at('2001:db8:0:0:1:0:0:1', '::1')).toMatchObject({ src: '2001:db8::1:0:0:1', dst: '::1' });
    expect(at('fe80::', '::ffff:c000:201')).toMatchObject({ src: 'fe80::', dst: '::ffff:192.0.2.1' });
    expect(at('2001:db8:1:2:3:4:5:6', '2001:0:0:1::1')).toMatchObject({ src: '2001:db8:1:2:3:4:5:6', dst: '2001:0:0:1::1' });
    expect(at('::', '1:0:2:0:3:0:4:0')).toMatchObject({ src: '::', dst: '1:0:2:0:3:0:4:0' });
  });

  it('walks hop-by-hop, routing, destination options and AH to the upper layer', () => {
    const frame = ipv6({
      ...v6,
      next: 6,
      extensions: [{ type: 0 }, { type: 43, body: new Uint8Array(22) }, { type: 60 }, { type: 51, body: new Uint8Array(14) }],
      payload: tcp({ srcPort: 22, dstPort: 50000, flags: TCP_FLAGS.PSH | TCP_FLAGS.ACK, payload: new Uint8Array(100) }),
    });
    expect(one(LinkType.RAW, frame)).toMatchObject({
      protocol: 'TCP',
      ipProtocol: 6,
      srcPort: 22,
      dstPort: 50000,
      payloadLength: 100,
      problems: 0,
    });
  });

  it('reads ports from a first fragment only', () => {
    const first = ipv6({
      ...v6,
      next: 17,
      extensions: [{ type: 44, body: fragmentBody(0, true) }],
      payload: udp(53, 5353, new Uint8Array(100)),
    });
    const later = ipv6({ ...v6, next: 17, extensions: [{ type: 44, body: fragmentBody(14, false) }], payload: new Uint8Array(50) });
    const [a, b] = decode(LinkType.RAW, first, later);
    expect(a).toMatchObject({ fragment: true, protocol: 'UDP', srcPort: 53 });
    expect(b).toMatchObject({ fragment: true, protocol: 'UDP', ipProtocol: 17, srcPort: null });
  });

  it('reads ICMPv6', () => {
    const solicit = one(LinkType.RAW, ipv6({ ...v6, next: 58, payload: icmp(135, 0) }));
    expect(solicit).toMatchObject({ protocol: 'ICMPV6', icmpType: 135, icmpId: null, info: 'neighbor solicitation' });
    expect(one(LinkType.RAW, ipv6({ ...v6, next: 58, payload: icmp(129, 0, 5, 6) })).info).toBe('echo reply id=5 seq=6');
  });
});

describe('the transport layer', () => {
  it('reads TCP: ports, flags, seq and ack, window, header and payload lengths', () => {
    const options = Uint8Array.of(2, 4, 0x05, 0xb4, 1, 1, 4, 2); // mss, nop, nop, sack-permitted
    const frame = ipv4({
      ...v4,
      protocol: 6,
      payload: tcp({
        srcPort: 443,
        dstPort: 40000,
        seq: 1,
        ack: 4_294_967_295,
        flags: 0xff,
        window: 1024,
        options,
        payload: new Uint8Array(7),
      }),
    });
    const packet = one(LinkType.RAW, frame);
    expect(packet).toMatchObject({ seq: 1, ack: 4_294_967_295, window: 1024, tcpHeaderLength: 28, payloadLength: 7, tcpFlags: 0xff });
    expect(packet.flags).toEqual(['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR']);
  });

  it('describes TCP as a person reads it', () => {
    expect(one(LinkType.ETHERNET, synFrame()).info).toBe('SYN seq=3000000000 win=64240 len=0');
    const reset = ipv4({
      ...v4,
      protocol: 6,
      payload: tcp({ srcPort: 1, dstPort: 2, seq: 5, ack: 9, flags: TCP_FLAGS.RST | TCP_FLAGS.ACK, window: 0 }),
    });
    expect(one(LinkType.RAW, reset).info).toBe('RST,ACK seq=5 ack=9 win=0 len=0');
  });

  it('reads UDP and ICMP', () => {
    expect(one(LinkType.RAW, ipv4({ ...v4, protocol: 17, payload: udp(68, 67, new Uint8Array(300)) }))).toMatchObject({
      payloadLength: 300,
      info: 'len=300',
    });
    const echo = one(LinkType.RAW, ipv4({ ...v4, protocol: 1, payload: icmp(8, 0, 0x1234, 7) }));
    expect(echo).toMatchObject({ icmpType: 8, icmpCode: 0, icmpId: 0x1234, icmpSeq: 7, info: 'echo request id=4660 seq=7' });
    const unreachable = one(LinkType.RAW, ipv4({ ...v4, protocol: 1, payload: icmp(3, 3) }));
    expect(unreachable).toMatchObject({ icmpId: null, info: 'destination unreachable code=3' });
  });

  it('reads ARP: sender and target as src and dst, MACs in info', () => {
    const request = arp({ operation: 1, senderMac: '02:00:00:00:00:0a', senderIp: '10.0.0.2', targetIp: '10.0.0.1' });
    const reply = arp({
      operation: 2,
      senderMac: '02:00:00:00:00:0b',
      senderIp: '10.0.0.1',
      targetMac: '02:00:00:00:00:0a',
      targetIp: '10.0.0.2',
    });
    const [ask, answer] = decode(
      LinkType.ETHERNET,
      ethernet({ type: 0x0806, payload: request }),
      ethernet({ type: 0x0806, payload: reply }),
    );
    expect(ask).toMatchObject({ protocol: 'ARP', arpOperation: 1, src: '10.0.0.2', dst: '10.0.0.1', srcPort: null });
    expect(ask?.info).toBe('who-has 10.0.0.1 tell 10.0.0.2 (02:00:00:00:00:0a)');
    expect(answer?.info).toBe('10.0.0.1 is-at 02:00:00:00:00:0b');
  });
});

describe('a packet cut short or malformed', () => {
  const whole = synFrame();

  it('is decoded as far as it goes at every length, and counted', () => {
    const decoder = new CaptureDecoder();
    const packets = decoder.push(
      pcap(Array.from({ length: whole.length + 1 }, (_, cut) => ({ frame: whole.subarray(0, cut), wireLength: whole.length }))),
    );
    // Ethernet (14) + IPv4 (20) + TCP (20): any cut before the end of the TCP header is a truncated layer.
    expect(packets.map((packet) => packet.truncated)).toEqual(Array.from({ length: whole.length + 1 }, (_, cut) => cut < 54));
    expect(decoder.stats.decodeErrors).toBe(54);
    expect(packets[14 + 19]).toMatchObject({ truncated: true, src: null, protocol: 'OTHER', etherType: 0x0800 });
    expect(packets[14 + 20]).toMatchObject({ truncated: true, src: v4.src, protocol: 'TCP', srcPort: null });
    expect(packets[14 + 24]).toMatchObject({ truncated: true, protocol: 'TCP', srcPort: 40000, dstPort: 443, seq: null });
    expect(packets[14 + 24]?.info).toBe('tcp [truncated]');
    expect(packets.every((packet) => packet.wireLength === whole.length)).toBe(true);
  });

  it('flags impossible headers as malformed', () => {
    const shortHeader = ipv4({ ...v4, protocol: 6, payload: tcp({ srcPort: 1, dstPort: 2, flags: 0 }) });
    shortHeader[20 + 12] = 0x40; // data offset 16 bytes
    const badLength = ipv4({ ...v4, protocol: 17, payload: udp(1, 2), totalLength: 10 });
    const packets = decode(LinkType.RAW, shortHeader, badLength, Uint8Array.of(0x44, ...new Uint8Array(30)));
    expect(packets.map((packet) => packet.malformed)).toEqual([true, true, true]);
    expect(packets[0]).toMatchObject({ srcPort: 1, tcpHeaderLength: 16 });
  });
});
