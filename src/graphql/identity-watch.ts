import type { GraphQLError } from 'graphql';
import { Repeater } from 'graphql-yoga';
import type { Authenticate, Identity, IdentityRevoked } from '../access/viewer.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { EventBus } from '../module.ts';
import type { Logger } from '../platform/logger.ts';
import { toCodedError } from './errors.ts';

/**
 * While changes may go unheard, a re-check of a live identity is served from
 * the last answer for this long, so a burst of events costs one query.
 */
const RECHECK_EVERY_MS = 1_000;
/** Timers cannot wait longer than this (about 24.8 days); longer expiries are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type IdentityLost = UnauthenticatedError | ForbiddenError;

/**
 * Keeps long-lived identities honest: those of graphql-ws connections and of
 * single subscriptions. Each is re-checked when a change to its user's
 * credentials is heard (the authenticator's `onChange`: the database tells
 * every process), when a revocation or a role change is published on the
 * event bus, and when it expires. While the authenticator hears every
 * change, events flow without any other check; while it may miss some, each
 * identity is re-checked at least every second while events flow, and when
 * it hears again, every identity is checked once. A changed role counts as
 * lost: the client authenticates again.
 */
export class IdentityWatch {
  readonly #authenticator: Authenticate;
  readonly #watchers = new Set<{ identity: Identity; check: () => void }>();
  readonly #stop: () => void;

  constructor(authenticator: Authenticate, events: EventBus, logger: Logger) {
    this.#authenticator = authenticator;
    let stopped = false;
    let subscription: AsyncIterator<IdentityRevoked> | undefined;
    // `null`: changes may have been missed, so everyone. The authenticator's cache makes that one query per credential.
    const stopHearing = authenticator.onChange((userId) => {
      for (const watcher of this.#watchers) if (userId === null || watcher.identity.userId === userId) watcher.check();
    });
    this.#stop = () => {
      stopped = true;
      stopHearing();
      void subscription?.return?.()?.catch(() => {});
    };
    let restarts = 0;
    const follow = async () => {
      subscription = events.subscribe('identityRevoked')[Symbol.asyncIterator]();
      const first = subscription.next();
      // Back after a failure: what was published meanwhile is lost, so every identity is checked now.
      if (restarts++ > 0) for (const watcher of this.#watchers) watcher.check();
      for (let next = await first; !next.done; next = await subscription.next()) {
        for (const watcher of this.#watchers) if (watcher.identity.userId === next.value.userId) watcher.check();
      }
    };
    // Without this feed revocations would reach open streams only at their next event: never let it die.
    const keepFollowing = (): void => {
      void follow()
        .catch((error: unknown) => logger.error({ err: error }, 'lost the identityRevoked feed; following it again'))
        .finally(() => {
          if (!stopped) setTimeout(keepFollowing, 1_000).unref();
        });
    };
    keepFollowing();
  }

  /**
   * Calls `onLost` once when `identity` stops holding: revoked, deactivated,
   * or expired. Returns `recheck` (cached, for each event) and `unwatch`.
   */
  watch(identity: Identity, onLost: (why: IdentityLost) => void): { recheck: () => Promise<boolean>; unwatch: () => void } {
    let lost = false;
    // Just authenticated: the first event needs no second look.
    let checkedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    /** The latest check under way: events wait for it rather than pass on the strength of the one before. */
    let checking: Promise<boolean> | undefined;
    const lose = (why: IdentityLost) => {
      if (lost) return;
      lost = true;
      unwatch();
      onLost(why);
    };
    // Each check asks anew (one joining a check begun before a change could miss it); the authenticator's
    // cache is what shares one lookup among the checks of one credential.
    const check = (): Promise<boolean> => {
      const run = verify();
      checking = run;
      run
        .finally(() => {
          if (checking === run) checking = undefined;
        })
        .catch(() => {});
      return run;
    };
    const verify = async (): Promise<boolean> => {
      if (lost) return false;
      try {
        const now = await this.#authenticator.recheck(identity);
        // What was allowed under the old role was decided when the stream began: begin again under the new one.
        if (now.role !== identity.role) throw new UnauthenticatedError(`Your role is now ${now.role}: authenticate again.`);
        checkedAt = Date.now();
        return true;
      } catch (error) {
        if (error instanceof UnauthenticatedError || error instanceof ForbiddenError) lose(error);
        else throw error;
        return false;
      }
    };
    const watcher = { identity, check: () => void check().catch(() => {}) };
    const armExpiry = () => {
      if (!identity.expiresAt) return;
      const wait = identity.expiresAt.getTime() - Date.now();
      timer = setTimeout(wait > MAX_TIMER_MS ? armExpiry : watcher.check, Math.min(Math.max(wait, 0), MAX_TIMER_MS));
      timer.unref();
    };
    const unwatch = () => {
      clearTimeout(timer);
      this.#watchers.delete(watcher);
    };
    this.#watchers.add(watcher);
    armExpiry();
    const recheck = async (): Promise<boolean> => {
      if (lost) return false;
      if (checking) return checking;
      if (identity.expiresAt !== null && identity.expiresAt.getTime() <= Date.now()) return check();
      // Any change would have been heard, and have started a check: nothing to ask the database.
      if (this.#authenticator.hearsEveryChange) return true;
      return Date.now() - checkedAt < RECHECK_EVERY_MS ? true : check();
    };
    return {
      recheck,
      unwatch,
    };
  }

  /**
   * A subscription's results while `identity` holds: each event waits for a
   * (cached) re-check; once the identity is lost, one last result carries the
   * error (`UNAUTHENTICATED` or `FORBIDDEN`) and the stream ends.
   */
  guard<T>(source: AsyncIterable<T>, identity: Identity, errorResult: (error: GraphQLError) => T): AsyncIterableIterator<T> {
    return new Repeater<T>(async (push, stop) => {
      const iterator = source[Symbol.asyncIterator]();
      let lostWith: IdentityLost | undefined;
      // Each wait for the next event is woken by the end on its own: racing one long-lived promise would leave
      // a reaction on it per event, each holding that event's result, until the subscription ends.
      let over = false;
      let wake: ((step: IteratorResult<T>) => void) | null = null;
      const end = () => {
        over = true;
        wake?.({ done: true, value: undefined });
      };
      const { recheck, unwatch } = this.watch(identity, (why) => {
        lostWith = why;
        end();
      });
      void stop.then(end);
      try {
        for (;;) {
          const next: IteratorResult<T> = over
            ? { done: true, value: undefined }
            : await new Promise<IteratorResult<T>>((resolve, reject) => {
                wake = resolve;
                iterator.next().then(resolve, reject);
              });
          wake = null;
          if (next.done || !(await recheck())) break;
          await push(next.value);
        }
        if (lostWith) await push(errorResult(toCodedError(lostWith)));
      } finally {
        unwatch();
        await iterator.return?.();
        stop();
      }
    });
  }

  close(): void {
    this.#stop();
    this.#watchers.clear();
  }
}
