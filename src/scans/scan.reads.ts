import { Keyset } from '../platform/keyset.ts';
import type { Connection, Page } from '../platform/pagination.ts';
import type { Reads, Sql } from '../platform/reads.ts';
import type { PortState, Protocol } from './engine/scanner.ts';
import { SCAN_VIEW_COLUMNS, type ScanRow, type ScanView, scanViewOfRow } from './scan.view.ts';
import type { HostState, ScanHostView } from './scan-host.entity.ts';
import type { ScanResultView } from './scan-result.entity.ts';
import type { ScanStatus, ScanType } from './scan-status.ts';

export type ScanFilter = {
  status?: readonly ScanStatus[] | null;
  scanType?: readonly ScanType[] | null;
  /** Only this user's scans. */
  ownerId?: string | null;
};
export type ScanOrder = { field: 'createdAt' | 'updatedAt'; direction: 'ASC' | 'DESC' };

export type ScanHostFilter = {
  /** An address, or a CIDR network: hosts inside it. */
  address?: string | null;
  /** Hosts resolved from this hostname (case-insensitive). */
  hostname?: string | null;
  state?: readonly HostState[] | null;
};

export type ScanResultFilter = { state?: readonly PortState[] | null; protocol?: readonly Protocol[] | null };

/** Whose results: a whole scan's, or one host's of it. */
export type ResultOwner = { scanId: string; address?: string };

/** `scanId`, or `scanId address` for a host's results. */
export const ownerKey = ({ scanId, address }: ResultOwner) => (address === undefined ? scanId : `${scanId} ${address}`);

/** A result as a page shows it; the id orders the page and makes its cursors. */
export type ResultView = ScanResultView & { id: string };
/** A host as a page shows it; the id orders the page and makes its cursors. */
export type HostView = ScanHostView & { id: string };

/** The orders of the scans list; a cursor is `[field, ISO time, id]`, and one from another order is refused, not misread. */
const SCAN_ORDERS = {
  createdAt: new Keyset<ScanView>({
    keys: [
      ['createdAt', 'time'],
      ['id', 'uuid'],
    ],
    tag: 'createdAt',
  }),
  updatedAt: new Keyset<ScanView>({
    keys: [
      ['updatedAt', 'time'],
      ['id', 'uuid'],
    ],
    tag: 'updatedAt',
  }),
};
/** Results in the order found; a cursor is `[id]`, the same on a batched first page and on a page after it. */
const RESULTS = new Keyset<ResultView>({ keys: [['id', 'serial']] });
/** A scan's hosts in the order recorded (address order within a network); a cursor is `[id]`. */
const HOSTS = new Keyset<HostView>({ keys: [['id', 'serial']] });

const RESULT_COLUMNS = 'id, address, port, protocol, state, banner, service, version';
type ResultRow = { id: string; address: string; port: number; protocol: Protocol; state: PortState } & Record<
  'banner' | 'service' | 'version',
  string | null
>;
const resultView = ({ id, address, port, protocol, state, banner, service, version }: ResultRow): ResultView => ({
  id,
  address,
  port,
  protocol,
  state,
  banner,
  service,
  version,
});

const HOST_COLUMNS = 'id, scan_id, address, hostname, state';
type HostRow = { id: string; scan_id: string; address: string; hostname: string | null; state: HostState };
const hostView = (row: HostRow): HostView => ({
  id: row.id,
  scanId: row.scan_id,
  address: row.address,
  hostname: row.hostname,
  state: row.state,
});

/**
 * What the API reads of scans, their results and their hosts, as plain rows
 * made read views: only the columns shown, named statements, no identity map
 * or change tracking. No rules and no authorization: the queries decide who
 * reads what. Commands use the entities and repositories.
 */
export class ScanReads {
  readonly #reads: Reads;

  constructor(reads: Reads) {
    this.#reads = reads;
  }

  /** Keyset pagination on (order field, id): a cursor names a position, so pages stay stable while scans are inserted. */
  page(filter: ScanFilter, order: ScanOrder, page: Page): Promise<Connection<ScanView>> {
    const where = scanWhere(filter);
    return SCAN_ORDERS[order.field].select(
      this.#reads,
      { table: 'scans', columns: SCAN_VIEW_COLUMNS, where, order: order.direction === 'ASC' ? 'asc' : 'desc' },
      page,
      scanViewOfRow,
    );
  }

