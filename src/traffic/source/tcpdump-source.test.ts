import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Netns } from '../../../test/helpers/netns.ts';
import { CONTRACT_PORT, CONTRACT_SIZES, packetSourceContract } from './packet-source.contract.ts';
import { CaptureFailure } from './packet-source.ts';
import { filterProblem, TcpdumpSource } from './tcpdump-source.ts';

const hasTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
/** CI has root, `ip netns` and tcpdump (.ci/run installs it): there these tests never skip. */
const runnable = (hasTcpdump && Netns.available) || Boolean(process.env.CI);

describe.skipIf(!runnable)('tcpdump on loopback in a private namespace', () => {
  const netns = new Netns();
  afterAll(() => netns.remove());
  const live = (filter = `udp port ${CONTRACT_PORT}`, iface = 'lo') =>
    new TcpdumpSource({ interface: iface, filter, snapLength: 262144, tcpdump: netns.exec('tcpdump') });

  packetSourceContract('a live capture', () => ({
    source: () => live(),
    produce: async (source) => {
      await (source as TcpdumpSource).listening;
      netns.sendUdp(CONTRACT_PORT, CONTRACT_SIZES);
    },
    live: true,
  }));

  async function failure(source: TcpdumpSource): Promise<CaptureFailure> {
    const run = source.open(new AbortController().signal);
    try {
      for await (const _ of run.bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(CaptureFailure);
      await expect(run.ended).rejects.toBe(error);
      return error as CaptureFailure;
    }
    throw new Error('the capture ran');
  }

  it('fails a filter that does not compile, saying so', async () => {
    expect((await failure(live('tcp port'))).message).toMatch(/^filter: .*syntax error/);
  });

  it('reads a filter that looks like an option only as a filter', async () => {
    const target = `/tmp/scanops-filter-${process.pid}`;
    expect((await failure(live(`-w ${target}`))).message).toMatch(/^filter: /);
    expect(existsSync(target)).toBe(false);
    expect(await filterProblem(`-w ${target}`)).toMatch(/syntax error/);
    expect(existsSync(target)).toBe(false);
  });

  it('fails an interface that does not exist', async () => {
    expect((await failure(live('', 'nosuch0'))).message).toBe('interface: nosuch0 does not exist');
  });

  it('fails when tcpdump is not installed', async () => {
    const missing = new TcpdumpSource({ interface: 'lo', filter: '', snapLength: 96, tcpdump: ['/nonexistent/tcpdump'] });
    expect((await failure(missing)).message).toBe('tcpdump: not installed on this sensor');
  });

  it('checks filters without an interface', async () => {
    expect(await filterProblem('tcp and port 443')).toBeNull();
    expect(await filterProblem('')).toBeNull();
    expect(await filterProblem('port 99999')).toMatch(/port/);
    expect(await filterProblem('x'.repeat(5000))).toMatch(/longer than/);
  });
});
