import { afterAll, describe, expect, it } from 'vitest';
import { CaptureDecoder } from '../decode/capture-decoder.ts';
import type { PacketSummary } from '../decode/summary.ts';
import type { PacketSource, SourceReport } from './packet-source.ts';

/** What the contract reads from a source: UDP datagrams of known sizes to a known port. */
export const CONTRACT_PORT = 40_404;
export const CONTRACT_SIZES = [10, 200, 1000, 33, 7] as const;

export interface ContractSubject {
  /** A source whose bytes hold the contract's datagrams (a live one, filtered to `udp port CONTRACT_PORT`). */
  source(): PacketSource;
  /** Makes the datagrams happen once the source is ready (live: sends them; recorded: nothing, the file holds them). */
  produce(source: PacketSource): Promise<void>;
  /** A live source runs until stopped; a recorded one ends with its file. */
  live: boolean;
  /** Ends whatever the subject set up. */
  close?(): void;
}

async function decodeRun(source: PacketSource, signal: AbortSignal, until: (packets: PacketSummary[]) => boolean) {
  const decoder = new CaptureDecoder();
  const packets: PacketSummary[] = [];
  const run = source.open(signal);
  for await (const chunk of run.bytes) {
    packets.push(...decoder.push(chunk));
    if (until(packets)) break;
  }
  return { packets, report: await run.ended };
}

const contractDatagrams = (packets: PacketSummary[]) =>
  packets.filter((packet) => packet.protocol === 'UDP' && packet.dstPort === CONTRACT_PORT);

/**
 * What the capture runner relies on from every `PacketSource`: its bytes are
 * a capture file that decodes to the traffic that happened, `ended` settles
 * with a report once they end, an abort ends it within a second, and a reader
 * that stops early stops the source.
 */
export function packetSourceContract(name: string, subject: () => ContractSubject): void {
  describe(`${name} (PacketSource contract)`, () => {
    const made = subject();
    afterAll(() => made.close?.());

    it('gives bytes that decode to the traffic, then a report', async () => {
      const source = made.source();
      const controller = new AbortController();
      const produced = made.produce(source);
      const { packets, report } = await decodeRun(source, controller.signal, (seen) => {
        const done = contractDatagrams(seen).length >= CONTRACT_SIZES.length;
        // A live source runs until stopped: the test stops it once everything came.
        if (done && made.live) controller.abort();
        return false;
      });
      await produced;
      expect(contractDatagrams(packets).map((packet) => packet.payloadLength)).toEqual([...CONTRACT_SIZES]);
      for (const packet of contractDatagrams(packets))
        expect([packet.src, packet.dst, packet.seconds > 1_600_000_000]).toEqual(['127.0.0.1', '127.0.0.1', true]);
      expect(report).toEqual<SourceReport>({ droppedByKernel: expect.any(Number) });
    });

    it('ends within a second of an abort', async () => {
      const source = made.source();
      const controller = new AbortController();
      const run = source.open(controller.signal);
      const reading = (async () => {
        for await (const _ of run.bytes) if (!controller.signal.aborted) controller.abort();
      })();
      await made.produce(source);
      if (!controller.signal.aborted) controller.abort();
      const aborted = performance.now();
      await reading;
      await run.ended;
      expect(performance.now() - aborted).toBeLessThan(1000);
    });

    it('stops when its reader stops early', async () => {
      const source = made.source();
      const produced = made.produce(source);
      const { report } = await decodeRun(source, new AbortController().signal, (seen) => contractDatagrams(seen).length >= 1);
      await produced;
      expect(report.droppedByKernel).toBeGreaterThanOrEqual(0);
    });
  });
}
