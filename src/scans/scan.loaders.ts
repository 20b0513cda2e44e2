import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { byIdLoader } from '../platform/loaders.ts';
import { Scan } from './scan.entity.ts';
import { ownerKey, type ResultOwner, type ResultView, type ScanReads, type ScanResultFilter } from './scan.reads.ts';
import type { ScanView } from './scan.view.ts';

/** The first page of one owner's results, and how many there are in all. */
export type FirstResults = { rows: ResultView[]; total: number };

type FirstResultsKey = { owner: ResultOwner; filter: ScanResultFilter; size: number };

/** A fresh one each time: pages are the caller's to cut. */
const none = (): FirstResults => ({ rows: [], total: 0 });

/**
 * The scan reads one request batches, built once per request and shared by
 * its scan services: the number of SQL queries of a request does not grow
 * with the size of its pages. Per request, so no viewer ever gets another's
 * cached rows.
 */
export class ScanLoaders {
  /** Every by-ID read of one request (`scan`, `node`, aliases) in one query, as read views. */
  readonly byId: DataLoader<string, ScanView | null>;
  /** The scans commands change, as entities, one query for those of one request. */
  readonly entities: DataLoader<string, Scan | null>;
  /** First pages of results, of scans or of hosts, in one query per filter and size. */
  readonly firstResults: DataLoader<FirstResultsKey, FirstResults, string>;

  constructor(em: EntityManager, reads: ScanReads) {
    this.byId = new DataLoader(async (ids) => {
      const found = new Map((await reads.byIds(ids)).map((scan) => [scan.id, scan]));
      return ids.map((id) => found.get(id) ?? null);
    });
    this.entities = byIdLoader(em, Scan);
    this.firstResults = new DataLoader((keys) => loadFirstResults(reads, keys), { cacheKeyFn: resultsKey });
  }

  /** After a change: the next read of `id` in this request reads it again. */
  forget(id: string): void {
    this.byId.clear(id);
    this.entities.clear(id);
  }
}

/** One query per distinct filter and size: a dashboard asks the same of every scan. */
async function loadFirstResults(reads: ScanReads, keys: readonly FirstResultsKey[]): Promise<FirstResults[]> {
  const groups = Map.groupBy(keys, (key) => resultsShape(key));
  const pages = new Map<string, FirstResults>();
  for (const group of groups.values()) {
    const [{ filter, size }] = group as [FirstResultsKey];
    const found = await reads.firstResults(
      group.map((key) => key.owner),
      filter,
      size,
    );
    for (const key of group) pages.set(resultsKey(key), found.get(ownerKey(key.owner)) ?? none());
  }
  return keys.map((key) => pages.get(resultsKey(key)) ?? none());
}

/** Keys of one shape are loaded in one query: same filter, same size, all scans or all hosts. */
const resultsShape = ({ owner, filter, size }: FirstResultsKey) =>
  JSON.stringify([owner.address === undefined, filter.state ?? null, filter.protocol ?? null, size]);
const resultsKey = (key: FirstResultsKey) => `${ownerKey(key.owner)}:${resultsShape(key)}`;
