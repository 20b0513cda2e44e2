import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExpectedPacket, mixedPcap } from '../../../test/helpers/mixed-traffic.ts';
import { CaptureDecoder } from './capture-decoder.ts';
import type { PacketSummary } from './summary.ts';

/**
 * The decoder against tshark (and the generator's own account) on a few
 * thousand packets of mixed traffic, and the same capture as pcapng.
 */
const PACKETS = 3000;
const hasTool = (name: string) => !spawnSync(name, ['--version'], { stdio: 'ignore' }).error;
const hasTshark = hasTool('tshark');
const hasEditcap = hasTool('editcap');

const FIELDS = [
  'frame.len',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'arp.src.proto_ipv4',
  'arp.dst.proto_ipv4',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'tcp.flags',
  'ieee8021ad.id',
  'vlan.id',
  'frame.protocols',
];

/** The fields the comparisons share, in one shape. */
type Fields = Pick<ExpectedPacket, 'protocol' | 'src' | 'dst' | 'srcPort' | 'dstPort' | 'wireLength' | 'tcpFlags' | 'vlans'>;

function ofSummary(packet: PacketSummary): Fields {
  return {
    protocol: packet.protocol as Fields['protocol'],
    src: packet.src as string,
    dst: packet.dst as string,
    srcPort: packet.srcPort,
    dstPort: packet.dstPort,
    wireLength: packet.wireLength,
    tcpFlags: packet.tcpFlags,
    vlans: packet.vlans,
  };
}

function ofExpected({ protocol, src, dst, srcPort, dstPort, wireLength, tcpFlags, vlans }: ExpectedPacket): Fields {
  return { protocol, src, dst, srcPort, dstPort, wireLength, tcpFlags, vlans };
}

/** A tshark line: the first occurrence of each field (`-E occurrence=f`), the protocol from `frame.protocols`, whatever tshark then dissects in the payload. */
function ofTshark(line: string): Fields {
  const [len, ipSrc, ipDst, ip6Src, ip6Dst, arpSrc, arpDst, tcpSrc, tcpDst, udpSrc, udpDst, flags, outer = '', vlan = '', protocols = ''] =
    line.split('\t');
  const layers = protocols.split(':');
  const protocol = layers.includes('arp')
    ? 'ARP'
    : layers.includes('tcp')
      ? 'TCP'
      : layers.includes('udp')
        ? 'UDP'
        : layers.includes('icmpv6')
          ? 'ICMPV6'
          : layers.includes('icmp')
            ? 'ICMP'
            : (`? ${protocols}` as Fields['protocol']);
  const port = (value: string | undefined) => (value ? Number(value) : null);
  return {
    protocol,
    src: (ipSrc || ip6Src || arpSrc) as string,
    dst: (ipDst || ip6Dst || arpDst) as string,
    srcPort: port(tcpSrc || udpSrc),
    dstPort: port(tcpDst || udpDst),
    wireLength: Number(len),
    tcpFlags: flags ? Number(flags) : 0,
    // A QinQ frame's outer tag is 802.1ad's; the frames have one 802.1Q tag at most.
    vlans: outer ? [Number(outer), Number(vlan)] : vlan ? [Number(vlan)] : null,
  };
}

function decode(bytes: Uint8Array, chunk: number): PacketSummary[] {
  const decoder = new CaptureDecoder();
  const packets: PacketSummary[] = [];
  for (let at = 0; at < bytes.length; at += chunk) packets.push(...decoder.push(bytes.subarray(at, at + chunk)));
  decoder.end();
  return packets;
}

/** Everything a summary shows but its interface, for comparing one capture as pcap and as pcapng. */
function shown(packet: PacketSummary) {
  const { interfaceId: _id, interfaceName: _name, ...rest } = packet.toJSON();
  return rest;
}

describe('the decoder on mixed traffic', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'scanops-differential-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Few flows for the packets, so sessions get past their handshakes.
  const { bytes, expected } = mixedPcap(PACKETS, { seed: 7, flows: 250 });
  const file = path.join(dir, 'mixed.pcap');
  writeFileSync(file, bytes);
  const packets = decode(bytes, 64 * 1024);

  it('finds every packet with the fields the generator wrote', () => {
    expect(packets).toHaveLength(PACKETS);
    const kinds = new Set(expected.map((packet) => packet.protocol));
    expect([...kinds].sort()).toEqual(['ARP', 'ICMP', 'ICMPV6', 'TCP', 'UDP']);
    expect(expected.some((packet) => packet.vlans?.length === 2)).toBe(true);
    expect(expected.some((packet) => packet.src.includes(':'))).toBe(true);
    for (let i = 0; i < PACKETS; i++) {
      const summary = packets[i] as PacketSummary;
      const want = expected[i] as ExpectedPacket;
      expect(ofSummary(summary), `packet ${i + 1}`).toEqual(ofExpected(want));
      expect([summary.seconds, summary.nanos], `packet ${i + 1} time`).toEqual([want.seconds, want.micros * 1000]);
      expect(summary.problems, `packet ${i + 1} problems`).toBe(0);
    }
  });

  it.skipIf(!hasTshark && !process.env.CI)('agrees with tshark on every packet', () => {
    const output = execFileSync(
      'tshark',
      ['-n', '-r', file, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=f', ...FIELDS.flatMap((field) => ['-e', field])],
      { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const lines = output.split('\n').filter(Boolean);
    expect(lines).toHaveLength(PACKETS);
    const differ: string[] = [];
    lines.forEach((line, i) => {
      const theirs = JSON.stringify(ofTshark(line));
      const ours = JSON.stringify(ofSummary(packets[i] as PacketSummary));
      if (ours !== theirs) differ.push(`${i + 1}: ours ${ours} tshark ${theirs}`);
    });
    expect(differ.slice(0, 10), `${differ.length} packets differ`).toEqual([]);
  });

  it.skipIf(!hasEditcap && !process.env.CI)('decodes the capture as pcapng to the same summaries', () => {
    const ng = path.join(dir, 'mixed.pcapng');
    execFileSync('editcap', ['-F', 'pcapng', file, ng], { stdio: 'ignore' });
    const ngBytes = readFileSync(ng);
    const decoder = new CaptureDecoder();
    const again = [...decoder.push(ngBytes)];
    decoder.end();
    expect(decoder.format).toBe('pcapng');
    expect(again).toHaveLength(PACKETS);
    // Odd chunks too: records split across pushes.
    const split = decode(ngBytes, 997);
    for (let i = 0; i < PACKETS; i++) {
      const want = shown(packets[i] as PacketSummary);
      expect(shown(again[i] as PacketSummary), `packet ${i + 1}`).toEqual(want);
      expect(shown(split[i] as PacketSummary), `packet ${i + 1}, in chunks of 997`).toEqual(want);
    }
  });
});
