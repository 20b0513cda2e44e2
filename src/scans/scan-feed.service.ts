import type { EntityManager } from '@mikro-orm/postgresql';
import { filter, map, pipe, Repeater } from 'graphql-yoga';
import type { Viewer } from '../access/viewer.ts';
import { NotFoundError } from '../errors.ts';
import type { EventBus } from '../module.ts';
import type { Clock } from '../platform/clock.ts';
import { listen } from '../platform/subscription-buffer.ts';
import type { ScanEventMapper as ScanEventView } from './scan.mappers.ts';
import type { ScanReads } from './scan.reads.ts';
import type { ScanEventMessage } from './scan.topics.ts';
import { type ScanView, scanViewOfRecord } from './scan.view.ts';
import { hostView } from './scan-host.entity.ts';
import { ScanHostRepository } from './scan-host.repository.ts';
import { progressEvent, progressView, type ScanProgressView } from './scan-progress.ts';
import { ScanResultRepository } from './scan-result.repository.ts';
import { isFinished } from './scan-status.ts';

export type ScanFeedDeps = { em: EntityManager; reads: ScanReads; viewer: Viewer; events: EventBus; clock: Clock };

/** OPEN results read per query while a late subscriber catches up. */
const CATCH_UP_PAGE = 1_000;

/**
 * Subscriptions on scans. A change's event carries the scan as that change
 * left it, so a subscriber sees every transition once and in order, and a
 * delivery costs no query; what a subscriber catches up on is read committed,
 * through a fresh EntityManager, never a copy cached for the lifetime of its
 * socket.
 */
export class ScanFeed {
  private readonly em: EntityManager;
  private readonly reads: ScanReads;
  private readonly viewer: Viewer;
  private readonly events: EventBus;
  private readonly clock: Clock;

  constructor({ em, reads, viewer, events, clock }: ScanFeedDeps) {
    this.em = em;
    this.reads = reads;
    this.viewer = viewer;
    this.events = events;
    this.clock = clock;
  }

  /** Scans the viewer may see, as each change left them, as they are created or change. */
  watch(): AsyncIterable<ScanView> {
    this.viewer.assert('scan:read');
    return pipe(
      this.events.subscribe('scanUpdated'),
      filter((event) => this.viewer.mayAccess('scan:read', event.scan.ownerId)),
      map((event) => scanViewOfRecord(event.scan)),
    );
  }

  /** The scan if the viewer may see it: someone else's is as missing as an unknown one. */
  private async visible(scanId: string): Promise<ScanView | null> {
    const [scan] = await this.reads.byIds([scanId]);
    return scan && this.viewer.mayAccess('scan:read', scan.ownerId) ? scan : null;
  }

  /**
   * One scan's progress: the current state first, then the worker's updates
   * until the scan ends. Subscribes before reading, so nothing published in
   * between is lost.
   */
  watchProgress(scanId: string): AsyncIterable<ScanProgressView> {
    this.viewer.assert('scan:read');
    return new Repeater<ScanProgressView>(async (push, stop) => {
      const live = listen(this.events.subscribe('scanProgress', scanId), stop);
      const scan = await this.visible(scanId);
      if (!scan) return stop(new NotFoundError('Scan not found.'));
      await push(progressView(progressEvent(scan, this.clock.now())));
      if (isFinished(scan.status)) return stop();
      for await (const event of live) {
        await push(progressView(event));
        if (isFinished(event.status)) break;
      }
      stop();
    });
  }

  /**
   * What happens in one scan: first what already happened (its status, the
   * hosts known UP or DOWN, every OPEN port stored; an ended status last),
   * then each new event, until the scan ends. Live events are collected from before the past is
   * read, and each event goes out at most once, so a late subscriber misses
   * nothing and sees nothing twice.
   */
  watchEvents(scanId: string): AsyncIterable<ScanEventView> {
    this.viewer.assert('scan:read');
    return new Repeater<ScanEventView>(async (push, stop) => {
      const live = listen(this.events.subscribe('scanEvents', scanId), stop);
      const em = this.em.fork();
      const scan = await this.visible(scanId);
      if (!scan) return stop(new NotFoundError('Scan not found.'));
      const sent = new Set<string>();
      const send = async (event: ScanEventView) => {
        const key = eventKey(event);
        if (sent.has(key)) return;
        sent.add(key);
        await push(event);
      };

      // The status leads, unless it is the last word: then it ends the replay, as it would have ended the live feed.
      const status: ScanEventView = {
        type: 'ScanStatusChanged',
        scanId,
        at: scan.updatedAt,
        status: scan.status,
        error: scan.error ?? null,
        scan,
      };
      if (!isFinished(scan.status)) await send(status);
      for (const host of await new ScanHostRepository(em).findChanged(scanId)) {
        await send({ type: 'HostStateChanged', scanId, at: host.changedAt, host: hostView(host) });
      }
      const results = new ScanResultRepository(em);
      for (let after = '0'; ; ) {
        const page = await results.openAfter(scanId, after, CATCH_UP_PAGE);
        for (const result of page) await send({ type: 'PortFound', scanId, at: result.foundAt, result });
        if (page.length < CATCH_UP_PAGE) break;
        after = page.at(-1)?.id ?? after;
        em.clear();
      }
      if (isFinished(scan.status)) {
        await send(status);
        return stop();
      }

      for await (const message of live) {
        const event = this.toView(message);
        await send(event);
        if (event.type === 'ScanStatusChanged' && isFinished(event.status)) break;
      }
      stop();
    });
  }

  private toView(message: ScanEventMessage): ScanEventView {
    const at = new Date(message.at);
    switch (message.type) {
      case 'PortFound':
        return { type: message.type, scanId: message.scanId, at, result: message.result };
      case 'HostStateChanged':
        return { type: message.type, scanId: message.scanId, at, host: { scanId: message.scanId, ...message.host } };
      case 'ScanStatusChanged':
        return {
          type: message.type,
          scanId: message.scanId,
          at,
          status: message.status,
          error: message.error,
          scan: scanViewOfRecord(message.scan),
        };
    }
  }
}

/** What makes two events the same news: a subscriber gets each once. */
function eventKey(event: ScanEventView): string {
  switch (event.type) {
    case 'PortFound':
      return `port ${event.result.address} ${event.result.protocol} ${event.result.port}`;
    case 'HostStateChanged':
      return `host ${event.host.address} ${event.host.state}`;
    case 'ScanStatusChanged':
      return `status ${event.status}`;
  }
}
