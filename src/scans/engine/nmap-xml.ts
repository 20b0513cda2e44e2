import { SaxesParser } from 'saxes';
import type { PortSpec } from '../port-spec.ts';
import type { PortState, ProbeResult, Protocol } from './scanner.ts';

export type NmapXmlHandlers = {
  /** Every port of one host, once nmap has finished it: nmap reports a host only when it is done. */
  onHost(results: ProbeResult[]): void;
  /** `percent` of nmap's running task (`Connect Scan`, `Service scan`, …) is done. */
  onProgress(task: string, percent: number): void;
};

export type NmapXmlReader = {
  write(chunk: string): void;
  /** Ends the document; throws when it was cut short or malformed. */
  close(): void;
};

/**
 * nmap's port states in ours. nmap cannot tell an open UDP port that stays
 * silent from a dropped probe (`open|filtered`): that is no answer, FILTERED.
 */
const STATES: Record<string, PortState> = {
  open: 'OPEN',
  closed: 'CLOSED',
  filtered: 'FILTERED',
  'open|filtered': 'FILTERED',
  'closed|filtered': 'FILTERED',
  unfiltered: 'FILTERED',
};

const PROTOCOLS: Record<string, Protocol> = { tcp: 'TCP', udp: 'UDP' };

type HostDraft = {
  address?: string;
  results: ProbeResult[];
  reported: Set<number>;
  /** State of the ports nmap summarises as `extraports` without listing them (nmap before 7.90). */
  unlisted?: PortState;
};

/**
 * Reads nmap's XML output (`-oX -`) as it streams. Ports nmap summarises
 * (`<extraports>`, e.g. 65,000 closed ones) are expanded from their
 * `<extrareasons ports="…">`, so every probe of the plan becomes one result,
 * exactly as the native engine reports them.
 */
export function createNmapXmlReader(ports: PortSpec, protocol: Protocol, handlers: NmapXmlHandlers): NmapXmlReader {
  const parser = new SaxesParser();
  let host: HostDraft | undefined;
  let port: ProbeResult | undefined;
  let extraState: PortState | undefined;

  parser.on('opentag', ({ name, attributes }) => {
    const attr = attributes as Record<string, string>;
    switch (name) {
      case 'host':
        host = { results: [], reported: new Set() };
        break;
      case 'address':
        if (host && (attr.addrtype === 'ipv4' || attr.addrtype === 'ipv6')) host.address = attr.addr;
        break;
      case 'port': {
        const portProtocol = PROTOCOLS[attr.protocol ?? ''];
        port =
          host?.address && portProtocol
            ? { address: host.address, port: Number(attr.portid), protocol: portProtocol, state: 'FILTERED' }
            : undefined;
        break;
      }
      case 'state':
        if (port) port.state = STATES[attr.state ?? ''] ?? 'FILTERED';
        break;
      case 'service':
        if (port) Object.assign(port, serviceOf(attr));
        break;
      case 'extraports':
        extraState = STATES[attr.state ?? ''] ?? 'FILTERED';
        if (host) host.unlisted = extraState;
        break;
      case 'extrareasons': {
        const extraProtocol = PROTOCOLS[attr.proto ?? ''] ?? protocol;
        if (!host?.address || !extraState || !attr.ports) break;
        host.unlisted = undefined;
        for (const number of expandRanges(attr.ports)) {
          host.results.push({ address: host.address, port: number, protocol: extraProtocol, state: extraState });
          host.reported.add(number);
        }
        break;
      }
      case 'taskprogress':
        handlers.onProgress(attr.task ?? '', Number(attr.percent) || 0);
        break;
      case 'taskend':
        handlers.onProgress(attr.task ?? '', 100);
        break;
    }
  });

  parser.on('closetag', ({ name }) => {
    if (name === 'port' && port && host) {
      host.results.push(port);
      host.reported.add(port.port);
      port = undefined;
    } else if (name === 'extraports') {
      extraState = undefined;
    } else if (name === 'host' && host) {
      if (host.address) handlers.onHost(complete(host, host.address, ports, protocol));
      host = undefined;
    }
  });

  let failure: Error | undefined;
  parser.on('error', (error) => {
    failure ??= error;
  });

  return {
    write(chunk) {
      if (failure) return;
      parser.write(chunk);
    },
    close() {
      if (!failure) parser.close();
      if (failure) throw new Error(`nmap's XML could not be read: ${failure.message}`);
    },
  };
}

/** Adds the ports an older nmap only counted (`<extraports count=…>` without a port list). */
function complete(host: HostDraft, address: string, ports: PortSpec, protocol: Protocol): ProbeResult[] {
  const { unlisted } = host;
  if (unlisted) {
    for (const number of ports.ports()) {
      if (!host.reported.has(number)) host.results.push({ address, port: number, protocol, state: unlisted });
    }
  }
  return host.results;
}

function serviceOf(attr: Record<string, string>): Pick<ProbeResult, 'service' | 'version'> {
  const found: Pick<ProbeResult, 'service' | 'version'> = {};
  if (attr.name && attr.name !== 'unknown') found.service = attr.name;
  const version = [attr.product, attr.version, attr.extrainfo && `(${attr.extrainfo})`].filter(Boolean).join(' ');
  if (version) found.version = version.slice(0, 256);
  return found;
}

/** `1-3,7` → 1, 2, 3, 7. */
function* expandRanges(list: string): Generator<number> {
  for (const part of list.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    if (from === undefined || to === undefined || !Number.isInteger(from) || !Number.isInteger(to)) continue;
    for (let number = from; number <= to; number++) yield number;
  }
}
