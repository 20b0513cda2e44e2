import { InvalidInputError } from '../errors.ts';
import { fromBigInt, toBigInt } from '../net/ip.ts';
import type { Scope } from '../net/scope.ts';
import { Target, TargetRefusedError } from '../net/target.ts';
import { LookupTimeoutError, type Resolve } from '../platform/dns.ts';
import type { ProbeHost } from './engine/scanner.ts';

/**
 * The addresses `name` resolves to, each checked against the scope, since a
 * name can point anywhere. Refuses a name that leads outside the scope, to
 * no address at all, or that does not answer in time.
 */
export async function resolveInScope(name: string, scope: Scope, resolve: Resolve, field = 'targets'): Promise<Target[]> {
  const found = await resolve(name).catch((error: unknown) => {
    if (error instanceof LookupTimeoutError) {
      throw new TargetRefusedError(
        field,
        name,
        'RESOLVE_TIMEOUT',
        `Hostname ${name} did not resolve within ${error.timeoutMs / 1000} s; give its address, or try again.`,
      );
    }
    throw new TargetRefusedError(field, name, 'UNRESOLVED', `Hostname ${name} does not resolve.`);
  });
  if (found.length === 0) throw new TargetRefusedError(field, name, 'UNRESOLVED', `Hostname ${name} does not resolve.`);
  const addresses = found.map(({ address }) => Target.parse(address, field));
  scope.assertAllows(addresses, field, name);
  return addresses;
}

/**
 * Resolves every hostname among `targets` at once (the resolver bounds how
 * many lookups run) and checks each address. The first refusal in the
 * order the targets were given is the one reported.
 */
export async function assertHostnamesInScope(targets: readonly Target[], scope: Scope, resolve: Resolve, field = 'targets'): Promise<void> {
  const names = targets.filter((target) => target.kind === 'hostname');
  const outcomes = await Promise.allSettled(names.map((target) => resolveInScope(target.value, scope, resolve, field)));
  const refused = outcomes.find((outcome) => outcome.status === 'rejected');
  if (refused) throw refused.reason;
}

/**
 * The addresses a scan will probe: CIDRs expanded, hostnames resolved once
 * more (now, at start: a name may point elsewhere than at creation), each
 * resolved address checked against the scope. Refuses before a single
 * packet is sent.
 */
export async function resolveHosts(targets: readonly Target[], scope: Scope, maxHosts: number, resolve: Resolve): Promise<ProbeHost[]> {
  const hosts = new Map<string, ProbeHost>();
  const add = (host: ProbeHost) => {
    hosts.set(host.address, host);
    if (hosts.size > maxHosts) throw new InvalidInputError('targets', `Targets cover more than ${maxHosts} addresses.`);
  };
  for (const target of targets) {
    if (target.kind === 'hostname') {
      for (const resolved of await resolveInScope(target.value, scope, resolve)) {
        // A host is recorded once per scan, with the first name that led to it.
        const known = hosts.get(resolved.value);
        if (known) known.hostname ??= target.value;
        else add({ address: resolved.value, family: resolved.family ?? 4, hostname: target.value });
      }
      continue;
    }
    const family = target.family ?? 4;
    const first = toBigInt(target.value, family);
    const count = target.hostCount ?? 1n;
    if (count > BigInt(maxHosts)) throw new InvalidInputError('targets', `${target} covers ${count} addresses; at most ${maxHosts}.`);
    for (let offset = 0n; offset < count; offset++) add({ address: fromBigInt(first + offset, family), family });
  }
  return [...hosts.values()];
}
