import { lookup } from 'node:dns/promises';

/** Addresses a name resolves to, as `dns.lookup(name, { all: true })` gives them. */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

export type ResolverOptions = {
  /** The lookup to bound. @default the system resolver (`getaddrinfo`, as nmap and every client use) */
  lookup?: Resolve;
  /** Longest a caller waits for one name, its wait for a free lookup included. @default 2000 */
  timeoutMs?: number;
  /** Lookups in flight at once, across the process. @default 2 */
  concurrency?: number;
};

/** A name that gave no answer in time. */
export class LookupTimeoutError extends Error {
  override name = 'LookupTimeoutError';
  readonly hostname: string;
  readonly timeoutMs: number;

  constructor(hostname: string, timeoutMs: number) {
    super(`${hostname} did not resolve within ${timeoutMs} ms`);
    this.hostname = hostname;
    this.timeoutMs = timeoutMs;
  }
}

const systemLookup: Resolve = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * A resolver whose callers wait at most `timeoutMs` for a name. `dns.lookup`
 * runs `getaddrinfo` on one of libuv's four pool threads (shared with file and
 * crypto work) and cannot be cancelled: a caller that gives up leaves the
 * lookup running. So lookups hold a slot until they really end, and at most
 * `concurrency` run at once; a name that waits too long for a slot times out
 * like one that waits too long for its answer.
 */
export function createResolver({ lookup: resolve = systemLookup, timeoutMs = 2_000, concurrency = 2 }: ResolverOptions = {}): Resolve {
  let running = 0;
  const waiting = new Set<() => void>();
  const release = () => {
    running--;
    const [next] = waiting;
    next?.();
  };
  const acquire = (signal: AbortSignal) =>
    new Promise<void>((resolveSlot, reject) => {
      if (running < concurrency) {
        running++;
        return resolveSlot();
      }
      const wake = () => {
        waiting.delete(wake);
        signal.removeEventListener('abort', onAbort);
        running++;
        resolveSlot();
      };
      const onAbort = () => {
        waiting.delete(wake);
        reject(signal.reason);
      };
      waiting.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });

  return async (hostname) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new LookupTimeoutError(hostname, timeoutMs)), timeoutMs);
    const expired = new Promise<never>((_, reject) =>
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }),
    );
    // The race's loser must not surface as an unhandled rejection.
    expired.catch(() => {});
    try {
      return await Promise.race([
        acquire(controller.signal).then(() => {
          const answer = Promise.resolve().then(() => resolve(hostname));
          void answer.finally(release).catch(() => {});
          return answer;
        }),
        expired,
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
}
