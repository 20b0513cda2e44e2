import { networkInterfaces } from 'node:os';
import { runProcess } from '../../platform/child-process.ts';

/** One network interface a sensor can capture on, as it registers it. */
export type SensorInterface = {
  name: string;
  /** Its addresses with their prefix length, as `127.0.0.1/8` or `::1/128`, in the order the system lists them. */
  addresses: string[];
  /** Administratively up (`ip`'s `UP` flag); `true` when the system does not say (the `os` fallback). */
  up: boolean;
  loopback: boolean;
};

/** What `ip -j address show` prints per interface, as far as a sensor reads it. */
type IpInterface = {
  ifname?: unknown;
  flags?: unknown;
  operstate?: unknown;
  link_type?: unknown;
  addr_info?: unknown;
};

const IP_TIMEOUT_MS = 5_000;

/**
 * The interfaces of this host, or of the network namespace `netns` (`ip -n`),
 * by name. Without a namespace it asks `ip` when there is one and falls back
 * to Node's `os.networkInterfaces()` otherwise (which knows no down
 * interfaces, and no up flag); in a namespace only `ip` can tell, and its
 * failure (no such namespace, no `ip`) is thrown.
 */
export async function listInterfaces({ netns }: { netns?: string } = {}): Promise<SensorInterface[]> {
  if (netns !== undefined) return parseIpAddresses(await ipAddresses(['-n', netns, '-j', 'address', 'show']));
  let json: string;
  try {
    json = await ipAddresses(['-j', 'address', 'show']);
  } catch {
    return fromOs();
  }
  return parseIpAddresses(json);
}

/** `ip -j address show`'s JSON as sensor interfaces, by name. */
export function parseIpAddresses(json: string): SensorInterface[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error('ip -j address show did not print a JSON array');
  const found: SensorInterface[] = [];
  for (const entry of parsed as IpInterface[]) {
    if (typeof entry !== 'object' || entry === null || typeof entry.ifname !== 'string') continue;
    const flags = Array.isArray(entry.flags) ? entry.flags.filter((flag): flag is string => typeof flag === 'string') : undefined;
    const addresses: string[] = [];
    for (const info of Array.isArray(entry.addr_info) ? (entry.addr_info as unknown[]) : []) {
      if (typeof info !== 'object' || info === null) continue;
      const { local, prefixlen } = info as { local?: unknown; prefixlen?: unknown };
      if (typeof local === 'string' && typeof prefixlen === 'number') addresses.push(`${local}/${prefixlen}`);
    }
    found.push({
      name: entry.ifname,
      addresses,
      // The UP flag is the administrative state; `lo` is UP with operstate UNKNOWN, so the operstate only stands in when flags are missing.
      up: flags ? flags.includes('UP') : entry.operstate === 'UP' || entry.operstate === 'UNKNOWN',
      loopback: entry.link_type === 'loopback' || (flags?.includes('LOOPBACK') ?? false),
    });
  }
  return byName(found);
}

async function ipAddresses(args: readonly string[]): Promise<string> {
  const ip = runProcess('ip', args, { signal: AbortSignal.timeout(IP_TIMEOUT_MS) });
  let out = '';
  try {
    for await (const chunk of ip.stdout) out += chunk;
    const { code, signal, error, stderr } = await ip.exited;
    if (error) throw new Error(`could not run ip: ${error.message}`, { cause: error });
    if (code !== 0) throw new Error(`ip ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`);
    return out;
  } finally {
    ip.kill();
  }
}

function fromOs(): SensorInterface[] {
  return byName(
    Object.entries(networkInterfaces()).map(([name, infos = []]) => ({
      name,
      addresses: infos.flatMap((info) => (info.cidr ? [info.cidr] : [])),
      up: true,
      loopback: infos.some((info) => info.internal),
    })),
  );
}

const byName = (found: SensorInterface[]) => found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
