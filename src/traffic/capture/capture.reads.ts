import { Keyset } from '../../platform/keyset.ts';
import type { Connection, Page } from '../../platform/pagination.ts';
import type { Reads, Sql } from '../../platform/reads.ts';
import type { FlowState } from '../flows/flow-table.ts';
import type { TallyRecord } from '../flows/traffic-tally.ts';
import {
  CAPTURE_VIEW_COLUMNS,
  type CaptureRow,
  type CaptureView,
  captureViewOfRow,
  FLOW_VIEW_COLUMNS,
  type FlowRow,
  type FlowView,
  flowViewOfRow,
} from './capture.view.ts';
import type { CaptureStatus } from './capture-status.ts';

export type CaptureFilter = {
  status?: CaptureStatus | null;
  scanId?: string | null;
  sensor?: string | null;
  /** Only this user's captures. */
  ownerId?: string | null;
};

export type FlowFilter = {
  protocol?: string | null;
  state?: FlowState | null;
  /** Either endpoint inside this address or network (already checked). */
  host?: string | null;
  port?: number | null;
};
export type FlowOrder = { field: 'firstSeen' | 'lastSeen' | 'bytes' | 'packets'; direction: 'ASC' | 'DESC' };

/** Captures newest first; a cursor is `[ISO time, id]`. */
const CAPTURES = new Keyset<CaptureView>({
  keys: [
    ['createdAt', 'time'],
    ['id', 'uuid'],
  ],
});

/** The orders of a capture's flows; a cursor names its order first, so one of another order is refused. */
const FLOW_ORDERS = {
  firstSeen: new Keyset<FlowView>({
    keys: [
      ['firstSeen', 'time'],
      ['id', 'uuid'],
    ],
    tag: 'firstSeen',
  }),
  lastSeen: new Keyset<FlowView>({
    keys: [
      ['lastSeen', 'time'],
      ['id', 'uuid'],
    ],
    tag: 'lastSeen',
  }),
  bytes: new Keyset<FlowView>({
    keys: [
      ['bytes', 'serial'],
      ['id', 'uuid'],
    ],
    tag: 'bytes',
  }),
  packets: new Keyset<FlowView>({
    keys: [
      ['packets', 'serial'],
      ['id', 'uuid'],
    ],
    tag: 'packets',
  }),
};

/** What the API reads of captures and their flows, as plain rows made read views. No rules, no authorization: the queries decide. */
export class CaptureReads {
  readonly #reads: Reads;

  constructor(reads: Reads) {
    this.#reads = reads;
  }

  async byIds(ids: readonly string[]): Promise<CaptureView[]> {
    const rows = await this.#reads.rows<CaptureRow>({
      sql: `select ${CAPTURE_VIEW_COLUMNS} from captures where id = any(?::uuid[])`,
      params: [ids],
    });
    return rows.map(captureViewOfRow);
  }

  /** The tallies of `ids` (protocols, talkers, series), read apart from the views: a series may hold a day of seconds. */
  async tallies(ids: readonly string[]): Promise<Map<string, TallyRecord>> {
    const rows = await this.#reads.rows<{ id: string; tally: TallyRecord }>({
      sql: 'select id, tally from captures where id = any(?::uuid[])',
      params: [ids],
    });
    return new Map(rows.map((row) => [row.id, row.tally]));
  }

  page(filter: CaptureFilter, page: Page): Promise<Connection<CaptureView>> {
    return CAPTURES.select(
      this.#reads,
      { table: 'captures', columns: CAPTURE_VIEW_COLUMNS, where: captureWhere(filter), order: 'desc' },
      page,
      captureViewOfRow,
    );
  }

  /** The first `size` captures of each scan, newest first, with each one's total, in one query. */
  async firstPagesOfScans(scanIds: readonly string[], size: number): Promise<Map<string, { rows: CaptureView[]; total: number }>> {
    const found = await CAPTURES.selectFirstPages(
      this.#reads,
      {
        table: 'captures',
        columns: CAPTURE_VIEW_COLUMNS,
        where: { sql: 'scan_id = any(?::uuid[])', params: [scanIds] },
        partitionBy: ['scan_id'],
        order: 'desc',
        size,
      },
      captureViewOfRow,
    );
    return new Map(found.map(({ partition: [scanId], rows, total }) => [String(scanId), { rows, total }]));
  }

  flows(captureId: string, filter: FlowFilter, order: FlowOrder, page: Page): Promise<Connection<FlowView>> {
    const where: Sql[] = [{ sql: 'capture_id = ?::uuid', params: [captureId] }];
    if (filter.protocol) where.push({ sql: 'protocol = ?', params: [filter.protocol] });
    if (filter.state) where.push({ sql: 'state = ?', params: [filter.state] });
    if (filter.host) where.push({ sql: '(src::inet <<= ?::inet or dst::inet <<= ?::inet)', params: [filter.host, filter.host] });
    if (filter.port !== null && filter.port !== undefined) {
      where.push({ sql: '(src_port = ? or dst_port = ?)', params: [filter.port, filter.port] });
    }
    return FLOW_ORDERS[order.field].select(
      this.#reads,
      { table: 'capture_flows', columns: FLOW_VIEW_COLUMNS, where: all(where), order: order.direction === 'ASC' ? 'asc' : 'desc' },
      page,
      flowViewOfRow,
    );
  }

  async flowsByIds(ids: readonly string[]): Promise<FlowView[]> {
    const rows = await this.#reads.rows<FlowRow>({
      sql: `select ${FLOW_VIEW_COLUMNS} from capture_flows where id = any(?::uuid[])`,
      params: [ids],
    });
    return rows.map(flowViewOfRow);
  }
}

function captureWhere(filter: CaptureFilter): Sql | undefined {
  const where: Sql[] = [];
  if (filter.status) where.push({ sql: 'status = ?', params: [filter.status] });
  if (filter.scanId) where.push({ sql: 'scan_id = ?::uuid', params: [filter.scanId] });
  if (filter.sensor) where.push({ sql: 'sensor = ?', params: [filter.sensor] });
  if (filter.ownerId) where.push({ sql: 'owner_id = ?::uuid', params: [filter.ownerId] });
  return where.length ? all(where) : undefined;
}

const all = (parts: readonly Sql[]): Sql => ({
  sql: parts.map((part) => part.sql).join(' and '),
  params: parts.flatMap((part) => part.params),
});
