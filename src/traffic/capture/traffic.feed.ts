import type { EntityManager } from '@mikro-orm/postgresql';
import { filter, map, pipe, Repeater } from 'graphql-yoga';
import type { Viewer } from '../../access/viewer.ts';
import { NotFoundError } from '../../errors.ts';
import type { EventBus } from '../../module.ts';
import type { CaptureQueries } from './capture.queries.ts';
import { CaptureRepository } from './capture.repository.ts';
import type { CaptureStats, TrafficPacket } from './capture.topics.ts';
import { type CaptureView, captureView } from './capture.view.ts';
import { isEnded } from './capture-status.ts';
import type { DeliveryBudget } from './delivery-budget.ts';
import { TrafficFilter, type TrafficFilterInput } from './traffic-filter.ts';

/** Packets held for one subscriber that reads slower than they come; past it, the newest are dropped and counted. */
export const MAX_QUEUED_PACKETS = 2_000;
/** Packets in one batch at most, and how long a batch waits to fill. */
export const MAX_BATCH_PACKETS = 1_000;
export const BATCH_MS = 100;
/** How often a subscriber's drops are added to its capture's count. */
const DROPS_EVERY_MS = 1_000;

export type TrafficBatch = { captureId: string; packets: TrafficPacket[]; dropped: number };

export type TrafficFeedDeps = { viewer: Viewer; events: EventBus; captures: CaptureQueries; em: EntityManager; budget: DeliveryBudget };

/**
 * Subscriptions on captures. `trafficEvents` gives each subscriber a bounded
 * queue of its own: a slow reader loses packets (counted in its batches'
 * `dropped` and its capture's `droppedForSubscribers`), never grows the
 * server's memory, never slows the capture or anyone else.
 */
export class TrafficFeed {
  readonly #viewer: Viewer;
  readonly #events: EventBus;
  readonly #captures: CaptureQueries;
  readonly #em: EntityManager;
  readonly #budget: DeliveryBudget;

  constructor({ viewer, events, captures, em, budget }: TrafficFeedDeps) {
    this.#budget = budget;
    this.#viewer = viewer;
    this.#events = events;
    this.#captures = captures;
    this.#em = em;
  }

  /** Captures the viewer may see, as each change left them. */
  watch(): AsyncIterable<CaptureView> {
    this.#viewer.assert('capture:read');
    return pipe(
      this.#events.subscribe('captureUpdated'),
      filter((event) => this.#viewer.mayAccess('capture:read', event.capture.ownerId)),
      map((event) => captureView(event.capture)),
    );
  }

  /**
   * The capture, or `null` once the stream ended with NOT_FOUND. Refused
   * inside the stream, as the scan feeds do: an error thrown while
   * subscribing reaches the client as a request error (BAD_USER_INPUT).
   */
  async #visible(captureId: string, stop: (error: Error) => unknown): Promise<CaptureView | null> {
    const capture = await this.#captures.get(captureId);
    if (!capture) stop(new NotFoundError('No capture with this ID.'));
    return capture;
  }

  /** A capture's packets in batches, filtered, until it ends. */
  async packets(captureId: string, input: TrafficFilterInput | null | undefined): Promise<AsyncIterable<TrafficBatch>> {
    this.#viewer.assert('capture:read');
    const wanted = new TrafficFilter(input ?? {});
    const events = this.#events;
    const em = this.#em;
    const budget = this.#budget;
    return new Repeater<TrafficBatch>(async (push, stop) => {
      const capture = await this.#visible(captureId, stop);
      if (!capture) return;
      // An empty batch at once: the subscription is live (and, for an ended capture, the only one).
      await push({ captureId, packets: [], dropped: 0 });
      if (isEnded(capture.status)) return stop();
      // Counted where workers see it: a capture waiting for its subscribers starts once enough are live.
      const captures = new CaptureRepository(em);
      const watching = (delta: number) => captures.addWatchers(captureId, delta).catch(() => {});
      const queue: TrafficPacket[] = [];
      let dropped = 0;
      let unreported = 0;
      let ended = false;
      const packets = events.subscribe('trafficPackets', captureId)[Symbol.asyncIterator]();
      const stats = events.subscribe('trafficStats', captureId)[Symbol.asyncIterator]();
      const updates = events.subscribe('captureUpdated')[Symbol.asyncIterator]();
      await watching(1);
      void (async () => {
        for (let next = await packets.next(); !next.done; next = await packets.next()) {
          for (const packet of next.value.packets) {
            if (!wanted.empty && !wanted.matches(packet)) continue;
            if (queue.length >= MAX_QUEUED_PACKETS) dropped++;
            else queue.push(packet);
          }
        }
      })().catch(() => {});
      const end = () => {
        ended = true;
      };
      void (async () => {
        for (let next = await stats.next(); !next.done; next = await stats.next()) if (next.value.final) return end();
      })().catch(() => {});
      void (async () => {
        for (let next = await updates.next(); !next.done; next = await updates.next()) {
          if (next.value.captureId === captureId && isEnded(next.value.status)) return end();
        }
      })().catch(() => {});
      const reportDrops = async () => {
        if (unreported === 0) return;
        const count = unreported;
        unreported = 0;
        await captures.addDrops(captureId, count).catch(() => {});
      };
      const dropsTimer = setInterval(() => void reportDrops(), DROPS_EVERY_MS);
      dropsTimer.unref();
      let stopped = false;
      // A wait of its own each batch, woken by the stop: racing `stop` itself would leave a reaction on it per batch, all held until the end.
      let wake: (() => void) | null = null;
      void stop.then(() => {
        stopped = true;
        wake?.();
      });
      const nextBatch = () =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, BATCH_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      try {
        while (!stopped) {
          await nextBatch();
          wake = null;
          // After the end, what is queued still goes out, then the subscription completes.
          if (queue.length === 0 && dropped === 0) {
            if (ended) break;
            continue;
          }
          // The process's budget says how many may go; the rest waits, or, once the capture ended, is dropped.
          const batch = queue.splice(0, budget.take(Math.min(queue.length, MAX_BATCH_PACKETS)));
          if (ended && queue.length > 0) {
            dropped += queue.length;
            queue.length = 0;
          }
          if (batch.length === 0 && dropped === 0) continue;
          const missed = dropped;
          dropped = 0;
          unreported += missed;
          // `push` resolves once the client took the batch: a slow one holds the loop here while its queue fills and drops.
          await push({ captureId, packets: batch, dropped: missed });
        }
      } finally {
        clearInterval(dropsTimer);
        await Promise.all([packets.return?.(), stats.return?.(), updates.return?.()]);
        await watching(-1);
        await reportDrops();
        stop();
      }
    });
  }

  /** The capture's stats at once, then as its worker tells them (about once a second), then a last time; then completes. */
  async stats(captureId: string): Promise<AsyncIterable<CaptureStats>> {
    this.#viewer.assert('capture:read');
    const events = this.#events;
    return new Repeater<CaptureStats>(async (push, stop) => {
      const capture = await this.#visible(captureId, stop);
      if (!capture) return;
      await push(this.#captures.stats(capture));
      if (isEnded(capture.status)) return stop();
      const stats = events.subscribe('trafficStats', captureId)[Symbol.asyncIterator]();
      void stop.then(() => stats.return?.());
      for (let next = await stats.next(); !next.done; next = await stats.next()) {
        await push(next.value.stats);
        if (next.value.final) break;
      }
      stop();
    });
  }
}
