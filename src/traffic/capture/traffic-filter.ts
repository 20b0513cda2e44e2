import { InvalidInputError } from '../../errors.ts';
import { Network } from '../../net/network.ts';
import { Target } from '../../net/target.ts';
import type { Protocol } from '../decode/summary.ts';
import type { TrafficPacket } from './capture.topics.ts';

export type TrafficFilterInput = { protocol?: Protocol | null; host?: string | null; port?: number | null };

/** Addresses remembered as in or out of a filter's network, at most. */
const MEMO = 10_000;

/**
 * Which packets a `trafficEvents` subscriber wants: a protocol, a host (an
 * address, or a CIDR network either endpoint lies in) and a port either
 * endpoint uses. A network's verdict on an address is remembered, so a busy
 * conversation is parsed once, not per packet.
 */
export class TrafficFilter {
  readonly #protocol: Protocol | null;
  readonly #port: number | null;
  readonly #network: Network | null;
  readonly #memo = new Map<string, boolean>();

  constructor({ protocol, host, port }: TrafficFilterInput = {}) {
    if (port !== null && port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
      throw new InvalidInputError('filter.port', 'A port is 0 to 65535.');
    }
    this.#protocol = protocol ?? null;
    this.#port = port ?? null;
    this.#network = host ? Network.parse(host, 'filter.host') : null;
  }

  get empty(): boolean {
    return this.#protocol === null && this.#port === null && this.#network === null;
  }

  matches(packet: TrafficPacket): boolean {
    if (this.#protocol !== null && packet.protocol !== this.#protocol) return false;
    if (this.#port !== null && packet.srcPort !== this.#port && packet.dstPort !== this.#port) return false;
    return this.#network === null || this.#inside(packet.src) || this.#inside(packet.dst);
  }

  #inside(address: string): boolean {
    if (!address) return false;
    let inside = this.#memo.get(address);
    if (inside === undefined) {
      try {
        inside = (this.#network as Network).contains(Target.parse(address));
      } catch {
        inside = false;
      }
      if (this.#memo.size >= MEMO) this.#memo.clear();
      this.#memo.set(address, inside);
    }
    return inside;
  }
}
