import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from '../../../test/helpers/netns.ts';
import { listInterfaces, parseIpAddresses } from './host-interfaces.ts';

/** `ip -j address show` on a host with a loopback, an Ethernet link up, one down and a bridge without carrier, trimmed a little. */
const SAMPLE = JSON.stringify([
  {
    ifindex: 4,
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1400,
    operstate: 'UP',
    link_type: 'ether',
    address: '02:fc:00:00:00:01',
    addr_info: [
      { family: 'inet', local: '192.0.2.2', prefixlen: 24, broadcast: '192.0.2.255', scope: 'global', label: 'eth0' },
      { family: 'inet6', local: 'fd00::2', prefixlen: 64, scope: 'global', nodad: true },
      { family: 'inet6', local: 'fe80::fc:ff:fe00:1', prefixlen: 64, scope: 'link' },
    ],
  },
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    mtu: 65536,
    operstate: 'UNKNOWN',
    link_type: 'loopback',
    address: '00:00:00:00:00:00',
    addr_info: [
      { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo' },
      { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' },
    ],
  },
  {
    ifindex: 2,
    ifname: 'ifb0',
    flags: ['BROADCAST', 'NOARP'],
    mtu: 1500,
    operstate: 'DOWN',
    link_type: 'ether',
    address: '3a:25:72:4f:ab:4c',
    addr_info: [],
  },
  {
    ifindex: 5,
    ifname: 'br0',
    flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'],
    mtu: 1500,
    operstate: 'DOWN',
    link_type: 'ether',
    addr_info: [{ family: 'inet', local: '10.9.0.1', prefixlen: 16, scope: 'global', label: 'br0' }],
  },
]);

describe('parsing ip -j address show', () => {
  it('gives each interface its addresses with prefixes, whether it is up and a loopback, by name', () => {
    expect(parseIpAddresses(SAMPLE)).toEqual([
      { name: 'br0', addresses: ['10.9.0.1/16'], up: true, loopback: false },
      { name: 'eth0', addresses: ['192.0.2.2/24', 'fd00::2/64', 'fe80::fc:ff:fe00:1/64'], up: true, loopback: false },
      { name: 'ifb0', addresses: [], up: false, loopback: false },
      { name: 'lo', addresses: ['127.0.0.1/8', '::1/128'], up: true, loopback: true },
    ]);
  });

  it('goes by the operstate when there are no flags, and skips what is not an interface', () => {
    const json = JSON.stringify([
      { ifname: 'a', operstate: 'UP', addr_info: [{ local: '192.0.2.9', prefixlen: 32 }, { local: '192.0.2.10' }] },
      { ifname: 'b', operstate: 'DOWN' },
      { ifindex: 9 },
      null,
    ]);
    expect(parseIpAddresses(json)).toEqual([
      { name: 'a', addresses: ['192.0.2.9/32'], up: true, loopback: false },
      { name: 'b', addresses: [], up: false, loopback: false },
    ]);
  });

  it('refuses what is not a JSON array', () => {
    expect(() => parseIpAddresses('{}')).toThrow(/JSON array/);
    expect(() => parseIpAddresses('Option "-j" is unknown')).toThrow();
  });
});

describe("this host's interfaces", () => {
  it('include a loopback that is up, with 127.0.0.1/8', async () => {
    const found = await listInterfaces({});
    expect(found.map((found) => found.name)).toEqual([...found.map((found) => found.name)].sort());
    expect(found.filter((found) => found.loopback)).toContainEqual(
      expect.objectContaining({ up: true, addresses: expect.arrayContaining(['127.0.0.1/8']) }),
    );
  });

  it("come from Node's own list when there is no ip to ask", async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const found = await listInterfaces({});
      expect(found.find((found) => found.loopback)).toMatchObject({ up: true, addresses: expect.arrayContaining(['127.0.0.1/8']) });
      expect(found.every((found) => found.up)).toBe(true);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe.skipIf(!Netns.available && !process.env.CI)('the interfaces of a private network namespace', () => {
  let netns: Netns;

  beforeAll(() => {
    netns = new Netns();
  });

  afterAll(() => netns?.remove());

  it('are its loopback alone, up, with its two addresses', async () => {
    expect(await listInterfaces({ netns: netns.name })).toEqual([
      { name: 'lo', addresses: ['127.0.0.1/8', '::1/128'], up: true, loopback: true },
    ]);
  });

  it('cannot be listed for a namespace that does not exist', async () => {
    await expect(listInterfaces({ netns: `${netns.name}-missing` })).rejects.toThrow(/ip -n .* failed/);
  });
});
