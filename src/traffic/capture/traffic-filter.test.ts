import { describe, expect, it } from 'vitest';
import type { TrafficPacket } from './capture.topics.ts';
import { TrafficFilter } from './traffic-filter.ts';

const packet = (
  src: string,
  dst: string,
  protocol: TrafficPacket['protocol'] = 'TCP',
  srcPort: number | null = 40000,
  dstPort: number | null = 443,
) => ({ src, dst, protocol, srcPort, dstPort }) as TrafficPacket;

describe('a trafficEvents filter', () => {
  it('passes everything when empty', () => {
    expect(new TrafficFilter().empty).toBe(true);
  });

  it('matches a protocol and a port of either endpoint', () => {
    expect(new TrafficFilter({ protocol: 'UDP' }).matches(packet('10.0.0.1', '10.0.0.2'))).toBe(false);
    const port = new TrafficFilter({ port: 443 });
    expect([
      port.matches(packet('a', 'b')),
      port.matches(packet('a', 'b', 'TCP', 443, 1)),
      port.matches(packet('a', 'b', 'ICMP', null, null)),
    ]).toEqual([true, true, false]);
  });

  it('matches a host as an address or a network of either endpoint, IPv4 and IPv6', () => {
    const cases: [string, string, string, boolean][] = [
      ['10.0.0.0/8', '10.200.3.4', '192.0.2.1', true],
      ['10.0.0.0/8', '192.0.2.1', '10.0.0.0', true],
      ['10.0.0.0/8', '11.0.0.1', '9.255.255.255', false],
      ['192.0.2.7', '192.0.2.7', '192.0.2.8', true],
      ['192.0.2.7', '192.0.2.70', '192.0.2.8', false],
      ['0.0.0.0/0', '203.0.113.9', '198.51.100.1', true],
      ['0.0.0.0/0', '2001:db8::1', '2001:db8::2', false],
      ['2001:db8::/32', '2001:db8:ffff::1', 'fe80::1', true],
      ['2001:db8::/32', '2001:db9::1', '10.0.0.1', false],
      ['::1', '::1', '127.0.0.1', true],
    ];
    for (const [host, src, dst, expected] of cases)
      expect(new TrafficFilter({ host }).matches(packet(src, dst)), `${host} ${src} ${dst}`).toBe(expected);
    expect(new TrafficFilter({ host: '10.0.0.0/8' }).matches(packet('', ''))).toBe(false);
    expect(new TrafficFilter({ host: '10.0.0.0/8' }).matches(packet('10.0.0.256', '1.2.3'))).toBe(false);
  });

  it("reads the worker's numeric IPv4 addresses when a packet has them", () => {
    const numbered = { ...packet('10.1.2.3', '192.0.2.1'), srcV4: 0x0a010203, dstV4: 0xc0000201 };
    expect(new TrafficFilter({ host: '10.0.0.0/8' }).matches(numbered)).toBe(true);
    expect(new TrafficFilter({ host: '192.0.2.1' }).matches(numbered)).toBe(true);
    expect(new TrafficFilter({ host: '172.16.0.0/12' }).matches(numbered)).toBe(false);
  });

  it('refuses a bad host or port', () => {
    expect(() => new TrafficFilter({ host: 'not-a-network' })).toThrow();
    expect(() => new TrafficFilter({ port: 70_000 })).toThrow(/0 to 65535/);
  });
});
