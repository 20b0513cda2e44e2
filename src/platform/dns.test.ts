import { describe, expect, it } from 'vitest';
import { createResolver, LookupTimeoutError, type Resolve } from './dns.ts';

const LOOPBACK = [{ address: '127.0.0.1', family: 4 }];

/** A lookup that answers only when told to, counting how many run at once. */
function heldLookups() {
  const pending: (() => void)[] = [];
  const stats = { running: 0, most: 0, started: 0 };
  const lookup: Resolve = () => {
    stats.started++;
    stats.running++;
    stats.most = Math.max(stats.most, stats.running);
    return new Promise((resolve) =>
      pending.push(() => {
        stats.running--;
        resolve(LOOPBACK);
      }),
    );
  };
  return {
    lookup,
    stats,
    answerAll: () => {
      for (const answer of pending.splice(0)) answer();
    },
  };
}

describe('createResolver', () => {
  it('answers what the lookup answers', async () => {
    expect(await createResolver({ lookup: async () => LOOPBACK })('db.internal')).toEqual(LOOPBACK);
  });

  it('resolves localhost with the system resolver', async () => {
    const found = await createResolver()('localhost');
    expect(found.length).toBeGreaterThan(0);
    expect(found.every(({ address }) => ['127.0.0.1', '::1'].includes(address))).toBe(true);
  });

  it('gives up on a name that does not answer in time', async () => {
    const held = heldLookups();
    const started = Date.now();
    await expect(createResolver({ lookup: held.lookup, timeoutMs: 100 })('slow.example')).rejects.toBeInstanceOf(LookupTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    held.answerAll();
  });

  it('runs at most `concurrency` lookups at once, and a lookup given up keeps its slot until it ends', async () => {
    const held = heldLookups();
    const resolve = createResolver({ lookup: held.lookup, timeoutMs: 150, concurrency: 2 });
    const outcomes = Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((name) => resolve(`${name}.example`)));
    const settled = await outcomes;
    // Nobody answered: the two running timed out, and so did the three that waited for them.
    expect(settled.every((outcome) => outcome.status === 'rejected' && outcome.reason instanceof LookupTimeoutError)).toBe(true);
    expect(held.stats).toMatchObject({ most: 2, started: 2 });
    // The stuck lookups still hold their threads: a new name waits, and runs once one ends.
    const next = resolve('f.example');
    await new Promise((wait) => setTimeout(wait, 20));
    expect(held.stats.started).toBe(2);
    held.answerAll();
    await new Promise((wait) => setTimeout(wait, 20));
    expect(held.stats.started).toBe(3);
    held.answerAll();
    expect(await next).toEqual(LOOPBACK);
  });

  it('passes a failed lookup on', async () => {
    const failing: Resolve = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
    };
    await expect(createResolver({ lookup: failing })('nowhere.example')).rejects.toThrow('ENOTFOUND');
  });
});
