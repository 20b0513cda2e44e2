/**
 * What every subscriber socket received of `scanUpdated`, and how that
 * compares with what it should have: each status change of each scan it may
 * see, once and in order, and nothing of scans it may not see.
 */

/** One letter per status, so a socket's history of one scan is a short string (`PQRC`). */
export const STATUS_LETTER: Record<string, string> = {
  PENDING: 'P',
  QUEUED: 'Q',
  RUNNING: 'R',
  COMPLETED: 'C',
  FAILED: 'F',
  CANCELLED: 'X',
};
const RANK: Record<string, number> = { P: 0, Q: 1, R: 2, C: 3, F: 3, X: 3 };

/** Whose scans a socket may see: one analyst's (by index), or everyone's. */
export type Audience = number | 'ADMIN';

export type SocketTally = {
  audience: Audience;
  /** Scan ID → the statuses received for it, in order of receipt. */
  seen: Map<string, string>;
  /** Why the subscription ended before the bench closed it. */
  ended?: string;
};

/** A scan of the run as the API reports it at the end: whose it is and the statuses it went through. */
export type ScanHistory = { owner: number; statuses: string };

export type Summary = {
  expected: number;
  /** Expected (socket, scan, status) triples received at least once. */
  delivered: number;
  /** Receipts beyond the first of one status of one scan on one socket. */
  duplicates: number;
  /** Deliveries of a scan of another user: what the socket's user may not see. */
  foreign: number;
  /** Deliveries of scans this run did not make (nor its readiness probes). */
  unknown: number;
  /** A status the API says the scan never had. */
  unexpected: number;
  /** (socket, scan) pairs whose statuses came in an order the lifecycle does not have. */
  outOfOrder: number;
  /** How often each history (`PQRC`, `PQQC`…) was received, over the (socket, scan) pairs that should have one. */
  patterns: Map<string, number>;
  /** Milliseconds from `updatedAt` to receipt, each delivery of the run's scans, sorted. */
  latencies: Float64Array;
  ended: Map<string, number>;
};

type ScanPayload = { data?: { scanUpdated?: { id?: unknown; status?: unknown; updatedAt?: unknown } | null } | null; errors?: unknown };

export class DeliveryTally {
  readonly sockets: SocketTally[] = [];
  /** (socket, scan) pairs that have received COMPLETED, of any scan: the cheap test of whether the run may be over. */
  completed = 0;
  malformed = 0;
  firstMalformed: string | undefined;
  readonly #latencies = new Map<string, number[]>();

  /** One `next` payload: kept as a status letter and a latency, nothing more. */
  record(socket: SocketTally, payload: unknown, receivedAt: number): void {
    const scan = (payload as ScanPayload | null)?.data?.scanUpdated;
    const letter = typeof scan?.status === 'string' ? STATUS_LETTER[scan.status] : undefined;
    if (!scan || typeof scan.id !== 'string' || typeof scan.updatedAt !== 'string' || !letter || (payload as ScanPayload).errors) {
      this.malformed += 1;
      this.firstMalformed ??= JSON.stringify(payload).slice(0, 300);
      return;
    }
    const before = socket.seen.get(scan.id) ?? '';
    socket.seen.set(scan.id, before + letter);
    if (letter === 'C' && !before.includes('C')) this.completed += 1;
    const latency = receivedAt - Date.parse(scan.updatedAt);
    const latencies = this.#latencies.get(scan.id);
    if (latencies) latencies.push(latency);
    else this.#latencies.set(scan.id, [latency]);
  }

  /** Whether the socket received one of the probe scans it may see: then its subscription was live before they were created. */
  isLive(socket: SocketTally, probes: ReadonlyMap<string, number>): boolean {
    for (const [id, owner] of probes) if ((socket.audience === 'ADMIN' || socket.audience === owner) && socket.seen.has(id)) return true;
    return false;
  }

  summarize(scans: ReadonlyMap<string, ScanHistory>, probes: ReadonlySet<string>): Summary {
    const summary: Summary = {
      expected: 0,
      delivered: 0,
      duplicates: 0,
      foreign: 0,
      unknown: 0,
      unexpected: 0,
      outOfOrder: 0,
      patterns: new Map(),
      latencies: new Float64Array(0),
      ended: new Map(),
    };
    for (const socket of this.sockets) {
      if (socket.ended) summary.ended.set(socket.ended, (summary.ended.get(socket.ended) ?? 0) + 1);
      for (const [id, scan] of scans) {
        if (socket.audience !== 'ADMIN' && socket.audience !== scan.owner) continue;
        compare(summary, socket.seen.get(id) ?? '', scan.statuses);
      }
      for (const [id, received] of socket.seen) {
        const scan = scans.get(id);
        if (scan && socket.audience !== 'ADMIN' && socket.audience !== scan.owner) summary.foreign += received.length;
        else if (!scan && !probes.has(id)) summary.unknown += received.length;
      }
    }
    const all = [...scans.keys()].flatMap((id) => this.#latencies.get(id) ?? []);
    summary.latencies = Float64Array.from(all).sort();
    return summary;
  }
}

function compare(summary: Summary, received: string, statuses: string): void {
  summary.expected += statuses.length;
  summary.patterns.set(received || '(none)', (summary.patterns.get(received || '(none)') ?? 0) + 1);
  const distinct = new Set(received);
  summary.duplicates += received.length - distinct.size;
  for (const letter of distinct) {
    if (statuses.includes(letter)) summary.delivered += 1;
    else summary.unexpected += 1;
  }
  const rank = (i: number) => RANK[received.charAt(i)] ?? 0;
  for (let i = 1; i < received.length; i++) {
    if (rank(i) < rank(i - 1)) {
      summary.outOfOrder += 1;
      break;
    }
  }
}

/** The value at `p` percent of sorted values (nearest rank); NaN for none. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}
