import { Network } from './network.ts';
import { type Target, TargetRefusedError } from './target.ts';

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
   * checked once it is resolved, address by address (`via` names it then).
   */
  assertAllows(targets: readonly Target[], field = 'targets', via?: string): void {
    for (const target of targets) {
      if (target.kind !== 'hostname' && !this.allows(target)) throw new OutOfScopeError(field, target, this, via);
    }
  }
}

export class OutOfScopeError extends TargetRefusedError {
  override name = 'OutOfScopeError';

  /** `via`: the hostname that led to `target`, when it was resolved from one. */
  constructor(field: string, target: Target, scope: Scope, via?: string) {
    const allowed = scope.networks.map(String).join(', ') || 'nothing';
    const what = via ? `Hostname ${via} resolves to ${target}, which is` : `Target ${target} is`;
    super(field, via ?? target.toString(), 'OUT_OF_SCOPE', `${what} outside the allowed scope (${allowed}); refusing to scan it.`);
  }
}
