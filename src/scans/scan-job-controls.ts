import type { Clock } from '../platform/clock.ts';

/**
 * Tells progress at most once per `everyMs`, so a fast engine's batches do
 * not flood subscribers; `tell(true)` tells it at once (the first word, the
 * last). Returns whether it told, for work that should go with it.
 */
export function progressThrottle(publish: (now: Date) => void, everyMs: number, clock: Clock): (force?: boolean) => boolean {
  let last = Number.NEGATIVE_INFINITY;
  return (force = false) => {
    const now = clock.now();
    if (!force && now.getTime() - last < everyMs) return false;
    last = now.getTime();
    publish(now);
    return true;
  };
}

/** What stops a running scan: its `signal`, handed to the engine. */
export type Cancellation = {
  /** Aborts once the scan was cancelled elsewhere, its worker is stopping, or `abort()` was called. */
  signal: AbortSignal;
  /** Stops the scan from here (its batch was refused: the scan is no longer RUNNING). */
  abort(): void;
  /** Stops watching; call once the engine is done. */
  stop(): void;
};

/**
 * Watches for a cancellation made in another process (an API instance)
 * by asking `isCancelled` every `everyMs`, and for the worker stopping. One
 * question at a time, so a slow database gets no pile of them; a failed one
 * is only asked again. Polling ends once the signal aborts.
 */
export function watchCancellation(isCancelled: () => Promise<boolean>, workerStopping: AbortSignal, everyMs: number): Cancellation {
  const own = new AbortController();
  const signal = AbortSignal.any([own.signal, workerStopping]);
  let asking = false;
  const timer = setInterval(() => {
    if (asking) return;
    asking = true;
    void isCancelled()
      .then(
        (cancelled) => {
          if (cancelled) own.abort();
        },
        () => {},
      )
      .finally(() => {
        asking = false;
      });
  }, everyMs);
  const stop = () => clearInterval(timer);
  signal.addEventListener('abort', stop, { once: true });
  if (signal.aborted) stop();
  return { signal, abort: () => own.abort(), stop };
}
