import { NotFoundError } from '../../errors.ts';
import { BlobTooLargeError } from '../file-store.ts';

const SHA256 = /^[0-9a-f]{64}$/;

/** Whether `text` can name a blob: the only names a store lets reach a path or a key. */
export const isSha256 = (text: string): boolean => SHA256.test(text);

/** What both adapters throw for a blob they do not hold, or a name that cannot be one. */
export const blobNotFound = (sha256: string): NotFoundError => new NotFoundError(`No stored blob ${sha256.slice(0, 64)}.`);

/**
 * The chunks of `source` as they come, stopping it (its `return()`: a request
 * body stops being read) the moment more than `maxBytes` have come, `signal`
 * aborts, or the consumer stops. An abort is seen even while the source is
 * still waiting for its next chunk, so a stalled client cannot hold a put open.
 */
export async function* intake(
  source: AsyncIterable<Uint8Array>,
  { maxBytes, signal }: { maxBytes: number; signal?: AbortSignal | undefined },
): AsyncGenerator<Uint8Array, void, undefined> {
  signal?.throwIfAborted();
  const iterator = source[Symbol.asyncIterator]();
  let size = 0;
  let finished = false;
  try {
    for (;;) {
      const next = await untilAborted(iterator.next(), signal);
      if (next.done) {
        finished = true;
        return;
      }
      size += next.value.byteLength;
      if (size > maxBytes) throw new BlobTooLargeError(maxBytes);
      yield next.value;
      signal?.throwIfAborted();
    }
  } finally {
    // Not awaited: after an abort the source may still be inside `next()`, and a generator's
    // `return()` would wait for it.
    if (!finished) Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
