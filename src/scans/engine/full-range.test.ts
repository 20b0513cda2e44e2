import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// A private network namespace needs root (CI has it); elsewhere the test is skipped, never run on the host.
const netns = spawnSync('unshare', ['-n', 'true']).status === 0;

describe.skipIf(!netns && !process.env.CI)('a full-range connect scan in a private network namespace', () => {
  it('finds exactly the listeners on all 65,535 ports, with no self-connect ghosts', () => {
    const run = spawnSync('unshare', ['-n', '--', process.execPath, 'test/helpers/netns-full-scan.ts', '7'], {
      env: { ...process.env, SCANOPS_IN_NETNS: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const { listeners, open, states } = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as {
      listeners: number[];
      open: number[];
      states: Record<string, number>;
    };
    expect(listeners).toHaveLength(7);
    expect(open).toEqual(listeners);
    expect(states).toEqual({ OPEN: 7, CLOSED: 65_535 - 7, FILTERED: 0 });
  });
});
