import { AuditLog } from '../audit/audit-log.ts';
import { EvidenceReads } from '../evidence/evidence.reads.ts';
import type { AreaModule, AreaQueue, RequestScope, Runtime } from '../module.ts';
import { defineQueue } from '../module.ts';
import { ScanReads } from '../scans/scan.reads.ts';
import { CaptureCommands, liveQueueOf, REPLAY_QUEUE } from './capture/capture.commands.ts';
import { CaptureSchema } from './capture/capture.entity.ts';
import { createCaptureGivenUpHandler, createCaptureJob, endCapturesOfLostSensors } from './capture/capture.jobs.ts';
import { CaptureLoaders } from './capture/capture.loaders.ts';
import { CaptureQueries } from './capture/capture.queries.ts';
import { CaptureReads } from './capture/capture.reads.ts';
import type { CaptureUpdated, TrafficPackets, TrafficStatsMessage } from './capture/capture.topics.ts';
import { isCaptureView, isFlowView } from './capture/capture.view.ts';
import { DeliveryBudget } from './capture/delivery-budget.ts';
import { FlowSchema } from './capture/flow.entity.ts';
import { TrafficFeed } from './capture/traffic.feed.ts';
import { CreateCaptureSensors } from './migrations/20261210000000-capture-sensors.ts';
import { CreateCaptures } from './migrations/20261210100000-captures.ts';
import { CaptureSensorSchema } from './sensors/capture-sensor.entity.ts';
import { isSensorView, type RunningSensor, SensorRegistry, startSensor } from './sensors/sensor-registry.ts';
import { trafficResolvers } from './traffic.resolvers.ts';

declare module '../module.ts' {
  interface Topics {
    captureUpdated: [event: CaptureUpdated];
    trafficPackets: [captureId: string, event: TrafficPackets];
    trafficStats: [captureId: string, event: TrafficStatsMessage];
  }
  interface Jobs {
    'capture.replay': { captureId: string };
    /** A live capture, on the queue of the sensor it names (one queue per sensor, named at run time). */
    [queue: `capture.live.${string}`]: { captureId: string };
  }
  interface Services {
    /** Reads: captures, their flows, stats and tallies. */
    captures: CaptureQueries;
    /** Changes: start, stop. */
    captureCommands: CaptureCommands;
    /** Subscriptions. */
    trafficFeed: TrafficFeed;
  }
}

declare module '../access/viewer.ts' {
  interface Permissions {
    'capture:read': true;
    'capture:create': true;
    'capture:write': true;
  }
}

declare module '../audit/audit-event.entity.ts' {
  interface AuditActions {
    CAPTURE_STARTED: true;
    CAPTURE_STOPPED: true;
    CAPTURE_SAVED: true;
  }
}

const captureSettings = (runtime: { config: Runtime['config'] }) => ({
  // A capture is not tried again: its traffic has passed. A worker that dies leaves it to the given-up handler.
  retryLimit: 0,
  expireInSeconds: runtime.config.traffic.maxSeconds + 600,
  heartbeatSeconds: 10,
});

/** Replays of recorded captures: any worker. */
const replays = defineQueue({
  name: REPLAY_QUEUE,
  settings: (config) => captureSettings({ config }),
  concurrency: (config) => config.traffic.concurrency,
  handler: (runtime) => createCaptureJob(runtime),
  givenUp: (runtime) => createCaptureGivenUpHandler(runtime),
});

/** Live captures: each sensor works its own queue, `capture.live.<SENSOR_NAME>`, declared once as a family. */
const liveCaptures: AreaQueue = {
  name: 'capture.live.*',
  settings: (config) => captureSettings({ config }),
  async work(jobs, runtime) {
    const name = liveQueueOf(runtime.config.traffic.sensorName);
    await jobs.work(name, runtime.config.traffic.concurrency, createCaptureJob(runtime));
    await jobs.onGivenUp(name, createCaptureGivenUpHandler(runtime));
  },
};

