import type { PacketSource, SourceReport, SourceRun } from './packet-source.ts';

/** A recorded capture (an evidence file), read from the store as fast as it comes; pacing is the runner's. */
export class RecordedSource implements PacketSource {
  private readonly read: () => AsyncIterable<Uint8Array>;

  constructor(read: () => AsyncIterable<Uint8Array>) {
    this.read = read;
  }

  open(signal: AbortSignal): SourceRun {
    let finish: (report: SourceReport) => void = () => {};
    let fail: (error: unknown) => void = () => {};
    const ended = new Promise<SourceReport>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const read = this.read;
    async function* bytes(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of read()) {
          if (signal.aborted) break;
          yield chunk;
        }
      } catch (error) {
        fail(error);
        throw error;
      } finally {
        finish({ droppedByKernel: 0 });
      }
    }
    ended.catch(() => {});
    return { bytes: bytes(), ended };
  }
}
