import { InvalidInputError } from '../errors.ts';
import { addressBits, canonicalAddress, type Family, fromBigInt, inetAton, networkOf, toBigInt } from './ip.ts';

export type TargetKind = 'address' | 'cidr' | 'hostname';

/** Why a target was refused: what the audit log records of each refusal. */
export type RefusalReason = 'OUT_OF_SCOPE' | 'NUMERIC_ADDRESS' | 'UNRESOLVED' | 'RESOLVE_TIMEOUT';

/**
 * A target refused for what it is or where it leads, not for its spelling:
 * outside the scope, an address in disguise, a name that does not resolve.
 * Each one is worth an audit entry; a typo is not.
 */
export class TargetRefusedError extends InvalidInputError {
  override name = 'TargetRefusedError';
  readonly target: string;
  readonly reason: RefusalReason;

  constructor(field: string, target: string, reason: RefusalReason, message: string) {
    super(field, message);
    this.target = target;
    this.reason = reason;
  }
}

const HOSTNAME_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * One scan target: an IPv4/IPv6 address, a CIDR network, or a hostname
 * (resolved when the scan is created, and again when it starts). Parsing
 * normalizes (`10.0.0.7/24` → `10.0.0.0/24`, `Example.COM.` → `example.com`),
 * so `toString()` is canonical. Only dotted decimal is an IPv4 address here:
 * the other forms the C resolver reads as one (`0x7f000001`, `127.1`) are
 * refused, never taken for names.
 */
export class Target {
  readonly kind: TargetKind;
  /** Address or network address for `address`/`cidr`; the name for `hostname`. */
  readonly value: string;
  readonly family: Family | undefined;
  /** Prefix length; the full address width for a single address. */
  readonly prefix: number | undefined;

  private constructor(kind: TargetKind, value: string, family?: Family, prefix?: number) {
    this.kind = kind;
    this.value = value;
    this.family = family;
    this.prefix = prefix;
  }

  static parse(raw: string, field = 'targets'): Target {
    const text = raw.trim();
    if (text === '') throw new InvalidInputError(field, 'Target is empty.');
    if (text.includes('/')) return Target.parseCidr(text, field);
    const address = canonicalAddress(text);
    if (address) return new Target('address', address.address, address.family, addressBits(address.family));
    refuseNumericForm(text, field);
    return Target.parseHostname(text, field);
  }

  /** How many addresses this target covers; `undefined` for a hostname (known once resolved). */
  get hostCount(): bigint | undefined {
    if (this.family === undefined || this.prefix === undefined) return undefined;
    return 1n << BigInt(addressBits(this.family) - this.prefix);
  }

  toString(): string {
    return this.kind === 'cidr' ? `${this.value}/${this.prefix}` : this.value;
  }

  private static parseCidr(text: string, field: string): Target {
    const [rawAddress = '', rawPrefix = '', ...rest] = text.split('/');
    const address = canonicalAddress(rawAddress);
    if (!address) refuseNumericForm(rawAddress, field);
    if (!address || rest.length > 0) {
      throw new InvalidInputError(field, `"${text}" is not a CIDR like "127.0.0.0/8" or "::1/128".`);
    }
    const bits = addressBits(address.family);
    if (!/^\d{1,3}$/.test(rawPrefix) || Number(rawPrefix) > bits) {
      throw new InvalidInputError(field, `"${text}" has an invalid prefix length; IPv${address.family} allows 0-${bits}.`);
    }
    const prefix = Number(rawPrefix);
    // Host bits are allowed ("10.0.0.7/24" is what people paste); the network is what counts.
    const network = networkOf(toBigInt(address.address, address.family), prefix, address.family);
    return new Target('cidr', fromBigInt(network, address.family), address.family, prefix);
  }

  private static parseHostname(text: string, field: string): Target {
    const name = text.toLowerCase().replace(/\.$/, '');
    const labels = name.split('.');
    const valid =
      name.length <= 253 &&
      labels.every((label) => HOSTNAME_LABEL.test(label)) &&
      // An all-numeric last label is a mistyped address ("300.1.1.1"), never a real name.
      !/^\d+$/.test(labels.at(-1) ?? '');
    if (!valid) {
      throw new InvalidInputError(field, `"${text}" is not an IP address, a CIDR or a valid hostname.`);
    }
    return new Target('hostname', name);
  }
}

/** Refuses any spelling of an IPv4 address but dotted decimal, naming the address it stands for. */
function refuseNumericForm(text: string, field: string): void {
  const address = inetAton(text.replace(/\.$/, ''));
  if (address === undefined) return;
  throw new TargetRefusedError(
    field,
    text,
    'NUMERIC_ADDRESS',
    `"${text}" is the IPv4 address ${address} in another notation; write it in dotted form, as ${address}.`,
  );
}
