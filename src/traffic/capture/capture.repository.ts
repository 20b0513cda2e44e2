import type { EntityManager } from '@mikro-orm/postgresql';
import type { TallyRecord } from '../flows/traffic-tally.ts';

/** A flow as the worker writes it: the `capture_flows` columns, times as ISO text. */
export type FlowRecord = {
  id: string;
  protocol: string;
  ip_protocol: number | null;
  src: string;
  src_port: number | null;
  dst: string;
  dst_port: number | null;
  first_seen: string;
  last_seen: string;
  originator_packets: number;
  originator_bytes: number;
  responder_packets: number;
  responder_bytes: number;
  state: string;
  tcp_flags: number;
};

/** The counts a worker writes about once a second. */
export type CaptureCounts = { packets: number; bytes: number; capturedBytes: number; decodeErrors: number; droppedByKernel: number };

/** What a running capture's worker reads of its row: a stop asked (or the row gone), and who watches. */
export type CaptureWatch = { stopped: boolean; watchers: number; waitForSubscribers: number };

/**
 * Named writes and small reads of captures outside the entity's rules: the
 * worker's flushes and polls, the API processes' counts of subscribers and
 * their drops. Commands use the entity; display reads `CaptureReads`.
 */
export class CaptureRepository {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  /**
   * Upserts `flows` by id and writes the counts and the tally, in one
   * transaction; returns the drops the API processes have added so far. A
   * capture deleted meanwhile gets nothing written.
   */
  flush(captureId: string, flows: readonly FlowRecord[], counts: CaptureCounts, tally: TallyRecord): Promise<number> {
    return this.em.transactional(async (tx) => {
      if (flows.length) {
        await tx.execute(
          `insert into capture_flows (id, capture_id, protocol, ip_protocol, src, src_port, dst, dst_port, first_seen, last_seen,
             originator_packets, originator_bytes, responder_packets, responder_bytes, packets, bytes, state, tcp_flags)
           select f.id, ?::uuid, f.protocol, f.ip_protocol, f.src, f.src_port, f.dst, f.dst_port, f.first_seen, f.last_seen,
             f.originator_packets, f.originator_bytes, f.responder_packets, f.responder_bytes,
             f.originator_packets + f.responder_packets, f.originator_bytes + f.responder_bytes, f.state, f.tcp_flags
           from jsonb_to_recordset(?::jsonb) as f(id uuid, protocol text, ip_protocol smallint, src text, src_port int, dst text, dst_port int,
             first_seen timestamptz, last_seen timestamptz, originator_packets bigint, originator_bytes bigint, responder_packets bigint,
             responder_bytes bigint, state text, tcp_flags smallint)
           where exists (select 1 from captures where id = ?::uuid)
           on conflict (id) do update set last_seen = excluded.last_seen, originator_packets = excluded.originator_packets,
             originator_bytes = excluded.originator_bytes, responder_packets = excluded.responder_packets,
             responder_bytes = excluded.responder_bytes, packets = excluded.packets, bytes = excluded.bytes,
             state = excluded.state, tcp_flags = excluded.tcp_flags`,
          [captureId, JSON.stringify(flows), captureId],
        );
      }
      const rows = await tx.execute<{ dropped_for_subscribers: string }[]>(
        `update captures set packets = ?, bytes = ?, captured_bytes = ?, decode_errors = ?, dropped_by_kernel = ?, tally = ?::jsonb
         where id = ? returning dropped_for_subscribers`,
        [counts.packets, counts.bytes, counts.capturedBytes, counts.decodeErrors, counts.droppedByKernel, JSON.stringify(tally), captureId],
      );
      return Number(rows[0]?.dropped_for_subscribers ?? 0);
    });
  }

  /** The row's stop, watchers and wait; `stopped` too when the capture is gone (deleted with its scan). */
  async watch(captureId: string): Promise<CaptureWatch> {
    const [row] = await this.em.execute<{ stop_requested_at: Date | null; watchers: number; wait_for_subscribers: number }[]>(
      'select stop_requested_at, watchers, wait_for_subscribers from captures where id = ?',
      [captureId],
    );
    if (!row) return { stopped: true, watchers: 0, waitForSubscribers: 0 };
    return { stopped: row.stop_requested_at !== null, watchers: row.watchers, waitForSubscribers: row.wait_for_subscribers };
  }

  /** One more (or, `-1`, one fewer) `trafficEvents` subscription of the capture is live. */
  async addWatchers(captureId: string, delta: number): Promise<void> {
    await this.em.execute('update captures set watchers = greatest(watchers + ?, 0) where id = ?', [delta, captureId]);
  }

  /** Packets a subscriber missed, added to the capture's count. */
  async addDrops(captureId: string, count: number): Promise<void> {
    await this.em.execute('update captures set dropped_for_subscribers = dropped_for_subscribers + ? where id = ?', [count, captureId]);
  }

  /** Live captures, queued or running, whose sensor has been silent since `before`. */
  async ofSensorsSilentSince(before: Date): Promise<string[]> {
    const rows = await this.em.execute<{ id: string }[]>(
      `select c.id from captures c join capture_sensors s on s.name = c.sensor
       where c.status in ('QUEUED', 'RUNNING') and s.last_seen_at < ?`,
      [before],
    );
    return rows.map((row) => row.id);
  }
}
