import type { Clock } from '../platform/clock.ts';

export type IdentityCacheOptions = {
  /** How long a verified credential is trusted without asking the database again. */
  ttlMs: number;
  /** Most credentials kept; the least recently used go first. @default 10_000 */
  maxEntries?: number;
  clock: Clock;
};

/** What a lookup found: the value to keep, whose it is, and when the credential itself stops working (`null`: never). */
export type Verified<V> = { value: V; userId: string; until: Date | null };

type Entry<V> = { value: V; userId: string; until: number };

/**
 * Verified credentials for a short time, by a key that names exactly one
 * credential (a hash of the token, or the credential's kind and ID), so one
 * credential's entry never answers for another. Only good answers are kept:
 * a refusal is asked again every time.
 *
 * It holds nothing while disabled: only while every change to users,
 * sessions and tokens is sure to reach this process may an answer be reused.
 * Enabling and disabling both drop everything, since changes may have been
 * missed in between.
 *
 * A lookup that was running when a change arrived is not kept: it may have
 * read the row before the change was committed. A generation counter, moved
 * by every change, tells (any change at all, not only its user's: the user
 * of a token is unknown until it is found).
 */
export class IdentityCache<V> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #clock: Clock;
  /** In use order, least recent first (a Map keeps insertion order). */
  readonly #entries = new Map<string, Entry<V>>();
  readonly #keysByUser = new Map<string, Set<string>>();
  /** Lookups running now, shared by whoever asks for the same key meanwhile. */
  readonly #loading = new Map<string, Promise<V>>();
  #generation = 0;
  #enabled = false;

  constructor({ ttlMs, maxEntries = 10_000, clock }: IdentityCacheOptions) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
    this.#clock = clock;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Changes are sure to reach this process from now on. */
  enable(): void {
    this.forget(null);
    this.#enabled = true;
  }

  /** Changes may be missed from now on: every lookup goes to the database. */
  disable(): void {
    this.#enabled = false;
    this.forget(null);
  }

  /** Something changed for `userId` (`null`: for anyone): their entries go, and running lookups are not kept. */
  forget(userId: string | null): void {
    this.#generation += 1;
    this.#loading.clear();
    if (userId === null) {
      this.#entries.clear();
      this.#keysByUser.clear();
      return;
    }
    for (const key of this.#keysByUser.get(userId) ?? []) this.#entries.delete(key);
    this.#keysByUser.delete(userId);
  }

  /**
   * The value kept for `key`, or else `lookup`'s, kept if nothing changed
   * while it ran. While disabled, `lookup` runs for every call, alone: a
   * lookup started before a change must not answer for a call made after it.
   */
  async get(key: string, lookup: () => Promise<Verified<V>>): Promise<V> {
    return this.#get(key, lookup, true);
  }

  /**
   * `lookup`'s answer, shared with the calls for `key` made while it runs
   * (unless a change arrives meanwhile), but not kept: a burst of checks of
   * one credential costs one query, and the next burst asks again.
   */
  async share(key: string, lookup: () => Promise<Verified<V>>): Promise<V> {
    return this.#get(key, lookup, false);
  }

  async #get(key: string, lookup: () => Promise<Verified<V>>, keep: boolean): Promise<V> {
    if (!this.#enabled) return (await lookup()).value;
    const now = this.#clock.now().getTime();
    const entry = this.#entries.get(key);
    if (keep && entry && entry.until > now) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      return entry.value;
    }
    if (keep && entry) this.#remove(key, entry.userId);
    const running = this.#loading.get(key);
    if (running) return running;
    const generation = this.#generation;
    const loading = lookup()
      .then(({ value, userId, until }) => {
        if (keep && generation === this.#generation && this.#enabled) {
          this.#store(key, { value, userId, until: Math.min(now + this.#ttlMs, until?.getTime() ?? Number.POSITIVE_INFINITY) });
        }
        return value;
      })
      .finally(() => {
        if (this.#loading.get(key) === loading) this.#loading.delete(key);
      });
    this.#loading.set(key, loading);
    return loading;
  }

  #store(key: string, entry: Entry<V>): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    const keys = this.#keysByUser.get(entry.userId) ?? new Set<string>();
    keys.add(key);
    this.#keysByUser.set(entry.userId, keys);
    for (const [oldest, { userId }] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#remove(oldest, userId);
    }
  }

  #remove(key: string, userId: string): void {
    this.#entries.delete(key);
    const keys = this.#keysByUser.get(userId);
    keys?.delete(key);
    if (keys?.size === 0) this.#keysByUser.delete(userId);
  }
}
