import { describe, expect, it } from 'vitest';
import { concat, ethernet, ipv4, ipv6, PcapngWriter, pcap, pcapHeader, sll, udp } from '../../../test/helpers/captures.ts';
import { CaptureDecoder } from './capture-decoder.ts';
import { CaptureFormatError, MAX_RECORD_BYTES } from './capture-reader.ts';
import type { PacketSummary } from './summary.ts';

const frame = (srcPort: number, size = 10) =>
  ethernet({
    type: 0x0800,
    payload: ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17, payload: udp(srcPort, 53, new Uint8Array(size)) }),
  });

/** Feeds `bytes` in chunks of `size` (the last may be shorter), then ends the stream. */
function decodeInChunks(bytes: Uint8Array, size: number, decoder = new CaptureDecoder()): PacketSummary[] {
  const packets: PacketSummary[] = [];
  for (let at = 0; at < bytes.length; at += size) packets.push(...decoder.push(bytes.subarray(at, at + size)));
  decoder.end();
  return packets;
}

function failure(bytes: Uint8Array, size = bytes.length): CaptureFormatError {
  try {
    decodeInChunks(bytes, size);
  } catch (error) {
    if (error instanceof CaptureFormatError) return error;
    throw error;
  }
  throw new Error('the capture was accepted');
}

const summary = (packet: PacketSummary) => [
  packet.interface.id,
  packet.seconds,
  packet.nanos,
  packet.srcPort,
  packet.wireLength,
  packet.capturedLength,
];

describe('a pcap stream', () => {
  const records = [
    { frame: frame(1), seconds: 1_700_000_000, fraction: 1 },
    { frame: frame(2, 300), seconds: 1_700_000_001, fraction: 999_999 },
    { frame: frame(3).subarray(0, 40), seconds: 1_700_000_002, fraction: 5, wireLength: 52 },
  ];

  it('reads both byte orders and both time resolutions', () => {
    for (const bigEndian of [false, true]) {
      const micro = decodeInChunks(pcap(records, { bigEndian }), 1 << 16);
      expect(micro.map(summary)).toEqual([
        [0, 1_700_000_000, 1000, 1, 52, 52],
        [0, 1_700_000_001, 999_999_000, 2, 342, 342],
        [0, 1_700_000_002, 5000, 3, 52, 40],
      ]);
      const nano = decodeInChunks(pcap(records, { bigEndian, nanoseconds: true }), 1 << 16);
      expect(nano.map((packet) => packet.time)).toEqual([
        1_700_000_000_000_000_001n,
        1_700_000_001_000_999_999n,
        1_700_000_002_000_000_005n,
      ]);
    }
  });

  it('gives the same records whatever the chunking, down to one byte at a time', () => {
    const bytes = pcap(records);
    const whole = decodeInChunks(bytes, bytes.length).map(summary);
    for (let size = 1; size <= 64; size++) expect(decodeInChunks(bytes, size).map(summary)).toEqual(whole);
  });

  it('takes its link type and snap length from the header', () => {
    const decoder = new CaptureDecoder();
    const packets = decodeInChunks(
      pcap([{ frame: sll(0x0800, ipv4({ src: '192.0.2.9', dst: '192.0.2.2', protocol: 17, payload: udp(7, 8) })) }], {
        linkType: 113,
        snapLength: 96,
      }),
      7,
      decoder,
    );
    expect(decoder.interfaces[0]).toMatchObject({ linkType: 113, snapLength: 96 });
    expect(packets[0]).toMatchObject({ linkTypeName: 'LINUX_SLL', src: '192.0.2.9', srcPort: 7 });
  });

  it('ends with one error, at the right byte, on broken framing', () => {
    expect(failure(Buffer.from('GIF89a, not a capture'))).toMatchObject({
      offset: 0,
      message: expect.stringMatching(/not a pcap or pcapng capture.*at byte 0/),
    });
    const long = concat(pcap(records), pcapHeader().subarray(0, 0), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 5, 0, 1, 0, 5, 0]));
    const tooLong = failure(long, 100);
    expect(tooLong.offset).toBe(pcap(records).length);
    expect(tooLong.message).toContain(`longer than ${MAX_RECORD_BYTES}`);
    const cut = pcap(records).subarray(0, -5);
    expect(failure(cut, 13).message).toMatch(/capture ends inside a pcap record, 5 bytes short/);
    expect(failure(new Uint8Array(0)).message).toContain('empty stream');
    expect(failure(pcapHeader().subarray(0, 10)).message).toContain('ends inside a pcap file header');
  });

  it('keeps failing after the error, and keeps what came before it', () => {
    const decoder = new CaptureDecoder();
    const good = pcap(records);
    expect(decoder.push(good)).toHaveLength(3);
    expect(() => decoder.push(new Uint8Array(16).fill(0xff))).toThrow(CaptureFormatError);
    expect(() => decoder.push(good)).toThrow(CaptureFormatError);
    expect(() => decoder.end()).toThrow(CaptureFormatError);
    expect(decoder.stats.packets).toBe(3);
  });
});

