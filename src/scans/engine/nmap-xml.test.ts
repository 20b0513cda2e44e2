import { describe, expect, it } from 'vitest';
import { PortSpec } from '../port-spec.ts';
import { createNmapXmlReader } from './nmap-xml.ts';
import type { ProbeResult } from './scanner.ts';

const HEAD = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<?xml-stylesheet href="file:///usr/bin/../share/nmap/nmap.xsl" type="text/xsl"?>
<nmaprun scanner="nmap" args="nmap -sT" start="1795435844" version="7.93" xmloutputversion="1.05">
<scaninfo type="connect" protocol="tcp" numservices="30" services="1-30"/>
<taskbegin task="Connect Scan" time="1795435844"/>
<taskprogress task="Connect Scan" time="1795435844" percent="17.73" remaining="0" etc="1795435844"/>
<taskend task="Connect Scan" time="1795435845" extrainfo="30 total ports"/>
`;
const TAIL = `<runstats><finished time="1795435845" elapsed="0.76" exit="success"/><hosts up="1" down="0" total="1"/></runstats>
</nmaprun>
`;
const host = (address: string, ports: string) => `<host starttime="1" endtime="2"><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="${address}" addrtype="${address.includes(':') ? 'ipv6' : 'ipv4'}"/>
<hostnames></hostnames>
<ports>${ports}</ports>
</host>
`;

function read(xml: string, spec: string, chunkSize = 7) {
  const hosts: ProbeResult[][] = [];
  const progress: [string, number][] = [];
  const reader = createNmapXmlReader(PortSpec.parse(spec), 'TCP', {
    onHost: (results) => hosts.push(results),
    onProgress: (task, percent) => progress.push([task, percent]),
  });
  // Any split of the stream reads the same.
  for (let at = 0; at < xml.length; at += chunkSize) reader.write(xml.slice(at, at + chunkSize));
  reader.close();
  return { hosts, progress };
}

describe('nmap XML reader', () => {
  it('turns listed ports and summarised extraports into one result per probe', () => {
    const { hosts } = read(
      HEAD +
        host(
          '127.0.0.1',
          `<extraports state="closed" count="28">
<extrareasons reason="conn-refused" count="28" proto="tcp" ports="1-21,23-29"/>
</extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="ssh" product="OpenSSH" version="9.2p1 Debian 2" extrainfo="protocol 2.0" method="probed" conf="10"/></port>
<port protocol="tcp" portid="30"><state state="filtered" reason="no-response" reason_ttl="0"/><service name="unknown" method="table" conf="3"/></port>`,
        ) +
        TAIL,
      '1-30',
    );
    expect(hosts).toHaveLength(1);
    const [results] = hosts as [ProbeResult[]];
    expect(results).toHaveLength(30);
    expect(new Set(results.map((r) => r.port)).size).toBe(30);
    expect(results.find((r) => r.port === 22)).toEqual({
      address: '127.0.0.1',
      port: 22,
      protocol: 'TCP',
      state: 'OPEN',
      service: 'ssh',
      version: 'OpenSSH 9.2p1 Debian 2 (protocol 2.0)',
    });
    expect(results.find((r) => r.port === 30)).toEqual({ address: '127.0.0.1', port: 30, protocol: 'TCP', state: 'FILTERED' });
    expect(results.filter((r) => r.state === 'CLOSED')).toHaveLength(28);
  });

  it('reports each host as nmap finishes it, and the progress of its tasks', () => {
    const { hosts, progress } = read(
      HEAD +
        host('::1', '<port protocol="tcp" portid="80"><state state="closed" reason="reset"/></port>') +
        host('127.0.0.2', '<port protocol="tcp" portid="80"><state state="open" reason="syn-ack"/></port>') +
        TAIL,
      '80',
      1,
    );
    expect(hosts.map((results) => results.map((r) => `${r.address} ${r.port} ${r.state}`))).toEqual([
      ['::1 80 CLOSED'],
      ['127.0.0.2 80 OPEN'],
    ]);
    expect(progress).toEqual([
      ['Connect Scan', 17.73],
      ['Connect Scan', 100],
    ]);
  });

  it('reads UDP states: no answer at all is FILTERED', () => {
    const { hosts } = read(
      HEAD +
        host(
          '127.0.0.1',
          `<port protocol="udp" portid="53"><state state="open" reason="udp-response"/></port>
<port protocol="udp" portid="54"><state state="open|filtered" reason="no-response"/></port>
<port protocol="udp" portid="55"><state state="closed" reason="port-unreach"/></port>`,
        ) +
        TAIL,
      '53-55',
    );
    expect(hosts[0]?.map((r) => [r.protocol, r.port, r.state])).toEqual([
      ['UDP', 53, 'OPEN'],
      ['UDP', 54, 'FILTERED'],
      ['UDP', 55, 'CLOSED'],
    ]);
  });

  it('fills in ports an older nmap only counted', () => {
    const { hosts } = read(
      HEAD +
        host(
          '127.0.0.1',
          `<extraports state="closed" count="9"><extrareasons reason="conn-refused" count="9"/></extraports>
<port protocol="tcp" portid="5"><state state="open" reason="syn-ack"/></port>`,
        ) +
        TAIL,
      '1-10',
    );
    expect(hosts[0]?.filter((r) => r.state === 'CLOSED').map((r) => r.port)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
  });

  it('refuses a document cut short or malformed', () => {
    expect(() => read(HEAD + host('127.0.0.1', ''), '80')).toThrow(/nmap's XML could not be read/);
    expect(() => read(`${HEAD}<host><address addr="1"</host>${TAIL}`, '80')).toThrow(/nmap's XML could not be read/);
  });
});
