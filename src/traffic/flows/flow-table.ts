import { randomUUID } from 'node:crypto';
import { addressOfKey } from '../decode/address.ts';
import { type PacketSummary, Protocol, TcpFlag } from '../decode/summary.ts';

/** Where a conversation stands, as Zeek's conn.log would tell it (`ACTIVE`: UDP, ICMP and others, which have no states). */
export const FlowState = {
  ATTEMPTED: 'ATTEMPTED',
  REJECTED: 'REJECTED',
  ESTABLISHED: 'ESTABLISHED',
  CLOSED: 'CLOSED',
  RESET: 'RESET',
  ACTIVE: 'ACTIVE',
} as const;
export type FlowState = (typeof FlowState)[keyof typeof FlowState];
export const FLOW_STATES = Object.values(FlowState);

const ENDED: ReadonlySet<FlowState> = new Set([FlowState.REJECTED, FlowState.CLOSED, FlowState.RESET]);

/**
 * One conversation: a protocol between two endpoints, both directions. The
 * originator is who spoke first (for TCP, who sent the SYN).
 */
export class Flow {
  readonly id = randomUUID();
  readonly protocol: Protocol;
  readonly ipProtocol: number | null;
  /** The originator's address and port, then the responder's, as map keys (see `PacketSummary.srcKey`). */
  srcKey: number | string;
  srcPort: number | null;
  dstKey: number | string;
  dstPort: number | null;
  firstSeconds: number;
  firstNanos: number;
  lastSeconds: number;
  lastNanos: number;
  originatorPackets = 0;
  originatorBytes = 0;
  responderPackets = 0;
  responderBytes = 0;
  state: FlowState;
  /** Every TCP flag seen, either way. */
  tcpFlags = 0;
  originatorFin = false;
  responderFin = false;

  constructor(packet: PacketSummary, srcKey: number | string, dstKey: number | string, state: FlowState) {
    this.protocol = packet.protocol;
    this.ipProtocol = packet.ipProtocol;
    this.srcKey = srcKey;
    this.srcPort = packet.srcPort;
    this.dstKey = dstKey;
    this.dstPort = packet.dstPort;
    this.firstSeconds = this.lastSeconds = packet.seconds;
    this.firstNanos = this.lastNanos = packet.nanos;
    this.state = state;
  }

  get src(): string {
    return addressOfKey(this.srcKey);
  }

  get dst(): string {
    return addressOfKey(this.dstKey);
  }

  /** The responder spoke first in what was captured (a SYN/ACK without its SYN): turn the flow round. */
  reverse(): void {
    [this.srcKey, this.dstKey] = [this.dstKey, this.srcKey];
    [this.srcPort, this.dstPort] = [this.dstPort, this.srcPort];
  }
}

export interface FlowTableOptions {
  /** Flows held at most; packets of further flows are counted in `untracked`, not held. */
  maxFlows?: number;
}

/**
 * The flows of one capture, kept in memory while it runs: `add` each packet,
 * `drain` the flows changed since the last drain (to write them), `evict` the
 * idle ones already written. A flow that ended (closed, reset, rejected) and
 * sees a new SYN gives way to a new flow on the same endpoints.
 */
export class FlowTable {
  /** Packets of new flows refused because the table was full. */
  untracked = 0;
  private readonly flows = new Map<string, Flow>();
  private changed = new Set<Flow>();
  private readonly maxFlows: number;

  constructor({ maxFlows = 100_000 }: FlowTableOptions = {}) {
    this.maxFlows = maxFlows;
  }

  get size(): number {
    return this.flows.size;
  }

  /** Counts one packet into its flow; packets without IP addresses (ARP, unknown links) have none. */
  add(packet: PacketSummary): Flow | null {
    if (packet.ipVersion === 0) return null;
    const srcKey = packet.srcKey as number | string;
    const dstKey = packet.dstKey as number | string;
    const srcPort = packet.srcPort;
    const dstPort = packet.dstPort;
    const forward = srcKey < dstKey || (srcKey === dstKey && (srcPort ?? -1) <= (dstPort ?? -1));
    const key = forward
      ? `${packet.ipProtocol}|${srcKey}|${srcPort}|${dstKey}|${dstPort}`
      : `${packet.ipProtocol}|${dstKey}|${dstPort}|${srcKey}|${srcPort}`;
    let flow = this.flows.get(key);
    const tcp = packet.protocol === Protocol.TCP && packet.seq !== null;
    const flags = packet.tcpFlags;
    if (flow && tcp && ENDED.has(flow.state) && (flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) flow = undefined;
    if (!flow) {
      if (this.flows.size >= this.maxFlows && !this.flows.has(key)) {
        this.untracked++;
        return null;
      }
      flow = new Flow(packet, srcKey, dstKey, tcp ? opening(flags) : FlowState.ACTIVE);
      if (tcp && (flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) flow.reverse();
      this.flows.set(key, flow);
    } else if (tcp) flow.state = next(flow, flags, fromOriginator(flow, srcKey, srcPort));
    const originator = fromOriginator(flow, srcKey, srcPort);
    if (originator) {
      flow.originatorPackets++;
      flow.originatorBytes += packet.wireLength;
    } else {
      flow.responderPackets++;
      flow.responderBytes += packet.wireLength;
    }
    if (tcp) {
      flow.tcpFlags |= flags;
      if (flags & TcpFlag.FIN) {
        if (originator) flow.originatorFin = true;
        else flow.responderFin = true;
        if (flow.originatorFin && flow.responderFin && flow.state === FlowState.ESTABLISHED) flow.state = FlowState.CLOSED;
      }
    }
    if (packet.seconds > flow.lastSeconds || (packet.seconds === flow.lastSeconds && packet.nanos > flow.lastNanos)) {
      flow.lastSeconds = packet.seconds;
      flow.lastNanos = packet.nanos;
    }
    this.changed.add(flow);
    return flow;
  }

  /** The flows changed since the last drain, in the order they were first changed. */
  drain(): Flow[] {
    const changed = [...this.changed];
    this.changed = new Set();
    return changed;
  }

  /** Forgets flows not seen since `beforeSeconds` that have been drained; returns how many. */
  evict(beforeSeconds: number): number {
    let evicted = 0;
    for (const [key, flow] of this.flows) {
      if (flow.lastSeconds < beforeSeconds && !this.changed.has(flow)) {
        this.flows.delete(key);
        evicted++;
      }
    }
    return evicted;
  }

  /** Every flow held, for a summary at the end. */
  all(): IterableIterator<Flow> {
    return this.flows.values();
  }
}

function fromOriginator(flow: Flow, srcKey: number | string, srcPort: number | null): boolean {
  return flow.srcKey === srcKey && flow.srcPort === srcPort;
}

/** The state of a TCP flow from its first packet seen. */
function opening(flags: number): FlowState {
  if (flags & TcpFlag.RST) return FlowState.RESET;
  if ((flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) return FlowState.ATTEMPTED;
  // A SYN/ACK, or a connection picked up in the middle: it was established.
  return FlowState.ESTABLISHED;
}

function next(flow: Flow, flags: number, originator: boolean): FlowState {
  const state = flow.state;
  if (flags & TcpFlag.RST) {
    if (state === FlowState.ATTEMPTED) return originator ? FlowState.RESET : FlowState.REJECTED;
    return state === FlowState.ESTABLISHED ? FlowState.RESET : state;
  }
  if (state === FlowState.ATTEMPTED && !originator && (flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) {
    return FlowState.ESTABLISHED;
  }
  return state;
}
