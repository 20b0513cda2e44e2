import { defineEntity, p } from '@mikro-orm/core';
import type { SensorInterface } from './host-interfaces.ts';

const CaptureSensorSchema = defineEntity({
  name: 'CaptureSensor',
  tableName: 'capture_sensors',
  properties: {
    id: p.uuid().primary(),
    /** `SENSOR_NAME`: a worker registers under it, and a restarted worker takes its row back. */
    name: p.text().unique(),
    /** What it can capture on, as it last said: refreshed with every heartbeat. */
    interfaces: p.json<SensorInterface[]>(),
    /** When the process now holding the name registered. */
    startedAt: p.datetime(3),
    /** Its last heartbeat: online while this is recent. */
    lastSeenAt: p.datetime(3),
  },
  indexes: [{ properties: ['lastSeenAt'] }],
});

/** A worker that can capture traffic, as it registered itself: its name, its interfaces, its heartbeat. */
export class CaptureSensor extends CaptureSensorSchema.class {}

CaptureSensorSchema.setClass(CaptureSensor);

export { CaptureSensorSchema };
