import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { byIdLoader } from '../platform/loaders.ts';
import { Scan } from './scan.entity.ts';
import type { ScanResult } from './scan-result.entity.ts';
import { ownerKey, type ResultOwner, type ScanResultFilter, ScanResultRepository } from './scan-result.repository.ts';

/** The first page of one owner's results, and how many there are in all. */
export type FirstResults = { rows: ScanResult[]; total: number };

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
  /** Every by-ID lookup of one request (`scan`, `node`, aliases, the scan a mutation acts on) in one query. */
  readonly byId: DataLoader<string, Scan | null>;
  /** First pages of results, of scans or of hosts, in one query per filter and size. */
  readonly firstResults: DataLoader<FirstResultsKey, FirstResults, string>;

  constructor(em: EntityManager) {
    this.byId = byIdLoader(em, Scan);
    const results = new ScanResultRepository(em);
    this.firstResults = new DataLoader((keys) => loadFirstResults(results, keys), { cacheKeyFn: resultsKey });
  }
}

/** One query per distinct filter and size: a dashboard asks the same of every scan. */
async function loadFirstResults(repository: ScanResultRepository, keys: readonly FirstResultsKey[]): Promise<FirstResults[]> {
  const groups = Map.groupBy(keys, (key) => resultsShape(key));
  const pages = new Map<string, FirstResults>();
  for (const group of groups.values()) {
    const [{ filter, size }] = group as [FirstResultsKey];
    const found = await repository.firstPages(
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
