import type { Readable } from 'node:stream';
import type { Viewer } from '../access/viewer.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { EvidenceLoaders } from './evidence.loaders.ts';
import type { EvidenceView } from './evidence.view.ts';
import type { ByteRange, FileStore } from './file-store.ts';

export type EvidenceDownloadsDeps = { viewer: Viewer; loaders: EvidenceLoaders; audit: AuditLog; store: () => Promise<FileStore> };

/** What a download reads: a record the viewer may see, its bytes (or a range of them), audited. */
export class EvidenceDownloads {
  readonly #deps: EvidenceDownloadsDeps;

  constructor(deps: EvidenceDownloadsDeps) {
    this.#deps = deps;
  }

  /** The record, or `null` when there is none or the viewer may not see its scan: one answer for both. */
  async find(id: string): Promise<EvidenceView | null> {
    const { viewer, loaders } = this.#deps;
    const owned = await loaders.byId.load(id);
    return owned && viewer.mayAccess('evidence:read', owned.scanOwnerId) ? owned.evidence : null;
  }

  /** The content of `evidence` (found by `find`), or the bytes of `range`; the download is audited first. */
  async open(evidence: EvidenceView, range?: ByteRange): Promise<Readable> {
    await this.#deps.audit.record({
      action: 'EVIDENCE_DOWNLOADED',
      target: { type: 'Evidence', id: evidence.id },
      details: { scanId: evidence.scanId, ...(range ? { range: `${range.start}-${range.end}` } : {}) },
    });
    return (await this.#deps.store()).read(evidence.sha256, range);
  }
}
