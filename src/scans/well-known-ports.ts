import type { Protocol } from './engine/scanner.ts';

/**
 * Service names of well-known and commonly used ports: the IANA name as
 * nmap-services spells it, or the name the port is known by in practice
 * (9200 `elasticsearch`). A guess, not a finding: anything may listen
 * anywhere; VERSION scans ask the service itself.
 */
const TCP: Record<number, string> = {
  7: 'echo', 20: 'ftp-data', 21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 43: 'whois', 53: 'domain', 70: 'gopher',
  79: 'finger', 80: 'http', 88: 'kerberos-sec', 110: 'pop3', 111: 'rpcbind', 113: 'ident', 119: 'nntp', 135: 'msrpc',
  139: 'netbios-ssn', 143: 'imap', 179: 'bgp', 389: 'ldap', 443: 'https', 445: 'microsoft-ds', 465: 'smtps', 514: 'shell',
  515: 'printer', 548: 'afp', 554: 'rtsp', 587: 'submission', 631: 'ipp', 636: 'ldaps', 873: 'rsync', 993: 'imaps',
  995: 'pop3s', 1080: 'socks', 1433: 'ms-sql-s', 1521: 'oracle', 1723: 'pptp', 1883: 'mqtt', 2049: 'nfs', 2181: 'zookeeper',
  2375: 'docker', 2376: 'docker-s', 3128: 'squid-http', 3306: 'mysql', 3389: 'ms-wbt-server', 3690: 'svn',
  4369: 'epmd', 5000: 'upnp', 5060: 'sip', 5222: 'xmpp-client', 5432: 'postgresql', 5672: 'amqp', 5900: 'vnc', 5984: 'couchdb',
  6379: 'redis', 6443: 'kubernetes-api', 6667: 'irc', 8000: 'http-alt', 8008: 'http', 8080: 'http-proxy',
  8443: 'https-alt', 9092: 'kafka', 9100: 'jetdirect', 9200: 'elasticsearch', 9418: 'git', 11211: 'memcache', 15672: 'rabbitmq-mgmt', 27017: 'mongod',
};

const UDP: Record<number, string> = {
  7: 'echo', 53: 'domain', 67: 'dhcps', 68: 'dhcpc', 69: 'tftp', 88: 'kerberos-sec', 123: 'ntp', 137: 'netbios-ns',
  138: 'netbios-dgm', 161: 'snmp', 162: 'snmptrap', 500: 'isakmp', 514: 'syslog', 520: 'route', 1194: 'openvpn',
  1900: 'upnp', 4500: 'nat-t-ike', 5060: 'sip', 5353: 'zeroconf', 11211: 'memcache', 51820: 'wireguard',
};

export function wellKnownService(port: number, protocol: Protocol): string | null {
  return (protocol === 'TCP' ? TCP : UDP)[port] ?? null;
}
