import { describe, expect, it } from 'vitest';
import {
  arp,
  concat,
  ethernet,
  fragmentBody,
  icmp,
  ipv4,
  ipv6,
  nullLink,
  PcapngWriter,
  pcap,
  sll2,
  TCP_FLAGS,
  tcp,
  udp,
} from '../../../test/helpers/captures.ts';
import { seededRandom } from '../../../test/helpers/random.ts';
import { CaptureDecoder } from './capture-decoder.ts';
import { CaptureFormatError, MAX_RECORD_BYTES } from './capture-reader.ts';

/**
 * Property tests on bad bytes: whatever comes in, the decoder either reads it
 * or ends with one CaptureFormatError; it never throws anything else (reading
 * every lazy field of every summary included), never holds more than one
 * record, and returns. FUZZ_CASES sets the cases per property (CI: the default).
 */
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const MAX_HELD = MAX_RECORD_BYTES + 65_536;

const v4 = { src: '192.0.2.1', dst: '198.51.100.2' };
const v6 = { src: '2001:db8::1', dst: '2001:db8::2' };
const frames = [
  ethernet({
    type: 0x0800,
    payload: ipv4({ ...v4, protocol: 6, payload: tcp({ srcPort: 1, dstPort: 2, flags: TCP_FLAGS.SYN, options: new Uint8Array(8) }) }),
  }),
  ethernet({
    vlans: [7, 8],
    qinq: true,
    type: 0x0800,
    payload: ipv4({ ...v4, protocol: 17, options: new Uint8Array(4), payload: udp(3, 4, new Uint8Array(30)) }),
  }),
  ethernet({ type: 0x0806, payload: arp({ operation: 1, senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetIp: '10.0.0.2' }) }),
  ethernet({
    type: 0x86dd,
    payload: ipv6({
      ...v6,
      next: 58,
      extensions: [{ type: 0 }, { type: 43, body: new Uint8Array(14) }, { type: 51 }],
      payload: icmp(128, 0, 1, 1),
    }),
  }),
  ethernet({
    type: 0x86dd,
    payload: ipv6({ ...v6, next: 17, extensions: [{ type: 44, body: fragmentBody(0, true) }], payload: udp(5, 6) }),
  }),
  ethernet({ type: 0x0800, payload: ipv4({ ...v4, protocol: 1, fragmentOffset: 3, payload: icmp(0, 0) }) }),
  ethernet({ type: 0x0800, payload: ipv4({ ...v4, protocol: 47, payload: new Uint8Array(24) }) }),
];
const pcapCorpus = pcap(frames.map((frame, index) => ({ frame, seconds: 1_700_000_000 + index, fraction: index })));
const pcapngCorpus = new PcapngWriter()
  .section()
  .iface({ linkType: 1, name: 'eth0', tsresol: 9 })
  .iface({ linkType: 276, tsresol: 0x80 | 20 })
  .iface({ linkType: 0 })
  .packet(0, 1n << 60n, frames[0] as Uint8Array)
  .packet(1, 12345n, sll2(0x0800, ipv4({ ...v4, protocol: 6, payload: tcp({ srcPort: 9, dstPort: 10, flags: TCP_FLAGS.ACK }) })))
  .other(5, new Uint8Array(16))
  .packet(2, 7n, nullLink(30, ipv6({ ...v6, next: 6, payload: tcp({ srcPort: 11, dstPort: 12, flags: TCP_FLAGS.FIN }) })))
  .simplePacket(frames[2] as Uint8Array)
  .obsoletePacket(0, 99n, frames[3] as Uint8Array)
  .bytes();
const corpora = { pcap: pcapCorpus, pcapng: pcapngCorpus };

/** Decodes `bytes` in random chunks and reads everything a client could read; returns how it ended. */
function survive(bytes: Uint8Array, next: () => number, decoder = new CaptureDecoder()): 'read' | 'refused' {
  let ended: 'read' | 'refused' = 'read';
  try {
    for (let at = 0; at < bytes.length; ) {
      const size = 1 + Math.floor(next() * (next() < 0.5 ? 16 : 4096));
      for (const packet of decoder.push(bytes.subarray(at, at + size))) JSON.stringify(packet);
      at += size;
    }
    decoder.end();
  } catch (error) {
    if (!(error instanceof CaptureFormatError)) throw error;
    expect(error.offset).toBeGreaterThanOrEqual(0);
    expect(error.offset).toBeLessThanOrEqual(bytes.length);
    ended = 'refused';
  }
  expect(decoder.largestHeld).toBeLessThanOrEqual(MAX_HELD);
  return ended;
}

describe.each(Object.entries(corpora))('the decoder on a damaged %s capture', (format, corpus) => {
  it('reads the undamaged capture whole', () => {
    const decoder = new CaptureDecoder();
    const packets = decoder.push(corpus);
    decoder.end();
    expect(packets.length).toBeGreaterThanOrEqual(5);
    expect(decoder.stats.decodeErrors).toBe(0);
  });

  it('survives every truncation', () => {
    const next = seededRandom(SEED);
    const outcomes = new Set<string>();
    for (let length = 0; length < corpus.length; length++) outcomes.add(survive(corpus.subarray(0, length), next));
    expect([...outcomes].sort()).toEqual(['read', 'refused']);
  });

  it(`survives ${CASES} bit-flipped copies`, () => {
    const next = seededRandom(SEED + 1);
    let decodeErrors = 0;
    for (let i = 0; i < CASES; i++) {
      const copy = Uint8Array.from(corpus);
      const flips = 1 + Math.floor(next() * 8);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(next() * copy.length);
        copy[at] = (copy[at] as number) ^ (1 << Math.floor(next() * 8));
      }
      if (survive(copy, next) === 'read') decodeErrors++;
    }
    // Most flips land in packets, which are decoded as far as they go rather than refused.
    expect(decodeErrors).toBeGreaterThan(CASES / 4);
  });

  it(`survives ${CASES} runs of random bytes after a valid header`, () => {
    const next = seededRandom(SEED + 2);
    const header = corpus.subarray(0, format === 'pcap' ? 24 : 28 + 20 * 3);
    let packets = 0;
    let decodeErrors = 0;
    for (let i = 0; i < CASES; i++) {
      const noise = Uint8Array.from({ length: Math.floor(next() * 600) }, () => Math.floor(next() * 256));
      // Half of the runs get a plausible record and network header, so the noise reaches the IP, ARP and transport decoders.
      if (format === 'pcap' && next() < 0.5 && noise.length >= 31) {
        const view = new DataView(noise.buffer);
        view.setUint32(8, noise.length - 16, true);
        view.setUint32(12, noise.length - 16, true);
        view.setUint16(28, [0x0800, 0x86dd, 0x0806, 0x8100][Math.floor(next() * 4)] as number);
        view.setUint8(30, next() < 0.5 ? 0x45 : 0x60);
      }
      const decoder = new CaptureDecoder();
      survive(concat(header, noise), next, decoder);
      packets += decoder.stats.packets;
      decodeErrors += decoder.stats.decodeErrors;
    }
    if (format === 'pcap') {
      expect(packets).toBeGreaterThan(CASES / 4);
      expect(decodeErrors).toBeGreaterThan(CASES / 8);
    }
  });
});

describe('the decoder on random bytes', () => {
  it(`refuses ${CASES} random streams without anything but a CaptureFormatError`, () => {
    const next = seededRandom(SEED + 3);
    for (let i = 0; i < CASES; i++) {
      const noise = Uint8Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 256));
      survive(noise, next);
    }
  });
});
