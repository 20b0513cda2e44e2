import { InvalidInputError } from '../errors.ts';
import type { Target } from '../scans/target.ts';
import { Network } from './network.ts';

/**
 * The networks scans may touch. Anything outside is refused before a packet is
 * sent; the default is loopback only, so a fresh install cannot be aimed elsewhere.
 */
export class Scope {
  readonly networks: readonly Network[];

  constructor(networks: readonly Network[]) {
    this.networks = networks;
  }

  static fromCidrs(cidrs: readonly string[], field = 'SCAN_ALLOWED_TARGETS'): Scope {
    return new Scope(cidrs.map((cidr) => Network.parse(cidr, field)));
  }

  allows(target: Target): boolean {
    return this.networks.some((network) => network.contains(target));
  }

  /**
   * Throws for the first address or CIDR outside every network. A hostname is
   * checked once it is resolved, address by address, when the scan starts.
   */
  assertAllows(targets: readonly Target[], field = 'targets'): void {
    for (const target of targets) {
      if (target.kind !== 'hostname' && !this.allows(target)) throw new OutOfScopeError(field, target, this);
    }
  }
}

export class OutOfScopeError extends InvalidInputError {
  override name = 'OutOfScopeError';

  constructor(field: string, target: Target, scope: Scope) {
    const allowed = scope.networks.map(String).join(', ') || 'nothing';
    super(field, `Target ${target} is outside the allowed scope (${allowed}); refusing to scan it.`);
  }
}

