import { describe, expect, it } from 'vitest';
import { collect } from '../../../test/helpers/probes.ts';
import { PortSpec } from '../port-spec.ts';
import { FakeNetwork, fakeScanner, scriptedScanner } from './fake-scanner.ts';
import { scannerContract } from './scanner.contract.ts';
import { DEFAULT_SCAN_OPTIONS, type ProbeHost } from './scanner.ts';

const V4: ProbeHost = { address: '127.0.0.1', family: 4 };

scannerContract('the fake scanner', () => {
  const network = new FakeNetwork();
  return {
    scanner: fakeScanner(network),
    network: {
      open: async (address) => network.open(address),
      closed: async (address) => network.closed(address),
      silent: async () => network.silent(V4.address),
      close: async () => {},
    },
  };
});

describe('the fake scanner', () => {
  it('hands results over in batches of its size, host by host', async () => {
    const batches = [];
    for await (const batch of fakeScanner(new FakeNetwork(), { batchSize: 4 }).scan(
      { hosts: [V4, { address: '::1', family: 6 }], ports: PortSpec.parse('1-5') },
      DEFAULT_SCAN_OPTIONS,
    )) {
      batches.push(batch.map((result) => `${result.address} ${result.port}`));
    }
    expect(batches).toEqual([
      ['127.0.0.1 1', '127.0.0.1 2', '127.0.0.1 3', '127.0.0.1 4'],
      ['127.0.0.1 5', '::1 1', '::1 2', '::1 3'],
      ['::1 4', '::1 5'],
    ]);
  });

  it('keeps what each call was handed', async () => {
    const scanner = fakeScanner(new FakeNetwork());
    const plan = { hosts: [V4], ports: PortSpec.parse('80') };
    const signal = new AbortController().signal;
    await collect(scanner.scan(plan, { ...DEFAULT_SCAN_OPTIONS, retries: 3 }, signal));
    expect(scanner.scans).toHaveLength(1);
    expect(scanner.scans[0]).toMatchObject({ plan, options: { retries: 3 }, signal });
  });
});

describe('a scripted scanner', () => {
  it('yields what its script yields, and hands it the call', async () => {
    const estimates: number[] = [];
    const scanner = scriptedScanner(async function* ({ plan, onProgress }) {
      onProgress(1);
      yield [{ address: plan.hosts[0]!.address, port: 7, protocol: 'UDP', state: 'OPEN' }];
    });
    const results = await collect(
      scanner.scan({ hosts: [V4], ports: PortSpec.parse('1') }, DEFAULT_SCAN_OPTIONS, undefined, (done) => estimates.push(done)),
    );
    expect(results).toEqual([{ address: '127.0.0.1', port: 7, protocol: 'UDP', state: 'OPEN' }]);
    expect(estimates).toEqual([1]);
  });

  it('gives its script a progress callback that does nothing when the caller passed none', async () => {
    const scanner = scriptedScanner(async function* ({ onProgress }) {
      onProgress(5);
      yield [];
    });
    await expect(collect(scanner.scan({ hosts: [V4], ports: PortSpec.parse('1') }, DEFAULT_SCAN_OPTIONS))).resolves.toEqual([]);
  });
});
