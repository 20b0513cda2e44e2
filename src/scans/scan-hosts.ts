import { lookup } from 'node:dns/promises';
import { InvalidInputError } from '../errors.ts';
import type { Scope } from '../scope/scope.ts';
import type { ScanHost } from './engine/scanner.ts';
import { fromBigInt, toBigInt } from './ip.ts';
import { Target } from './target.ts';

export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolve: Resolve = (hostname) => lookup(hostname, { all: true });

/**
 * The addresses a scan will probe: CIDRs expanded, hostnames resolved once
 * (now, at start), each resolved address checked against the scope again,
 * since a name can point anywhere. Refuses before a single packet is sent.
 */
export async function resolveHosts(targets: readonly Target[], scope: Scope, maxHosts: number, resolve: Resolve = systemResolve): Promise<ScanHost[]> {
  const hosts = new Map<string, ScanHost>();
  const add = (host: ScanHost) => {
    hosts.set(host.address, host);
    if (hosts.size > maxHosts) throw new InvalidInputError('targets', `Targets cover more than ${maxHosts} addresses.`);
  };
  for (const target of targets) {
    if (target.kind === 'hostname') {
      const addresses = await resolve(target.value).catch(() => {
        throw new InvalidInputError('targets', `Hostname ${target.value} does not resolve.`);
      });
      for (const { address } of addresses) {
        const resolved = Target.parse(address);
        scope.assertAllows([resolved], 'targets');
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
