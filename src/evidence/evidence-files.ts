import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ConflictError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import { displayName } from './display-name.ts';
import { Evidence } from './evidence.entity.ts';
import type { EvidenceReads } from './evidence.reads.ts';
import type { EvidenceView } from './evidence.view.ts';
import { type InFlight, lockBlob } from './evidence-blobs.ts';
import type { EvidenceType } from './evidence-type.ts';
import type { FileStore } from './file-store.ts';

export type EvidenceFilesDeps = {
  reads: EvidenceReads;
  store: () => Promise<FileStore>;
  em: EntityManager;
  clock: Clock;
  inFlight: InFlight;
};

/** Evidence another area's job makes: its content, the scan it belongs to, who it is from. */
export type KeptEvidence = {
  scanId: string;
  filename: string;
  contentType: EvidenceType;
  uploadedById: string | null;
  description?: string | null;
  /** The content stops being read past this, and nothing is kept (`BlobTooLargeError`). */
  maxBytes: number;
};

/**
 * Evidence content for the jobs of other areas: a capture replaying a pcap,
 * a capture saving its own. No viewer: the job's caller was checked when the
 * job was queued. Never reachable from the API itself.
 */
export class EvidenceFiles {
  readonly #deps: EvidenceFilesDeps;

  constructor(deps: EvidenceFilesDeps) {
    this.#deps = deps;
  }

  /** The content of evidence `id`, or `null` once its record is gone. */
  async open(id: string): Promise<Readable | null> {
    const [found] = await this.#deps.reads.byIds([id]);
    return found ? (await this.#deps.store()).read(found.evidence.sha256) : null;
  }

  /** Streams `source` into the store and records it with its scan, as an upload is. */
  async keep(source: AsyncIterable<Uint8Array>, kept: KeptEvidence): Promise<EvidenceView> {
    const { store, em, clock, inFlight } = this.#deps;
    const files = await store();
    const blob = await files.put(source, { maxBytes: kept.maxBytes });
    inFlight.hold(blob.sha256);
    try {
      const row = {
        id: randomUUID(),
        scanId: kept.scanId,
        sha256: blob.sha256,
        size: blob.size,
        contentType: kept.contentType,
        filename: displayName(kept.filename),
        description: kept.description ?? null,
        uploadedById: kept.uploadedById,
        createdAt: clock.now(),
      };
      await em.fork().transactional(async (tx) => {
        await lockBlob(tx, blob.sha256);
        if (!(await files.stat(blob.sha256))) throw new ConflictError('The file was removed while it was being recorded.');
        const { scanId: scan, uploadedById: uploadedBy, ...columns } = row;
        await tx.insert(Evidence, { ...columns, scan, uploadedBy });
      });
      return row;
    } finally {
      inFlight.release(blob.sha256);
    }
  }
}
