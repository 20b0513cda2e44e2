import { defineEntity, p } from '@mikro-orm/core';
import { ConflictError } from '../../errors.ts';
import { Evidence } from '../../evidence/evidence.entity.ts';
import { Scan } from '../../scans/scan.entity.ts';
import { User } from '../../users/user.entity.ts';
import type { TallyRecord } from '../flows/traffic-tally.ts';
import { CAPTURE_STATUSES, CaptureStatus, canTransition } from './capture-status.ts';

const CaptureSchema = defineEntity({
  name: 'Capture',
  tableName: 'captures',
  properties: {
    id: p.uuid().primary(),
    owner: () => p.manyToOne(User).nullable().deleteRule('set null'),
    /** The scan it belongs to: deleting the scan deletes its captures (and stops a running one). */
    scan: () => p.manyToOne(Scan).nullable().deleteRule('cascade'),
    /** The sensor a live capture runs on, by name; `null` for a replay. */
    sensor: p.text().nullable(),
    interface: p.text().nullable(),
    /** The pcap / pcapng evidence a replay reads; its record may go (then the replay fails), the capture stays. */
    sourceEvidence: () => p.manyToOne(Evidence).nullable().deleteRule('set null'),
    filter: p.text().nullable(),
    /** The filter tcpdump is given: an ANALYST's is kept to their allowed networks. */
    effectiveFilter: p.text().nullable(),
    snapLength: p.integer(),
    maxPackets: p.bigint('number'),
    maxSeconds: p.integer(),
    maxBytes: p.bigint('number'),
    speed: p.double(),
    saveEvidence: p.boolean(),
    /** The capture starts once this many `trafficEvents` subscriptions are live (or after `WAIT_FOR_SUBSCRIBERS_SECONDS`). */
    waitForSubscribers: p.integer(),
    /** `trafficEvents` subscriptions live now, counted by the API processes that hold them. */
    watchers: p.integer(),
    status: p.enum(CAPTURE_STATUSES),
    error: p.text().nullable(),
    /** Set by `stopCapture`; the worker running the capture sees it within a second and ends it STOPPED. */
    stopRequestedAt: p.datetime(3).nullable(),
    createdAt: p.datetime(3),
    startedAt: p.datetime(3).nullable(),
    endedAt: p.datetime(3).nullable(),
    packets: p.bigint('number'),
    bytes: p.bigint('number'),
    capturedBytes: p.bigint('number'),
    droppedByKernel: p.bigint('number'),
    droppedForSubscribers: p.bigint('number'),
    decodeErrors: p.bigint('number'),
    /** Protocols, top talkers and the per-second series, as of the last write (about once a second). */
    tally: p.json<TallyRecord>(),
    /** The live capture's pcap kept as evidence, once saved. */
    savedEvidence: () => p.manyToOne(Evidence).nullable().deleteRule('set null'),
  },
  indexes: [
    { properties: ['createdAt', 'id'] },
    { properties: ['owner', 'createdAt', 'id'] },
    { properties: ['scan', 'createdAt', 'id'] },
    { properties: ['status'] },
  ],
});

export type NewCapture = {
  owner: User | null;
  scan: Scan | null;
  sensor: string | null;
  interface: string | null;
  sourceEvidence: Evidence | null;
  filter: string | null;
  effectiveFilter: string | null;
  snapLength: number;
  maxPackets: number;
  maxSeconds: number;
  maxBytes: number;
  speed: number;
  saveEvidence: boolean;
  waitForSubscribers: number;
  now: Date;
};

/** A capture and the rules of its life; counts are written by its worker (`CaptureRepository`). */
export class Capture extends CaptureSchema.class {
  static create(fields: NewCapture): Capture {
    const { now, ...rest } = fields;
    const capture = new Capture();
    Object.assign(capture, {
      ...rest,
      id: crypto.randomUUID(),
      status: CaptureStatus.QUEUED,
      error: null,
      stopRequestedAt: null,
      watchers: 0,
      createdAt: now,
      startedAt: null,
      endedAt: null,
      packets: 0,
      bytes: 0,
      capturedBytes: 0,
      droppedByKernel: 0,
      droppedForSubscribers: 0,
      decodeErrors: 0,
      tally: { protocols: [], talkers: [], series: [] },
      savedEvidence: null,
    });
    return capture;
  }

  start(now: Date): void {
    this.move(CaptureStatus.RUNNING);
    this.startedAt = now;
  }

  end(
    status: typeof CaptureStatus.STOPPED | typeof CaptureStatus.COMPLETED | typeof CaptureStatus.FAILED,
    now: Date,
    error: string | null = null,
  ): void {
    this.move(status);
    this.endedAt = now;
    this.error = status === CaptureStatus.FAILED ? error : null;
  }

  private move(to: CaptureStatus): void {
    if (!canTransition(this.status, to)) throw new ConflictError(`A ${this.status} capture cannot become ${to}.`);
    this.status = to;
  }
}

CaptureSchema.setClass(Capture);

export { CaptureSchema };