describe('a pcapng stream', () => {
  const ethernetFrame = frame(1111);
  const rawFrame = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 17, payload: udp(2222, 53) });

  /** Two interfaces of different link types and resolutions, every packet block, and blocks to skip between. */
  const twoInterfaces = (bigEndian: boolean) =>
    new PcapngWriter()
      .section(bigEndian)
      .iface({ linkType: 1, name: 'eth0', tsresol: 6 })
      .other(4, new Uint8Array(16)) // name resolution
      .iface({ linkType: 101, name: 'tun0', tsresol: 9, snapLength: 128 })
      .packet(0, 1_700_000_000_123_456n, ethernetFrame)
      .packet(1, 1_700_000_000_987_654_321n, rawFrame)
      .other(5, new Uint8Array(24)) // interface statistics
      .other(0x0a, new Uint8Array(40)) // decryption secrets
      .other(0x12345678, new Uint8Array(12)) // unknown
      .obsoletePacket(1, 1_700_000_001_000_000_001n, rawFrame)
      .simplePacket(ethernetFrame)
      .bytes();

  it('reads both byte orders, several interfaces, each with its own link type and resolution', () => {
    for (const bigEndian of [false, true]) {
      const decoder = new CaptureDecoder();
      const packets = decodeInChunks(twoInterfaces(bigEndian), 1 << 16, decoder);
      expect(decoder.format).toBe('pcapng');
      expect(decoder.interfaces.map((iface) => [iface.name, iface.linkType, iface.snapLength])).toEqual([
        ['eth0', 1, 262144],
        ['tun0', 101, 128],
      ]);
      expect(packets.map((packet) => [packet.interface.name, packet.time, packet.protocol, packet.srcPort])).toEqual([
        ['eth0', 1_700_000_000_123_456_000n, 'UDP', 1111],
        ['tun0', 1_700_000_000_987_654_321n, 'UDP', 2222],
        ['tun0', 1_700_000_001_000_000_001n, 'UDP', 2222],
        // A simple packet block has no time, and belongs to the first interface.
        ['eth0', null, 'UDP', 1111],
      ]);
    }
  });

  it('gives the same records whatever the chunking', () => {
    const bytes = twoInterfaces(false);
    const whole = decodeInChunks(bytes, bytes.length).map(summary);
    for (let size = 1; size <= 80; size++) expect(decodeInChunks(bytes, size).map(summary)).toEqual(whole);
  });

  it('starts interfaces again with each section, whose byte order may differ', () => {
    const bytes = concat(
      new PcapngWriter().section().iface({ linkType: 1, name: 'a' }).packet(0, 1n, ethernetFrame).bytes(),
      new PcapngWriter().section(true).iface({ linkType: 101, name: 'b' }).packet(0, 2n, rawFrame).bytes(),
    );
    const packets = decodeInChunks(bytes, 5);
    expect(packets.map((packet) => [packet.interface.name, packet.interface.id, packet.linkTypeName, packet.nanos])).toEqual([
      ['a', 0, 'ETHERNET', 1000],
      ['b', 0, 'RAW', 2000],
    ]);
  });

  it('reads power-of-two resolutions and time offsets', () => {
    const bytes = new PcapngWriter()
      .section()
      .iface({ tsresol: 0x80 | 10, tsoffset: 100 })
      .packet(0, (1_700_000_000n << 10n) | 512n, ethernetFrame)
      .bytes();
    expect(decodeInChunks(bytes, 64)[0]).toMatchObject({ seconds: 1_700_000_100, nanos: 500_000_000 });
  });

  it('skips a large block it need not read without holding it', () => {
    const decoder = new CaptureDecoder();
    const bytes = new PcapngWriter()
      .section()
      .iface()
      .other(0x0a, new Uint8Array(4 * MAX_RECORD_BYTES))
      .packet(0, 5n, ethernetFrame)
      .bytes();
    expect(decodeInChunks(bytes, 4096, decoder)).toHaveLength(1);
    expect(decoder.largestHeld).toBeLessThan(4096);
  });

  it('holds no more than one record across chunks', () => {
    const decoder = new CaptureDecoder();
    const big = frame(9, 60_000);
    const bytes = new PcapngWriter().section().iface().packet(0, 1n, big).packet(0, 2n, big).bytes();
    expect(decodeInChunks(bytes, 1000, decoder)).toHaveLength(2);
    expect(decoder.largestHeld).toBeLessThanOrEqual(big.length + 32 + 3);
  });

  it('ends with one error, at the right byte, on broken framing', () => {
    const head = new PcapngWriter().section().iface().bytes();
    const withBlock = (block: number[]) => concat(head, Uint8Array.from(Buffer.from(Uint32Array.from(block).buffer)));
    expect(failure(withBlock([6, 13, 0]))).toMatchObject({ offset: head.length, message: expect.stringContaining('impossible length 13') });
    expect(failure(withBlock([6, 8, 0])).message).toContain('impossible length 8');
    expect(failure(withBlock([6, 0x7ffffff0, 0]), 50).message).toContain('longer than');
    expect(failure(withBlock([1, 20, 1, 0, 24])).message).toContain('trailing length differs');
    expect(failure(withBlock([6, 32, 3, 0, 0, 0, 0, 32])).message).toContain('names interface 3');
    expect(failure(withBlock([6, 32, 0, 0, 0, 100, 100, 32])).message).toContain('claims 100 captured bytes');
    const badOrder = Uint8Array.from(Buffer.from(Uint32Array.from([0x0a0d0d0a, 28, 0x11223344, 1, 0, 0, 28]).buffer));
    expect(failure(badOrder).message).toContain('unknown byte-order magic');
    const version2 = new PcapngWriter().section().bytes();
    version2[12] = 2;
    expect(failure(version2).message).toContain('pcapng version 2');
    expect(failure(concat(head, new Uint8Array(6)), 3)).toMatchObject({
      offset: head.length,
      message: expect.stringContaining('ends inside a pcapng block'),
    });
  });
});

