import { createReadStream } from 'node:fs';
import { CaptureDecoder } from '../../src/traffic/decode/capture-decoder.ts';
import type { Protocol } from '../../src/traffic/decode/summary.ts';

/**
 * bench:decode's decoder child, apart from the bench so that it loads nothing
 * but the decoder: reads the file in 512 KiB chunks (fs streams pay per
 * chunk; larger ones hold more), counts summaries by protocol, prints one JSON
 * line.
 */
const CHUNK = 1 << 19;

export type DecoderReport = { packets: number; byProtocol: Record<string, number>; decodeMs: number; maxRssKb: number; samples: string[] };

/** The child: decodes the file, counts summaries by protocol, prints one JSON line. */
async function decodeChild(file: string): Promise<void> {
  const started = performance.now();
  const decoder = new CaptureDecoder();
  const counts = new Map<Protocol, number>();
  const samples: string[] = [];
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    for (const packet of decoder.push(chunk as Buffer)) {
      const seen = counts.get(packet.protocol);
      counts.set(packet.protocol, (seen ?? 0) + 1);
      // The first of each protocol, formatted: the lazy text works, and is paid for 7 times, not a million.
      if (seen === undefined) {
        const port = (value: number | null) => (value === null ? '' : `:${value}`);
        samples.push(
          `${packet.protocol} ${packet.src}${port(packet.srcPort)} > ${packet.dst}${port(packet.dstPort)} vlans=${packet.vlans?.join('.') ?? '-'} ${packet.info}`,
        );
      }
    }
  }
  decoder.end();
  const decodeMs = performance.now() - started;
  const { packets } = decoder.stats;
  const report: DecoderReport = {
    packets,
    byProtocol: Object.fromEntries(counts),
    decodeMs,
    maxRssKb: process.resourceUsage().maxRSS,
    samples,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await decodeChild(process.argv[2] as string);
