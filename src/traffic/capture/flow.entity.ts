import { defineEntity, p } from '@mikro-orm/core';
import { FLOW_STATES } from '../flows/flow-table.ts';
import { Capture } from './capture.entity.ts';

const FlowSchema = defineEntity({
  name: 'CaptureFlow',
  tableName: 'capture_flows',
  properties: {
    /** The flow table's own id: a flow is written again, by id, each time it changed. */
    id: p.uuid().primary(),
    capture: () => p.manyToOne(Capture).deleteRule('cascade'),
    protocol: p.text(),
    ipProtocol: p.smallint().nullable(),
    src: p.text(),
    srcPort: p.integer().nullable(),
    dst: p.text(),
    dstPort: p.integer().nullable(),
    firstSeen: p.datetime(3),
    lastSeen: p.datetime(3),
    originatorPackets: p.bigint('number'),
    originatorBytes: p.bigint('number'),
    responderPackets: p.bigint('number'),
    responderBytes: p.bigint('number'),
    /** Both ways together: what a list ordered by size reads. */
    packets: p.bigint('number'),
    bytes: p.bigint('number'),
    state: p.enum(FLOW_STATES),
    tcpFlags: p.smallint(),
  },
  indexes: [
    { properties: ['capture', 'firstSeen', 'id'] },
    { properties: ['capture', 'lastSeen', 'id'] },
    { properties: ['capture', 'bytes', 'id'] },
    { properties: ['capture', 'packets', 'id'] },
  ],
});

/** A flow as its capture's worker last wrote it (see `FlowTable`): written, never changed by the API. */
export class CaptureFlow extends FlowSchema.class {}

FlowSchema.setClass(CaptureFlow);

export { FlowSchema };
