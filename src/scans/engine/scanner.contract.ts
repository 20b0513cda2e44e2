import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, statesOf } from '../../../test/helpers/probes.ts';
import { PortSpec } from '../port-spec.ts';
import { DEFAULT_SCAN_OPTIONS, type ProbeHost, type Scanner, type ScanOptions } from './scanner.ts';

/**
 * Where the contract's ports are: real listeners on loopback for the real
 * engines (test/helpers/loopback.ts), a `FakeNetwork` for the fake one.
 */
export type ContractNetwork = {
  /** A port on `address` that accepts connections. */
  open(address: string): Promise<number>;
  /** A port on `address` that nothing listens on. */
  closed(address: string): Promise<number>;
  /** A port on 127.0.0.1 that never answers; absent where this machine cannot make one (the test says so by skipping). */
  silent?: () => Promise<number>;
  /** Ends whatever it opened. */
  close(): Promise<void>;
};

export type ContractSubject = { scanner: Scanner; network: ContractNetwork };

export type ContractOptions = {
  /** What the engine takes on top of its probes to start and stop (nmap: a process of its own). @default 0 */
  overheadMs?: number;
};

const V4: ProbeHost = { address: '127.0.0.1', family: 4 };
const V4_OTHER: ProbeHost = { address: '127.0.0.2', family: 4 };
const V6: ProbeHost = { address: '::1', family: 6 };
const FAST: ScanOptions = { ...DEFAULT_SCAN_OPTIONS, timeoutMs: 500, retries: 0 };

/**
 * What every engine of the `Scanner` port promises its caller, the scan job:
 * one result per probe, the states as the network has them, both address
 * families, and a stop within a second of its signal. Each engine's test file
 * runs it with its own scanner; the job relies on nothing beyond it.
 */
export function scannerContract(
  name: string,
  subject: () => ContractSubject | Promise<ContractSubject>,
  { overheadMs = 0 }: ContractOptions = {},
): void {
  describe(`${name} keeps the scanner contract`, () => {
    let scanner: Scanner;
    let network: ContractNetwork;

    beforeAll(async () => {
      ({ scanner, network } = await subject());
    });

    afterAll(() => network?.close());

    it('reports exactly the listening ports as OPEN and the rest as CLOSED, one TCP result per probe', async () => {
      const open = [await network.open(V4.address), await network.open(V4.address), await network.open(V4.address)];
      const closed = [await network.closed(V4.address), await network.closed(V4.address)];
      const results = await collect(scanner.scan({ hosts: [V4], ports: PortSpec.parse([...open, ...closed].join(',')) }, FAST));
      expect(results).toHaveLength(5);
      expect(statesOf(results)).toEqual(Object.fromEntries([...open.map((p) => [p, 'OPEN']), ...closed.map((p) => [p, 'CLOSED'])]));
      expect(results.every((r) => r.address === V4.address && r.protocol === 'TCP')).toBe(true);
    });

    it('scans IPv6 loopback (::1)', async () => {
      const open = await network.open(V6.address);
      const closed = await network.closed(V6.address);
      const results = await collect(scanner.scan({ hosts: [V6], ports: PortSpec.parse(`${open},${closed}`) }, FAST));
      expect(statesOf(results)).toEqual({ [open]: 'OPEN', [closed]: 'CLOSED' });
      expect(results.every((r) => r.address === V6.address)).toBe(true);
    });

    it("probes each port of each of the plan's hosts once, IPv4 and IPv6 alike, and nothing else", async () => {
      const ports = PortSpec.parse(
        `${await network.open(V4.address)},${await network.closed(V4.address)},${await network.closed(V6.address)}`,
      );
      const hosts = [V4, V4_OTHER, V6];
      const results = await collect(scanner.scan({ hosts, ports }, FAST));
      const probed = results.map((r) => `${r.address} ${r.port}`).sort();
      expect(probed).toEqual(hosts.flatMap((host) => [...ports.ports()].map((port) => `${host.address} ${port}`)).sort());
    });

    it('yields nothing for a plan without hosts', async () => {
      expect(await collect(scanner.scan({ hosts: [], ports: PortSpec.parse('1-100') }, FAST))).toEqual([]);
    });

    it('reports a port that never answers as FILTERED once its attempts timed out, within their time', async ({ skip }) => {
      if (!network.silent) return skip('this machine cannot make a silent port (needs python3)');
      const silent = await network.silent();
      const open = await network.open(V4.address);
      const options = { ...FAST, timeoutMs: 300, retries: 1 };
      const started = Date.now();
      const results = await collect(scanner.scan({ hosts: [V4], ports: PortSpec.parse(`${open},${silent}`) }, options));
      expect(statesOf(results)).toEqual({ [open]: 'OPEN', [silent]: 'FILTERED' });
      expect(Date.now() - started).toBeLessThan(options.timeoutMs * (options.retries + 1) + overheadMs + 1_000);
    });

    it('stops within a second of its signal aborting', async () => {
      const controller = new AbortController();
      let abortedAt = 0;
      setTimeout(() => {
        abortedAt = Date.now();
        controller.abort();
      }, 200);
      // 20,000 probes at 500 a second would take 40 s.
      const results = await collect(
        scanner.scan({ hosts: [V4], ports: PortSpec.parse('1-20000') }, { ...FAST, maxRate: 500 }, controller.signal),
      );
      expect(abortedAt).toBeGreaterThan(0);
      expect(Date.now() - abortedAt).toBeLessThan(1_000);
      expect(results.length).toBeLessThan(20_000);
    });

    it('probes nothing when its signal has aborted before it starts', async () => {
      const open = await network.open(V4.address);
      const started = Date.now();
      const results = await collect(scanner.scan({ hosts: [V4], ports: PortSpec.parse(String(open)) }, FAST, AbortSignal.abort()));
      expect(results).toEqual([]);
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it('never starts probes faster than maxRate', async () => {
      const started = Date.now();
      const results = await collect(scanner.scan({ hosts: [V4], ports: PortSpec.parse('1-60') }, { ...FAST, maxRate: 100 }));
      expect(results).toHaveLength(60);
      // 60 probes at 100/s cannot finish in under ~0.59 s, however fast the machine.
      expect(Date.now() - started).toBeGreaterThanOrEqual(580);
    });

    it('estimates its progress, if at all, within the probes of the plan', async () => {
      const ports = PortSpec.parse(`${await network.open(V4.address)},${await network.closed(V4.address)}`);
      const estimates: number[] = [];
      await collect(scanner.scan({ hosts: [V4, V6], ports }, FAST, undefined, (done) => estimates.push(done)));
      expect(estimates.every((done) => Number.isInteger(done) && done >= 0 && done <= 2 * ports.count)).toBe(true);
    });
  });
}
