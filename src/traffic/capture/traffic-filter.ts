import { InvalidInputError } from '../../errors.ts';
import { Network } from '../../net/network.ts';
import { Target } from '../../net/target.ts';
import type { Protocol } from '../decode/summary.ts';
import type { TrafficPacket } from './capture.topics.ts';

export type TrafficFilterInput = { protocol?: Protocol | null; host?: string | null; port?: number | null };

/** Addresses remembered as in or out of a filter's network, at most. */
const MEMO = 50_000;

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
  /** An IPv4 network as numbers: its address and mask, so a dotted quad is checked without parsing it into a target. */
  readonly #v4: { base: number; mask: number } | null;
  readonly #memo = new Map<string, boolean>();

  constructor({ protocol, host, port }: TrafficFilterInput = {}) {
    if (port !== null && port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
      throw new InvalidInputError('filter.port', 'A port is 0 to 65535.');
    }
    this.#protocol = protocol ?? null;
    this.#port = port ?? null;
    this.#network = host ? Network.parse(host, 'filter.host') : null;
    this.#v4 = null;
    if (this.#network?.family === 4) {
      const [address = '', prefix = '32'] = this.#network.toString().split('/');
      const mask = Number(prefix) === 0 ? 0 : (0xffffffff << (32 - Number(prefix))) >>> 0;
      this.#v4 = { base: ((dottedQuad(address) as number) & mask) >>> 0, mask };
    }
  }

  get empty(): boolean {
    return this.#protocol === null && this.#port === null && this.#network === null;
  }

  matches(packet: TrafficPacket): boolean {
    if (this.#protocol !== null && packet.protocol !== this.#protocol) return false;
    if (this.#port !== null && packet.srcPort !== this.#port && packet.dstPort !== this.#port) return false;
    if (this.#network === null) return true;
    const v4 = this.#v4;
    if (v4) return this.#insideV4(packet.srcV4, packet.src) || this.#insideV4(packet.dstV4, packet.dst);
    return this.#inside(packet.src) || this.#inside(packet.dst);
  }

  /** The worker gives IPv4 addresses as numbers too; one without (a packet from elsewhere) is parsed. */
  #insideV4(value: number | null | undefined, text: string): boolean {
    const v4 = this.#v4 as { base: number; mask: number };
    const address = typeof value === 'number' ? value : dottedQuad(text);
    return address !== null && (address & v4.mask) >>> 0 === v4.base;
  }

  #inside(address: string): boolean {
    if (!address) return false;
    if (this.#v4) {
      const value = dottedQuad(address);
      return value !== null && (value & this.#v4.mask) >>> 0 === this.#v4.base;
    }
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

/** A dotted-quad IPv4 address as an unsigned number, or null for anything else (IPv6 text). */
function dottedQuad(text: string): number | null {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46) {
      if (digits === 0 || ++dots > 3) return null;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57 && digits < 3) {
      part = part * 10 + (code - 48);
      digits++;
      if (part > 255) return null;
    } else return null;
  }
  if (dots !== 3 || digits === 0) return null;
  return value * 256 + part;
}
