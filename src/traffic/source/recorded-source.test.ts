import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ethernet, ipv4, PcapngWriter, pcap, udp } from '../../../test/helpers/captures.ts';
import { CONTRACT_PORT, CONTRACT_SIZES, packetSourceContract } from './packet-source.contract.ts';
import { RecordedSource } from './recorded-source.ts';

const datagram = (size: number) =>
  ethernet({
    type: 0x0800,
    payload: ipv4({ src: '127.0.0.1', dst: '127.0.0.1', protocol: 17, payload: udp(50000, CONTRACT_PORT, new Uint8Array(size)) }),
  });

/** The file in chunks of 100 bytes, as a store streams it. */
const chunked = (bytes: Uint8Array) => () =>
  Readable.from(Array.from({ length: Math.ceil(bytes.length / 100) }, (_, i) => bytes.subarray(i * 100, i * 100 + 100)));

const recordedPcap = pcap(CONTRACT_SIZES.map((size, index) => ({ frame: datagram(size), seconds: 1_700_000_000 + index })));
packetSourceContract('a recorded pcap', () => ({
  source: () => new RecordedSource(chunked(recordedPcap)),
  produce: async () => {},
  live: false,
}));

const writer = new PcapngWriter().section().iface({ tsresol: 9 });
for (const [index, size] of CONTRACT_SIZES.entries()) writer.packet(0, BigInt(1_700_000_000 + index) * 1_000_000_000n, datagram(size));
const recordedPcapng = writer.bytes();
packetSourceContract('a recorded pcapng', () => ({
  source: () => new RecordedSource(chunked(recordedPcapng)),
  produce: async () => {},
  live: false,
}));

describe('a recorded source', () => {
  it('passes on the failure of its store, and reports it in `ended`', async () => {
    const failing = new RecordedSource(() =>
      (async function* () {
        yield recordedPcap.subarray(0, 10);
        throw new Error('the blob is gone');
      })(),
    );
    const run = failing.open(new AbortController().signal);
    await expect(
      (async () => {
        for await (const _ of run.bytes);
      })(),
    ).rejects.toThrow('the blob is gone');
    await expect(run.ended).rejects.toThrow('the blob is gone');
  });
});
