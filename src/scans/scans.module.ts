import { AuditLog } from '../audit/audit-log.ts';
import { type AreaModule, defineQueue } from '../module.ts';
import { createConnectScanner } from './engine/connect-scanner.ts';
import { createNmapScanner } from './engine/nmap-scanner.ts';
import { CreateScans } from './migrations/20261123000000-create-scans.ts';
import { ScanExecution } from './migrations/20261123100000-scan-execution.ts';
import { ScanHosts } from './migrations/20261123200000-scan-hosts.ts';
import { ScanCounts } from './migrations/20261125000000-scan-counts.ts';
import { ScanCommands } from './scan.commands.ts';
import { ScanSchema } from './scan.entity.ts';
import { createScanGivenUpHandler, createScanJob } from './scan.jobs.ts';
import { ScanLoaders } from './scan.loaders.ts';
import { ScanQueries } from './scan.queries.ts';
import { ScanReads } from './scan.reads.ts';
import { scanResolvers } from './scan.resolvers.ts';
import type { ScanEventMessage, ScanProgressed, ScanUpdated } from './scan.topics.ts';
import { isScanView } from './scan.view.ts';
import { ScanFeed } from './scan-feed.service.ts';
import { ScanHostSchema } from './scan-host.entity.ts';
import { recoverStrandedScans } from './scan-recovery.ts';
import { ScanResultSchema } from './scan-result.entity.ts';

declare module '../module.ts' {
  interface Topics {
    scanUpdated: [event: ScanUpdated];
    scanProgress: [scanId: string, event: ScanProgressed];
    scanEvents: [scanId: string, event: ScanEventMessage];
  }
  interface Jobs {
    'scan.run': { scanId: string };
  }
  interface Services {
    /** Reads: a scan, pages of scans, and a scan's results, hosts, progress and summary. */
    scans: ScanQueries;
    /** Changes: create, start, cancel, delete. */
    scanCommands: ScanCommands;
    /** Subscriptions. */
    scanFeed: ScanFeed;
  }
}

declare module '../access/viewer.ts' {
  interface Permissions {
    'scan:read': true;
    'scan:create': true;
    'scan:write': true;
  }
}

declare module '../audit/audit-event.entity.ts' {
  interface AuditActions {
    SCAN_CREATED: true;
    SCAN_STARTED: true;
    SCAN_CANCELLED: true;
    SCAN_DELETED: true;
    SCAN_REFUSED: true;
  }
}

/** The job of running one scan; a job of a worker that died is handed to another (heartbeats), up to `SCAN_JOB_RETRIES` times. */
const scanRun = defineQueue({
  name: 'scan.run',
  settings: (config) => ({ retryLimit: config.worker.retries, expireInSeconds: 6 * 60 * 60, heartbeatSeconds: 10 }),
  concurrency: (config) => config.worker.concurrency,
  handler: (runtime) =>
    createScanJob({
      orm: runtime.orm,
      events: runtime.events,
      scope: runtime.baseline,
      clock: runtime.clock,
      logger: runtime.logger,
      resolve: runtime.resolve,
      maxHosts: runtime.config.scans.maxHosts,
      scanners: {
        CONNECT: createConnectScanner(),
        SYN: createNmapScanner('SYN', runtime.config.worker.nmapPath),
        UDP: createNmapScanner('UDP', runtime.config.worker.nmapPath),
        VERSION: createNmapScanner('VERSION', runtime.config.worker.nmapPath),
      },
    }),
  givenUp: (runtime) => createScanGivenUpHandler(runtime),
});

/**
 * Port scans: creating, starting, cancelling and deleting them, the job that
 * runs them on a worker, their results and hosts, and their live events.
 */
export const scansModule = {
  name: 'scans',
  entities: [ScanSchema, ScanResultSchema, ScanHostSchema],
  migrations: [
    { name: '20261123000000-create-scans', class: CreateScans },
    { name: '20261123100000-scan-execution', class: ScanExecution },
    { name: '20261123200000-scan-hosts', class: ScanHosts },
    { name: '20261125000000-scan-counts', class: ScanCounts },
  ],
  resolvers: [scanResolvers],
  nodes: { Scan: { load: (services, id) => services.scans.get(id), is: isScanView } },
  topics: ['scanUpdated', 'scanProgress', 'scanEvents'],
  // scanProgress and scanEvents start with the scan's state so far, each subscriber's own.
  sharedSubscriptions: ['scanUpdated'],
  queues: [scanRun],
  // VIEWER reads every scan and changes none; ANALYST creates scans and acts on its own; ADMIN on all.
  grants: {
    ADMIN: { 'scan:read': 'all', 'scan:create': 'all', 'scan:write': 'all' },
    ANALYST: { 'scan:read': 'own', 'scan:create': 'all', 'scan:write': 'own' },
    VIEWER: { 'scan:read': 'all' },
  },
  auditActions: ['SCAN_CREATED', 'SCAN_STARTED', 'SCAN_CANCELLED', 'SCAN_DELETED', 'SCAN_REFUSED'],
  // Scans left QUEUED or RUNNING by a process that died are queued again or failed; not fatal, the next start tries again.
  async start(runtime) {
    await recoverStrandedScans(runtime).catch((error: unknown) => runtime.logger.error({ err: error }, 'could not recover stranded scans'));
  },
  services: (scope) => {
    const { em, viewer, events, jobs, clock, resolve, logger } = scope;
    // One set per request, shared: a mutation finds its scan in the cache a read of the same request filled.
    const reads = new ScanReads(scope.reads);
    const loaders = new ScanLoaders(em, reads);
    return {
      scans: new ScanQueries({ reads, viewer, clock, loaders }),
      scanCommands: new ScanCommands({
        em,
        viewer,
        audit: new AuditLog(scope),
        events,
        jobs,
        scope: scope.baseline,
        limits: scope.config.scans,
        clock,
        resolve,
        logger,
        loaders,
      }),
      scanFeed: new ScanFeed({ em, reads, viewer, events, clock }),
    };
  },
} satisfies AreaModule;
