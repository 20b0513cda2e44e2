import DataLoader from 'dataloader';
import type { EvidenceReads, OwnedEvidence } from './evidence.reads.ts';
import type { EvidenceView } from './evidence.view.ts';

type FirstKey = { scanId: string; size: number };
export type FirstEvidence = { rows: EvidenceView[]; total: number };

/**
 * The evidence reads one request batches: `node(id)`s in one query, and the
 * first pages of a page of scans' evidence in one query per page size.
 */
export class EvidenceLoaders {
  readonly byId: DataLoader<string, OwnedEvidence | null>;
  readonly first: DataLoader<FirstKey, FirstEvidence, string>;

  constructor(reads: EvidenceReads) {
    this.byId = new DataLoader(async (ids) => {
      const found = new Map((await reads.byIds(ids)).map((owned) => [owned.evidence.id, owned]));
      return ids.map((id) => found.get(id) ?? null);
    });
    this.first = new DataLoader(
      async (keys) => {
        const pages = new Map<string, FirstEvidence>();
        for (const [size, group] of Map.groupBy(keys, (key) => key.size)) {
          const found = await reads.firstPages(
            group.map((key) => key.scanId),
            size,
          );
          for (const { scanId } of group) pages.set(`${scanId}:${size}`, found.get(scanId) ?? { rows: [], total: 0 });
        }
        return keys.map((key) => pages.get(`${key.scanId}:${key.size}`) ?? { rows: [], total: 0 });
      },
      { cacheKeyFn: (key) => `${key.scanId}:${key.size}` },
    );
  }
}