const sensors = new WeakMap<Runtime, { sensor: RunningSensor; sweep: NodeJS.Timeout }>();
/** One delivery budget per app (its config), shared by every subscriber of the process. */
const budgets = new WeakMap<Runtime['config'], DeliveryBudget>();
const budgetOf = (config: Runtime['config']) => {
  let budget = budgets.get(config);
  if (!budget) {
    budget = new DeliveryBudget(config.traffic.deliveryMaxPps);
    budgets.set(config, budget);
  }
  return budget;
};
/** How often a worker looks for captures of sensors that went silent. */
const LOST_SENSORS_EVERY_MS = 15_000;
const registryOf = (scope: Pick<RequestScope, 'reads' | 'clock' | 'logger'> & { em: () => RequestScope['em'] }) =>
  new SensorRegistry({ em: scope.em, reads: scope.reads, clock: scope.clock, logger: scope.logger });

/**
 * Traffic: live captures on sensors (workers that register themselves) and
 * replays of recorded pcap / pcapng evidence, decoded by our own decoder into
 * flows, protocol and talker counts and a series, and streamed in batches.
 */
export const trafficModule = {
  name: 'traffic',
  entities: [CaptureSensorSchema, CaptureSchema, FlowSchema],
  migrations: [
    { name: '20261210000000-capture-sensors', class: CreateCaptureSensors },
    { name: '20261210100000-captures', class: CreateCaptures },
  ],
  resolvers: [trafficResolvers],
  nodes: {
    Capture: { load: (services, id) => services.captures.get(id), is: isCaptureView },
    Flow: { load: (services, id) => services.captures.flow(id), is: isFlowView },
    CaptureSensor: { load: (services, id) => services.captures.sensorById(id), is: isSensorView },
  },
  topics: ['captureUpdated', 'trafficPackets', 'trafficStats'],
  sharedSubscriptions: ['captureUpdated'],
  queues: [replays, liveCaptures],
  // As for scans: VIEWER reads all and starts nothing; ANALYST starts captures and acts on its own; ADMIN on all.
  grants: {
    ADMIN: { 'capture:read': 'all', 'capture:create': 'all', 'capture:write': 'all' },
    ANALYST: { 'capture:read': 'own', 'capture:create': 'all', 'capture:write': 'own' },
    VIEWER: { 'capture:read': 'all' },
  },
  auditActions: ['CAPTURE_STARTED', 'CAPTURE_STOPPED', 'CAPTURE_SAVED'],
  // A worker is a sensor: it registers itself with its interfaces and keeps a heartbeat.
  async start(runtime, { worker }) {
    if (!worker) return;
    const { sensorName, sensorNetns } = runtime.config.traffic;
    const registry = registryOf({ ...runtime, em: () => runtime.orm.em.fork() });
    const sensor = await startSensor({ registry, name: sensorName, netns: sensorNetns, logger: runtime.logger });
    const sweepLost = () =>
      void endCapturesOfLostSensors(runtime).catch((error: unknown) =>
        runtime.logger.error({ err: error }, 'could not end the captures of lost sensors'),
      );
    sweepLost();
    const sweep = setInterval(sweepLost, LOST_SENSORS_EVERY_MS);
    sweep.unref();
    sensors.set(runtime, { sensor, sweep });
  },
  async stop(runtime) {
    const running = sensors.get(runtime);
    if (!running) return;
    clearInterval(running.sweep);
    await running.sensor.stop();
  },
  services: (scope) => {
    const reads = new CaptureReads(scope.reads);
    const loaders = new CaptureLoaders(reads);
    const captureSensors = registryOf({ ...scope, em: () => scope.em.fork() });
    const captures = new CaptureQueries({ reads, loaders, viewer: scope.viewer, clock: scope.clock, sensors: captureSensors });
    return {
      captures,
      captureCommands: new CaptureCommands({
        em: scope.em,
        viewer: scope.viewer,
        audit: new AuditLog(scope),
        events: scope.events,
        jobs: scope.jobs,
        scope: scope.baseline,
        limits: scope.config.traffic,
        clock: scope.clock,
        loaders,
        sensors: captureSensors,
        scans: new ScanReads(scope.reads),
        evidence: new EvidenceReads(scope.reads),
      }),
      trafficFeed: new TrafficFeed({ viewer: scope.viewer, events: scope.events, captures, em: scope.em, budget: budgetOf(scope.config) }),
    };
  },
} satisfies AreaModule;
