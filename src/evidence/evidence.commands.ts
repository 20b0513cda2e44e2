import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../access/viewer.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Config } from '../config.ts';
import { ConflictError, InvalidInputError, NotFoundError, PayloadTooLargeError, QuotaExceededError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import type { ScanReads } from '../scans/scan.reads.ts';
import { displayName } from './display-name.ts';
import { Evidence } from './evidence.entity.ts';
import type { EvidenceLoaders } from './evidence.loaders.ts';
import type { EvidenceReads } from './evidence.reads.ts';
import type { EvidenceView } from './evidence.view.ts';
import { type InFlight, lockBlob, removeIfUnreferenced } from './evidence-blobs.ts';
import { claimedType, detectType, EVIDENCE_TYPES, type EvidenceType, SNIFF_BYTES } from './evidence-type.ts';
import { BlobTooLargeError, type FileStore, type StoredBlob } from './file-store.ts';

const SCAN_NOT_FOUND = 'No scan with this ID.';
const NOT_FOUND = 'No evidence with this ID.';
const MAX_DESCRIPTION = 10_000;

export type UploadEvidence = { scanId: string; file: unknown; description?: string | null };

export type EvidenceCommandsDeps = {
  em: EntityManager;
  viewer: Viewer;
  audit: AuditLog;
  clock: Clock;
  limits: Config['evidence'];
  scans: ScanReads;
  reads: EvidenceReads;
  loaders: EvidenceLoaders;
  store: () => Promise<FileStore>;
  /** This process's uploads stored and not yet recorded, which the sweep leaves alone. */
  inFlight: InFlight;
};

/**
 * What changes evidence: upload and delete. Both act on a scan the viewer
 * may change (an ANALYST's own, any for ADMIN); a scan or evidence they may
 * not see is missing to them.
 */
export class EvidenceCommands {
  readonly #deps: EvidenceCommandsDeps;

  constructor(deps: EvidenceCommandsDeps) {
    this.#deps = deps;
  }

  /**
   * Checks the caller, the scan and the quota before reading a byte of the
   * file; then its first bytes for its type, then streams it into the store
   * within its type's limit (and the quota's room), then records it.
   */
  async upload({ scanId, file, description }: UploadEvidence): Promise<EvidenceView> {
    const { viewer, scans, reads, limits } = this.#deps;
    viewer.assert('evidence:write');
    const [scan] = await scans.byIds([scanId]);
    if (!scan) throw new NotFoundError(SCAN_NOT_FOUND);
    viewer.assertOn('evidence:write', 'evidence:read', scan.ownerId, SCAN_NOT_FOUND);
    if (!(file instanceof File)) throw new InvalidInputError('file', 'Send the file as a part of a multipart request.');
    if (description && description.length > MAX_DESCRIPTION)
      throw new InvalidInputError('description', `At most ${MAX_DESCRIPTION} characters.`);
    const room = limits.quotaBytes - (await reads.storedBy(viewer.userId));
    if (room <= 0) throw new QuotaExceededError(`Your evidence quota of ${limits.quotaBytes} bytes is used up.`);

    const chunks = file.stream()[Symbol.asyncIterator]();
    let blob: StoredBlob;
    let type: EvidenceType;
    try {
      ({ blob, type } = await this.#store(file.type, chunks, room));
    } catch (error) {
      // Refused: the rest of the file is not read (the server stops reading the request).
      await chunks.return?.();
      throw error;
    }
    try {
      return await this.#record(blob, type, { scanId: scan.id, filename: file.name, description });
    } finally {
      this.#deps.inFlight.release(blob.sha256);
    }
  }

  async #record(
    blob: StoredBlob,
    type: EvidenceType,
    { scanId, filename, description }: { scanId: string; filename: string; description?: string | null },
  ): Promise<EvidenceView> {
    const { viewer, em, audit, clock } = this.#deps;
    const row = {
      id: randomUUID(),
      scanId,
      sha256: blob.sha256,
      size: blob.size,
      contentType: type,
      filename: displayName(filename),
      description: description ?? null,
      uploadedById: viewer.userId,
      createdAt: clock.now(),
    };
    await em.transactional(async (tx) => {
      await lockBlob(tx, blob.sha256);
      // A sweep may have taken the blob between its put and this lock: then there is no record either.
      if (!(await (await this.#deps.store()).stat(blob.sha256)))
        throw new ConflictError('The file was removed while it was being recorded: send it again.');
      const { scanId: scan, uploadedById: uploadedBy, ...columns } = row;
      await tx.insert(Evidence, { ...columns, scan, uploadedBy });
    });
    await audit.record({
      action: 'EVIDENCE_UPLOADED',
      target: { type: 'Evidence', id: row.id },
      details: { scanId, sha256: blob.sha256, size: blob.size, contentType: type },
    });
    return row;
  }

  /** The file's type from its first bytes, then the file streamed into the store within its limit. */
  async #store(claimed: string, chunks: AsyncIterator<Uint8Array>, room: number): Promise<{ blob: StoredBlob; type: EvidenceType }> {
    const { limits } = this.#deps;
    const head = await readHead(chunks, SNIFF_BYTES);
    const detected = await detectType(head.bytes);
    if ('other' in detected) {
      throw new InvalidInputError('file', `Evidence must be PNG, JPEG, PDF, pcap or pcapng; this file is ${detected.other}.`);
    }
    const claim = claimedType(claimed);
    if (claim && claim !== detected.type) {
      throw new InvalidInputError('file', `The file was sent as ${claim}, but its content is ${detected.type}.`);
    }
    const limit = EVIDENCE_TYPES[detected.type] === 'capture' ? limits.maxCaptureBytes : limits.maxBytes;
    const store = await this.#deps.store();
    try {
      const blob = await store.put(head.done ? once(head.bytes) : rest(head.bytes, chunks), { maxBytes: Math.min(limit, room) });
      // Before any other callback runs: the sweep cannot find it unrecorded and unprotected.
      this.#deps.inFlight.hold(blob.sha256);
      return { blob, type: detected.type };
    } catch (error) {
      if (!(error instanceof BlobTooLargeError)) throw error;
      if (room < limit) throw new QuotaExceededError(`This file would take you past your evidence quota of ${limits.quotaBytes} bytes.`);
      throw new PayloadTooLargeError(`A ${detected.type} file may have at most ${limit} bytes.`, limit);
    }
  }

  /** Deletes the record; its blob goes with the last record that points to it. */
  async delete(id: string): Promise<string> {
    const { viewer, loaders, em, audit } = this.#deps;
    viewer.assert('evidence:write');
    const owned = await loaders.byId.load(id);
    if (!owned) throw new NotFoundError(NOT_FOUND);
    viewer.assertOn('evidence:write', 'evidence:read', owned.scanOwnerId, NOT_FOUND);
    const deleted = await em.nativeDelete(Evidence, { id });
    loaders.byId.clear(id);
    if (deleted === 0) throw new NotFoundError(NOT_FOUND);
    // Records first, blob after: a crash between the two leaves an orphan for the sweep, never a record without content.
    await removeIfUnreferenced(em.fork(), await this.#deps.store(), owned.evidence.sha256, this.#deps.inFlight);
    await audit.record({ action: 'EVIDENCE_DELETED', target: { type: 'Evidence', id }, details: { scanId: owned.evidence.scanId } });
    return id;
  }
}

/** At least `bytes` bytes from the start (fewer only when the file is shorter), and whether that was all of it. */
async function readHead(chunks: AsyncIterator<Uint8Array>, bytes: number): Promise<{ bytes: Uint8Array; done: boolean }> {
  const parts: Uint8Array[] = [];
  let length = 0;
  while (length < bytes) {
    const next = await chunks.next();
    if (next.done) return { bytes: Buffer.concat(parts), done: true };
    parts.push(next.value);
    length += next.value.byteLength;
  }
  return { bytes: Buffer.concat(parts), done: false };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function* rest(head: Uint8Array, chunks: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  yield head;
  for (;;) {
    const next = await chunks.next();
    if (next.done) return;
    yield next.value;
  }
}
