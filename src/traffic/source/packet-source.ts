/**
 * Where a capture's bytes come from: a live interface (tcpdump) or a recorded
 * file (an evidence pcap / pcapng). Either way the bytes are a capture file as
 * the source wrote it (saved as evidence verbatim); the capture runner decodes
 * them. Both adapters run one contract suite (packet-source.contract.ts).
 */
export interface PacketSource {
  /** Starts the capture. It runs until its bytes end, it fails, or `signal` aborts (then it ends within a second). */
  open(signal: AbortSignal): SourceRun;
}

export interface SourceRun {
  /** The capture's bytes as they come. Iterate it once; breaking out of it stops the source. */
  bytes: AsyncIterable<Uint8Array>;
  /** Settles once the source has ended (after `bytes`): what it reports. Rejects with a `CaptureFailure` when it failed. */
  ended: Promise<SourceReport>;
}

export interface SourceReport {
  /** Packets the kernel dropped before the capture saw them (live only: tcpdump's count), else 0. */
  droppedByKernel: number;
}

/** Why a capture could not run, in words for its `error` field (`filter: …`, `interface: …`, `permission: …`). */
export class CaptureFailure extends Error {
  override name = 'CaptureFailure';
}
