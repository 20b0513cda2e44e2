import { describe, expect, it } from 'vitest';
import { IdentityCache, type Verified } from './identity-cache.ts';

const ALICE = 'a0000000-0000-4000-8000-000000000001';
const BOB = 'b0000000-0000-4000-8000-000000000002';

function aCache({ ttlMs = 30_000, maxEntries = 10 } = {}) {
  const clock = { at: 1_000_000, now: () => new Date(clock.at) };
  const cache = new IdentityCache<string>({ ttlMs, maxEntries, clock });
  cache.enable();
  let lookups = 0;
  const lookup =
    (value: string, userId = ALICE, until: Date | null = null): (() => Promise<Verified<string>>) =>
    async () => {
      lookups += 1;
      return { value, userId, until };
    };
  return { cache, clock, lookup, lookups: () => lookups };
}

/** A lookup that answers only when told to: what the database read, then a change arrives before the answer. */
function deferred(value: string, userId = ALICE) {
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  return {
    lookup: async (): Promise<Verified<string>> => {
      await answered;
      return { value, userId, until: null };
    },
    answer,
  };
}

describe('IdentityCache', () => {
  it('answers a key from what it kept, until the time to live runs out', async () => {
    const { cache, clock, lookup, lookups } = aCache();
    expect(await cache.get('k', lookup('first'))).toBe('first');
    expect(await cache.get('k', lookup('second'))).toBe('first');
    clock.at += 30_000;
    expect(await cache.get('k', lookup('third'))).toBe('third');
    expect(lookups()).toBe(2);
  });

  it("keeps nothing past the credential's own expiry", async () => {
    const { cache, clock, lookup } = aCache();
    await cache.get('k', lookup('first', ALICE, new Date(clock.at + 5_000)));
    clock.at += 5_000;
    expect(await cache.get('k', lookup('second'))).toBe('second');
  });

  it("keeps one key's answer for that key alone", async () => {
    const { cache, lookup } = aCache();
    await cache.get('one', lookup('first'));
    expect(await cache.get('two', lookup('second'))).toBe('second');
  });

  it("drops a user's entries on their change, and no one else's", async () => {
    const { cache, lookup } = aCache();
    await cache.get('alice', lookup('alice', ALICE));
    await cache.get('bob', lookup('bob', BOB));
    cache.forget(ALICE);
    expect(await cache.get('alice', lookup('alice again', ALICE))).toBe('alice again');
    expect(await cache.get('bob', lookup('bob again', BOB))).toBe('bob');
  });

  it('does not keep what a lookup read when a change arrived while it ran', async () => {
    const { cache, lookup } = aCache();
    const stale = deferred('read before the change');
    const pending = cache.get('k', stale.lookup);
    cache.forget(BOB);
    stale.answer();
    expect(await pending).toBe('read before the change');
    expect(await cache.get('k', lookup('read after'))).toBe('read after');
  });

  it('lets no call made after a change join a lookup begun before it', async () => {
    const { cache, lookup } = aCache();
    const stale = deferred('before');
    const first = cache.get('k', stale.lookup);
    cache.forget(ALICE);
    expect(await cache.get('k', lookup('after'))).toBe('after');
    stale.answer();
    expect(await first).toBe('before');
  });

  it('shares one lookup among the calls made while it runs', async () => {
    const { cache, lookups } = aCache();
    const slow = deferred('once');
    let calls = 0;
    const counted = () => {
      calls += 1;
      return slow.lookup();
    };
    const answers = Promise.all([cache.share('k', counted), cache.share('k', counted), cache.get('k2', counted)]);
    slow.answer();
    expect(await answers).toEqual(['once', 'once', 'once']);
    expect(calls).toBe(2);
    expect(lookups()).toBe(0);
  });

  it('keeps nothing of what it shares: the next call asks again', async () => {
    const { cache, lookup, lookups } = aCache();
    await cache.share('k', lookup('first'));
    expect(await cache.share('k', lookup('second'))).toBe('second');
    expect(lookups()).toBe(2);
  });

  it('asks every time while disabled, shares nothing, and starts empty once enabled again', async () => {
    const { cache, lookup, lookups } = aCache();
    await cache.get('k', lookup('kept'));
    cache.disable();
    expect(await cache.get('k', lookup('asked'))).toBe('asked');
    const slow = deferred('alone');
    const both = Promise.all([cache.share('s', slow.lookup), cache.share('s', lookup('not shared'))]);
    slow.answer();
    expect(await both).toEqual(['alone', 'not shared']);
    cache.enable();
    expect(await cache.get('k', lookup('fresh'))).toBe('fresh');
    expect(lookups()).toBe(4);
  });

  it('does not keep a lookup that was running when it was disabled', async () => {
    const { cache, lookup } = aCache();
    const slow = deferred('during');
    const pending = cache.get('k', slow.lookup);
    cache.disable();
    cache.enable();
    slow.answer();
    await pending;
    expect(await cache.get('k', lookup('after'))).toBe('after');
  });

  it('keeps a refusal for no one', async () => {
    const { cache, lookup } = aCache();
    await expect(
      cache.get('k', async () => {
        throw new Error('revoked');
      }),
    ).rejects.toThrow('revoked');
    expect(await cache.get('k', lookup('asked again'))).toBe('asked again');
  });

  it('holds at most maxEntries, dropping the least recently used first', async () => {
    const { cache, lookup } = aCache({ maxEntries: 2 });
    await cache.get('a', lookup('a'));
    await cache.get('b', lookup('b'));
    await cache.get('a', lookup('a?'));
    await cache.get('c', lookup('c'));
    expect(cache.size).toBe(2);
    expect(await cache.get('a', lookup('a again'))).toBe('a');
    expect(await cache.get('b', lookup('b again'))).toBe('b again');
  });
});
