import type { Connection, Edge } from '../platform/pagination.ts';
import type { CaptureStats, TrafficPacket } from './capture/capture.topics.ts';
import type { CaptureView, FlowView } from './capture/capture.view.ts';
import type { TrafficBatch } from './capture/traffic.feed.ts';
import type { TrafficBucket } from './flows/traffic-tally.ts';
import type { SensorView } from './sensors/sensor-registry.ts';

/** What the traffic resolvers return for each GraphQL type `X`, as `XMapper` (see codegen.ts). */
export type CaptureMapper = CaptureView;
export type CaptureConnectionMapper = Connection<CaptureView>;
export type CaptureEdgeMapper = Edge<CaptureView>;
export type FlowMapper = FlowView;
export type FlowConnectionMapper = Connection<FlowView>;
export type FlowEdgeMapper = Edge<FlowView>;
export type CaptureSensorMapper = SensorView;
export type CaptureStatsMapper = CaptureStats;
/** `at` in seconds since the epoch. */
export type TrafficBucketMapper = TrafficBucket;
export type PacketSummaryMapper = TrafficPacket;
/** `captureId` is the local one; resolvers make it global. */
export type TrafficBatchMapper = TrafficBatch;
