import type { AccessTokens } from '../access/access-tokens.ts';
import type { Viewer } from '../access/viewer.ts';
import { type Connection, type PageArgs, parsePage, toConnection } from '../platform/pagination.ts';
import type { EvidenceLoaders } from './evidence.loaders.ts';
import type { EvidenceReads } from './evidence.reads.ts';
import type { EvidenceView } from './evidence.view.ts';

/** How long a download link works. */
export const LINK_TTL_SECONDS = 300;

export type EvidenceQueriesDeps = { reads: EvidenceReads; loaders: EvidenceLoaders; viewer: Viewer; accessTokens: AccessTokens };

/** Reads of evidence. Evidence of a scan the viewer may not see is missing to them, as the scan is. */
export class EvidenceQueries {
  readonly #reads: EvidenceReads;
  readonly #loaders: EvidenceLoaders;
  readonly #viewer: Viewer;
  readonly #tokens: AccessTokens;

  constructor({ reads, loaders, viewer, accessTokens }: EvidenceQueriesDeps) {
    this.#reads = reads;
    this.#loaders = loaders;
    this.#viewer = viewer;
    this.#tokens = accessTokens;
  }

  /** The record, or `null` when there is none or the viewer may not see its scan. */
  async get(id: string): Promise<EvidenceView | null> {
    this.#viewer.assert('evidence:read');
    const owned = await this.#loaders.byId.load(id);
    return owned && this.#viewer.mayAccess('evidence:read', owned.scanOwnerId) ? owned.evidence : null;
  }

  /**
   * A page of the evidence of a scan the viewer already sees (the parent
   * field's scan). First pages, what a list of scans asks for, are batched
   * across the request into one query.
   */
  async ofScan(scanId: string, args: PageArgs): Promise<Connection<EvidenceView>> {
    this.#viewer.assert('evidence:read');
    const page = parsePage(args);
    if (page.cursor !== undefined || page.direction === 'backward') return this.#reads.page(scanId, page);
    const { rows, total } = await this.#loaders.first.load({ scanId, size: page.size });
    return toConnection(
      rows,
      page,
      (row) => [row.createdAt.toISOString(), row.id],
      async () => total,
    );
  }

  /** A credential for a download link to `evidence`, as the viewer, valid `LINK_TTL_SECONDS`. */
  linkToken(evidence: EvidenceView): Promise<string> {
    return this.#tokens.signLink(this.#viewer.identity, `evidence:${evidence.id}`, LINK_TTL_SECONDS);
  }
}