describe('a decoder with limits', () => {
  const records = [10, 20, 30, 40].map((size, index) => ({ frame: frame(index, size), seconds: 1_700_000_000 + index }));

  it('halts before the record past its packet limit, at that record in the stream, whatever the chunking', () => {
    const bytes = pcap(records);
    for (const size of [1, 7, 64, bytes.length]) {
      const decoder = new CaptureDecoder();
      decoder.limit({ packets: 2 });
      const packets: PacketSummary[] = [];
      for (let at = 0; at < bytes.length && !decoder.halted; at += size) packets.push(...decoder.push(bytes.subarray(at, at + size)));
      decoder.end();
      expect(packets.map((packet) => packet.srcPort)).toEqual([0, 1]);
      expect(decoder.offset).toBe(pcap(records.slice(0, 2)).length);
    }
  });

  it('halts before the record that would pass its byte limit', () => {
    const decoder = new CaptureDecoder();
    const capturedBytes = records.slice(0, 3).reduce((sum, record) => sum + record.frame.length, 0);
    decoder.limit({ capturedBytes: capturedBytes + 10 });
    const packets = decoder.push(
      new PcapngWriter()
        .section()
        .iface()
        .packet(0, 1n, records[0]!.frame)
        .packet(0, 2n, records[1]!.frame)
        .packet(0, 3n, records[2]!.frame)
        .packet(0, 4n, records[3]!.frame)
        .bytes(),
    );
    expect([packets.length, decoder.halted, decoder.stats.capturedBytes]).toEqual([3, true, capturedBytes]);
  });
});
