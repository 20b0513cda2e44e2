import DataLoader from 'dataloader';
import type { TallyRecord } from '../flows/traffic-tally.ts';
import type { CaptureReads } from './capture.reads.ts';
import type { CaptureView, FlowView } from './capture.view.ts';

type FirstKey = { scanId: string; size: number };
export type FirstCaptures = { rows: CaptureView[]; total: number };
const EMPTY_TALLY: TallyRecord = { protocols: [], talkers: [], series: [] };

/** The capture reads one request batches: lookups by id, tallies, and the first pages of a page of scans' captures. */
export class CaptureLoaders {
  readonly byId: DataLoader<string, CaptureView | null>;
  readonly flowById: DataLoader<string, FlowView | null>;
  readonly tally: DataLoader<string, TallyRecord>;
  readonly firstOfScan: DataLoader<FirstKey, FirstCaptures, string>;

  constructor(reads: CaptureReads) {
    this.byId = new DataLoader(async (ids) => {
      const found = new Map((await reads.byIds(ids)).map((capture) => [capture.id, capture]));
      return ids.map((id) => found.get(id) ?? null);
    });
    this.flowById = new DataLoader(async (ids) => {
      const found = new Map((await reads.flowsByIds(ids)).map((flow) => [flow.id, flow]));
      return ids.map((id) => found.get(id) ?? null);
    });
    this.tally = new DataLoader(async (ids) => {
      const found = await reads.tallies(ids);
      return ids.map((id) => found.get(id) ?? EMPTY_TALLY);
    });
    this.firstOfScan = new DataLoader(
      async (keys) => {
        const pages = new Map<string, FirstCaptures>();
        for (const [size, group] of Map.groupBy(keys, (key) => key.size)) {
          const found = await reads.firstPagesOfScans(
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
