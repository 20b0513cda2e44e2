import { map, pipe } from 'graphql-yoga';
import { connectionResolvers } from '../graphql/connection.ts';
import type { Resolvers } from '../graphql/generated/types.ts';
import { localIdOrNone, toGlobalId } from '../graphql/global-id.ts';
import { TcpFlag } from './decode/summary.ts';

const captureIdOf = (id: string): string => localIdOrNone(id, 'Capture');
const FLOW_ORDER_FIELDS = { FIRST_SEEN: 'firstSeen', LAST_SEEN: 'lastSeen', BYTES: 'bytes', PACKETS: 'packets' } as const;
const flagNames = (bits: number) => (Object.keys(TcpFlag) as (keyof typeof TcpFlag)[]).filter((name) => bits & TcpFlag[name]);

export const trafficResolvers = {
  Query: {
    captureSensors: (_, __, { services }) => services.captures.sensors(),
    captures: (_, { filter, ...args }, { services }) =>
      services.captures.page(args, {
        status: filter?.status ?? null,
        scanId: filter?.scanId ? localIdOrNone(filter.scanId, 'Scan') : null,
        sensor: filter?.sensor ?? null,
      }),
    capture: (_, { id }, { services }) => services.captures.get(captureIdOf(id)),
  },
  Mutation: {
    startCapture: async (_, { input }, { services }) => ({
      capture: await services.captureCommands.start({
        ...input,
        scanId: input.scanId ? localIdOrNone(input.scanId, 'Scan') : null,
        evidenceId: input.evidenceId ? localIdOrNone(input.evidenceId, 'Evidence') : null,
      }),
    }),
    stopCapture: async (_, { input }, { services }) => ({ capture: await services.captureCommands.stop(captureIdOf(input.id)) }),
  },
  Subscription: {
    captureUpdated: {
      subscribe: (_, __, { services }) =>
        pipe(
          services.trafficFeed.watch(),
          map((capture) => ({ captureUpdated: capture })),
        ),
    },
    trafficEvents: {
      subscribe: async (_, { captureId, filter }, { services }) =>
        pipe(
          await services.trafficFeed.packets(captureIdOf(captureId), filter),
          map((batch) => ({ trafficEvents: batch })),
        ),
    },
    trafficStats: {
      subscribe: async (_, { captureId }, { services }) =>
        pipe(
          await services.trafficFeed.stats(captureIdOf(captureId)),
          map((stats) => ({ trafficStats: stats })),
        ),
    },
  },
  Capture: {
    id: (capture) => toGlobalId('Capture', capture.id),
    sensor: (capture, _, { services }) => (capture.sensor ? services.captures.sensor(capture.sensor) : null),
    sourceEvidence: (capture, _, { services }) => (capture.sourceEvidenceId ? services.evidence.get(capture.sourceEvidenceId) : null),
    savedEvidence: (capture, _, { services }) => (capture.savedEvidenceId ? services.evidence.get(capture.savedEvidenceId) : null),
    scan: (capture, _, { services }) => (capture.scanId ? services.scans.get(capture.scanId) : null),
    owner: (capture, _, { services }) => (capture.ownerId ? services.users.get(capture.ownerId) : null),
    stats: (capture, _, { services }) => services.captures.stats(capture),
    protocols: (capture, _, { services }) => services.captures.protocols(capture),
    topTalkers: (capture, { first }, { services }) => services.captures.topTalkers(capture, first),
    series: (capture, { bucketSeconds }, { services }) => services.captures.series(capture, bucketSeconds),
    flows: (capture, { filter, orderBy, ...args }, { services }) =>
      services.captures.flows(
        capture,
        args,
        { protocol: filter?.protocol ?? null, state: filter?.state ?? null, host: filter?.host ?? null, port: filter?.port ?? null },
        orderBy ? { field: FLOW_ORDER_FIELDS[orderBy.field], direction: orderBy.direction } : null,
      ),
  },
  Flow: {
    id: (flow) => toGlobalId('Flow', flow.id),
    capture: async (flow, _, { services }) => {
      const capture = await services.captures.get(flow.captureId);
      if (!capture) throw new Error('The capture of a visible flow is not visible.');
      return capture;
    },
    protocol: (flow) => flow.protocol as never,
    tcpFlags: (flow) => flagNames(flow.tcpFlags),
  },
  CaptureSensor: {
    id: (sensor) => toGlobalId('CaptureSensor', sensor.id),
  },
  TrafficBucket: {
    at: (bucket) => new Date(bucket.at * 1000),
  },
  TrafficBatch: {
    captureId: (batch) => toGlobalId('Capture', batch.captureId),
  },
  Scan: {
    captures: (scan, args, { services }) => services.captures.ofScan(scan.id, args),
  },
  CaptureConnection: connectionResolvers,
  FlowConnection: connectionResolvers,
} satisfies Resolvers;
