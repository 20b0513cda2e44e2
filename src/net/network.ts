import { InvalidInputError } from '../errors.ts';
import { addressBits, type Family, toBigInt } from './ip.ts';
import { Target } from './target.ts';

/** A CIDR network that scans may touch. */
export class Network {
  readonly family: Family;
  readonly prefix: number;
  private readonly network: bigint;
  private readonly text: string;

  private constructor(family: Family, prefix: number, network: bigint, text: string) {
    this.family = family;
    this.prefix = prefix;
    this.network = network;
    this.text = text;
  }

  /** Parses a CIDR (a bare address counts as a /32 or /128). */
  static parse(raw: string, field = 'cidr'): Network {
    const target = Target.parse(raw, field);
    if (target.kind === 'hostname' || target.family === undefined || target.prefix === undefined) {
      throw new InvalidInputError(field, `"${raw}" is not a CIDR network.`);
    }
    return new Network(target.family, target.prefix, toBigInt(target.value, target.family), target.toString());
  }

  /** Whether every address of `target` (an address or a CIDR) lies inside this network. */
  contains(target: Target): boolean {
    if (target.family !== this.family || target.prefix === undefined || target.prefix < this.prefix) return false;
    const hostBits = BigInt(addressBits(this.family) - this.prefix);
    return toBigInt(target.value, target.family) >> hostBits === this.network >> hostBits;
  }

  toString(): string {
    return this.text;
  }
}
