import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { ConflictError } from '../errors.ts';
import { Target } from '../net/target.ts';
import { User } from '../users/user.entity.ts';
import type { PortState } from './engine/scanner.ts';
import { PortSpecType } from './port-spec.column.ts';
import type { PortSpec } from './port-spec.ts';
import type { ScanSettings } from './scan-options.ts';
import { canTransition, SCAN_STATUSES, SCAN_TYPES, ScanStatus, type ScanType } from './scan-status.ts';

const ScanSchema = defineEntity({
  name: 'Scan',
  tableName: 'scans',
  properties: {
    id: p.uuid().primary(),
    /** Who created it; `null` for scans from before users existed, which only ADMIN and VIEWER see. */
    owner: () => p.manyToOne(User).nullable().deleteRule('set null'),
    targets: p.array(
      (text) => Target.parse(text),
      (target: Target) => target.toString(),
    ),
    ports: p.type(PortSpecType),
    scanType: p.enum(SCAN_TYPES),
    status: p.enum(SCAN_STATUSES),
    // Millisecond precision, like JS dates: cursors carry these values and must compare equal.
    createdAt: p.datetime(3),
    updatedAt: p.datetime(3),
    startedAt: p.datetime(3).nullable(),
    finishedAt: p.datetime(3).nullable(),
    error: p.text().nullable(),
    options: p.json<ScanSettings>(),
    probesTotal: p.integer(),
    /** Results stored: always `openPorts + closedPorts + filteredPorts`, written in the transaction that stores them. */
    probesDone: p.integer(),
    openPorts: p.integer(),
    closedPorts: p.integer(),
    filteredPorts: p.integer(),
    /**
     * How far the engine says it has come, at least `probesDone`: nmap hands
     * a host's results over only once it is done with it. Moves the percent,
     * rate and ETA, never the counts.
     */
    probesEstimate: p.integer(),
  },
  indexes: [
    { properties: ['createdAt', 'id'] },
    { properties: ['updatedAt', 'id'] },
    { properties: ['status'] },
    { properties: ['owner', 'createdAt', 'id'] },
  ],
  checks: [
    { name: 'scans_targets_check', expression: 'cardinality(targets) > 0' },
    { name: 'scans_counts_check', expression: 'probes_done = open_ports + closed_ports + filtered_ports' },
    { name: 'scans_probes_estimate_check', expression: 'probes_estimate >= probes_done' },
  ],
});

/** What a status change tells the rest of the system; returned, never stored on the entity. */
export type ScanTransition = {
  type: 'ScanTransition';
  scanId: string;
  from: ScanStatus;
  to: ScanStatus;
  at: Date;
};

/** Stored results of a scan by port state. */
export type PortCounts = Record<PortState, number>;
const NONE: PortCounts = { OPEN: 0, CLOSED: 0, FILTERED: 0 };

export type NewScan = {
  /** Who creates it; only scans older than users have none. */
  owner?: User | null;
  targets: readonly Target[];
  ports: PortSpec;
  scanType: ScanType;
  options?: ScanSettings;
  now: Date;
};

/**
 * A port scan. Status changes go through `transition`, which enforces the
 * table in `scan-status.ts`; the ORM hydrates entities without constructors,
 * so rules live in methods, not in constructor checks.
 */
export class Scan extends ScanSchema.class {
  static create({ owner = null, targets, ports, scanType, options = {}, now }: NewScan): Scan {
    const scan = new Scan();
    scan.id = randomUUID();
    scan.owner = owner;
    scan.targets = [...targets];
    scan.ports = ports;
    scan.scanType = scanType;
    scan.status = ScanStatus.PENDING;
    scan.createdAt = now;
    scan.updatedAt = now;
    scan.startedAt = null;
    scan.finishedAt = null;
    scan.error = null;
    scan.options = options;
    scan.probesTotal = 0;
    scan.probesEstimate = 0;
    scan.countResults(NONE);
    return scan;
  }

  queue(now: Date): ScanTransition {
    return this.transition(ScanStatus.QUEUED, now);
  }

  /** Begins running, with the number of probes it will send (hosts × ports). */
  start(now: Date, probesTotal: number): ScanTransition {
    const event = this.transition(ScanStatus.RUNNING, now);
    this.startedAt = now;
    this.probesTotal = probesTotal;
    this.probesEstimate = 0;
    this.countResults(NONE);
    return event;
  }

  /**
   * Runs again after the worker of its last attempt stopped (a retry of its
   * job), now sending `probesTotal` probes: a name may resolve to other
   * addresses than before. Its status, start and `updatedAt` stay as they
   * were, as nothing changed that a client was told of; its counts are those
   * of the results already stored, counted again under the row lock (see
   * `ScanRepository.recount`). CONFLICT unless it is RUNNING.
   */
  restart(probesTotal: number): void {
    if (this.status !== ScanStatus.RUNNING) {
      throw new ConflictError(`The scan is ${this.status}; only a RUNNING scan can start again.`);
    }
    this.probesTotal = probesTotal;
  }

  /** The counts of its stored results; the estimate never falls behind them. */
  countResults(counts: PortCounts): void {
    this.openPorts = counts.OPEN;
    this.closedPorts = counts.CLOSED;
    this.filteredPorts = counts.FILTERED;
    this.probesDone = counts.OPEN + counts.CLOSED + counts.FILTERED;
    this.probesEstimate = Math.max(this.probesEstimate, this.probesDone);
  }

  complete(now: Date): ScanTransition {
    const event = this.transition(ScanStatus.COMPLETED, now);
    this.finishedAt = now;
    return event;
  }

  fail(now: Date, reason: string): ScanTransition {
    const event = this.transition(ScanStatus.FAILED, now);
    this.finishedAt = now;
    this.error = reason;
    return event;
  }

  cancel(now: Date): ScanTransition {
    const event = this.transition(ScanStatus.CANCELLED, now);
    this.finishedAt = now;
    return event;
  }

  /** The owner's ID, without loading the owner. */
  get ownerId(): string | null {
    return this.owner?.id ?? null;
  }

  private transition(to: ScanStatus, now: Date): ScanTransition {
    const from = this.status;
    if (!canTransition(from, to)) {
      throw new ConflictError(`The scan is ${from}; it cannot become ${to}.`);
    }
    this.status = to;
    this.updatedAt = now;
    return { type: 'ScanTransition', scanId: this.id, from, to, at: now };
  }
}

ScanSchema.setClass(Scan);

export { ScanSchema };