  /** The scans of `ids` that exist, in one query. */
  async byIds(ids: readonly string[]): Promise<ScanView[]> {
    const rows = await this.#reads.rows<ScanRow>({
      sql: `select ${SCAN_VIEW_COLUMNS} from scans where id = any(?::uuid[])`,
      params: [ids],
    });
    return rows.map(scanViewOfRow);
  }

  /** Results of a scan (or one host of it) in the order found, keyset-paged by id. */
  results(owner: ResultOwner, filter: ScanResultFilter, page: Page): Promise<Connection<ResultView>> {
    return RESULTS.select(
      this.#reads,
      { table: 'scan_results', columns: RESULT_COLUMNS, where: resultsWhere([owner], filter) },
      page,
      resultView,
    );
  }

  /**
   * The first page of results of many scans (or hosts of them) in one query,
   * a window per owner, with each owner's total: a dashboard listing scans
   * with their first open ports costs the same whatever its size. Owners of
   * one call are all scans or all hosts; keys are `ownerKey`.
   */
  async firstResults(
    owners: readonly ResultOwner[],
    filter: ScanResultFilter,
    size: number,
  ): Promise<Map<string, { rows: ResultView[]; total: number }>> {
    const byHost = owners.some((owner) => owner.address !== undefined);
    const found = await RESULTS.selectFirstPages(
      this.#reads,
      {
        table: 'scan_results',
        columns: RESULT_COLUMNS,
        where: resultsWhere(owners, filter),
        partitionBy: byHost ? ['scan_id', 'address'] : ['scan_id'],
        size,
      },
      resultView,
    );
    const pages = new Map(
      found.map(({ partition: [scanId, address], rows, total }) => [partitionKey(scanId, byHost ? address : undefined), { rows, total }]),
    );
    return pages;
  }

  /** A scan's hosts in the order recorded, keyset-paged by id. `filter.address` is an address or a network, already checked. */
  hosts(scanId: string, filter: ScanHostFilter, page: Page): Promise<Connection<HostView>> {
    const where: Sql[] = [{ sql: 'scan_id = ?', params: [scanId] }];
    if (filter.state?.length) where.push({ sql: 'state = any(?::text[])', params: [filter.state] });
    if (filter.hostname) where.push({ sql: 'hostname ilike ?', params: [filter.hostname.replace(/[\\%_]/g, (c) => `\\${c}`)] });
    // PostgreSQL does the containment: an address is a /32 (or /128) network.
    if (filter.address) where.push({ sql: 'address::inet <<= ?::inet', params: [filter.address] });
    return HOSTS.select(this.#reads, { table: 'scan_hosts', columns: HOST_COLUMNS, where: all(where) }, page, hostView);
  }
}

/** `scanId`, or `scanId address` for a host's results: as `ownerKey` names an owner. */
const partitionKey = (scanId: unknown, address: unknown): string => (address === undefined ? String(scanId) : `${scanId} ${address}`);

function scanWhere(filter: ScanFilter): Sql | undefined {
  const where: Sql[] = [];
  if (filter.status?.length) where.push({ sql: 'status = any(?::text[])', params: [filter.status] });
  if (filter.scanType?.length) where.push({ sql: 'scan_type = any(?::text[])', params: [filter.scanType] });
  if (filter.ownerId) where.push({ sql: 'owner_id = ?::uuid', params: [filter.ownerId] });
  return where.length ? all(where) : undefined;
}

/** The results of `owners` (all scans, or all hosts) that pass `filter`: one shape for a page and for first pages. */
function resultsWhere(owners: readonly ResultOwner[], filter: ScanResultFilter): Sql {
  const byHost = owners.some((owner) => owner.address !== undefined);
  const where: Sql[] = [];
  if (byHost) {
    // Hosts as (scan, address) pairs, which the unique index on (scan_id, address, …) finds.
    where.push({
      sql: '(scan_id, address) in (select * from unnest(?::uuid[], ?::text[]))',
      params: [owners.map((owner) => owner.scanId), owners.map((owner) => owner.address ?? '')],
    });
  } else {
    where.push({ sql: 'scan_id = any(?::uuid[])', params: [owners.map((owner) => owner.scanId)] });
  }
  if (filter.state?.length) where.push({ sql: 'state = any(?::text[])', params: [filter.state] });
  if (filter.protocol?.length) where.push({ sql: 'protocol = any(?::text[])', params: [filter.protocol] });
  return all(where);
}

const all = (parts: readonly Sql[]): Sql => ({
  sql: parts.map((part) => part.sql).join(' and '),
  params: parts.flatMap((part) => part.params),
});
