import type { Family } from '../../net/ip.ts';
import type { PortSpec } from '../port-spec.ts';

export const PortState = { OPEN: 'OPEN', CLOSED: 'CLOSED', FILTERED: 'FILTERED' } as const;
export type PortState = (typeof PortState)[keyof typeof PortState];

export type Protocol = 'TCP' | 'UDP';

/** One address to probe, already resolved and checked against the scope. */
export type ProbeHost = {
  address: string;
  family: Family;
  /** The hostname target it was resolved from, if any. */
  hostname?: string;
};

/** The outcome of probing one port of one host. */
export type ProbeResult = {
  address: string;
  port: number;
  protocol: Protocol;
  state: PortState;
  /** First bytes the service sent, when banner grabbing is on and it spoke. */
  banner?: string;
  /** The service an engine identified (nmap names it); absent leaves the well-known-ports guess. */
  service?: string;
  /** Product and version, when service detection found them. */
  version?: string;
};

export type ScanPlan = { hosts: readonly ProbeHost[]; ports: PortSpec };

export type ScanOptions = {
  /** Time to wait for a connection before a probe counts as timed out. @default 1000 */
  timeoutMs: number;
  /** Probes in flight at once. @default 500 */
  concurrency: number;
  /** Extra attempts for a probe that timed out; a refusal is never retried. @default 1 */
  retries: number;
  /** Most probes started per second across the scan; 0 for no limit. @default 0 */
  maxRate: number;
  /** Read what an open port says first. @default false */
  bannerGrab: boolean;
  /** How long to wait for a banner. @default 500 */
  bannerTimeoutMs: number;
  /** Most bytes of a banner kept. @default 256 */
  bannerMaxBytes: number;
};

export const DEFAULT_SCAN_OPTIONS: ScanOptions = {
  timeoutMs: 1_000,
  concurrency: 500,
  retries: 1,
  maxRate: 0,
  bannerGrab: false,
  bannerTimeoutMs: 500,
  bannerMaxBytes: 256,
};

/**
 * How far an engine that reports results late (nmap hands a host over once it
 * is done) has come: an estimate of the probes done, for progress.
 */
export type OnProgress = (probesDone: number) => void;

/**
 * A scanning engine: probes every port of every host and streams the results
 * in batches, so callers can write them in bulk and report progress. Stops
 * within a second of `signal` aborting.
 */
export type Scanner = {
  scan(plan: ScanPlan, options: ScanOptions, signal?: AbortSignal, onProgress?: OnProgress): AsyncIterable<ProbeResult[]>;
};
