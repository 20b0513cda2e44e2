import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../errors.ts';
import { BlobTooLargeError, type FileStore } from '../file-store.ts';

export type FileStoreSubject = {
  store: FileStore;
  /** What puts in progress keep apart from the blobs (temporary files, `tmp:` rows): empty once none runs. */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
};

const KiB = 1024;
const MiB = 1024 * KiB;
const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** `bytes` in pieces of the given sizes, round and round: odd sizes cross every chunk boundary an adapter has. */
async function* pieces(bytes: Uint8Array, sizes: readonly number[] = [bytes.byteLength || 1]): AsyncGenerator<Uint8Array> {
  for (let at = 0, i = 0; at < bytes.byteLength; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    yield bytes.subarray(at, at + size);
    at += size;
    // A real body arrives over time: let other work (a concurrent put) run between pieces.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function readAll(open: () => Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of open()) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function listed(store: FileStore): Promise<string[]> {
  const names: string[] = [];
  for await (const name of store.list()) names.push(name);
  return names.sort();
}

/**
 * What every adapter of the `FileStore` port promises the evidence area:
 * bytes back as they went in, named by their hash, stored once, never past
 * the limit, and nothing left behind by a put that failed. Each adapter's
 * test file runs it with a fresh, empty store per test.
 */
export function fileStoreContract(name: string, subject: () => Promise<FileStoreSubject>): void {
  describe(`${name} keeps the file store contract`, () => {
    let store: FileStore;
    let current: FileStoreSubject;

    beforeEach(async () => {
      current = await subject();
      store = current.store;
    });

    afterEach(() => current.close());

    const expectNothingLeft = async (blobs: string[] = []) => {
      expect(await listed(store)).toEqual(blobs.sort());
      expect(await current.leftovers()).toEqual([]);
    };

    it.each([
      ['a few bytes', Buffer.from('evidence of an open port\n'), undefined],
      ['one byte', Buffer.from([0]), undefined],
      ['3 MiB of random bytes in odd-sized pieces', randomBytes(3 * MiB), [1, 7, 1000, 65_537, 300_001, 4093]],
    ])('gives back %s byte for byte, named by its SHA-256 and size', async (_, bytes, sizes) => {
      const stored = await store.put(pieces(bytes, sizes), { maxBytes: 10 * MiB });
      expect(stored).toEqual({ sha256: sha256Of(bytes), size: bytes.byteLength });
      expect(await store.stat(stored.sha256)).toEqual({ size: bytes.byteLength });
      expect((await readAll(() => store.read(stored.sha256))).equals(bytes)).toBe(true);
      await expectNothingLeft([stored.sha256]);
    });

    it('stores identical content once', async () => {
      const bytes = randomBytes(100 * KiB);
      const first = await store.put(pieces(bytes, [999]), { maxBytes: MiB });
      const second = await store.put(pieces(bytes, [40_000]), { maxBytes: MiB });
      expect(second).toEqual(first);
      await expectNothingLeft([first.sha256]);
    });

    it('takes exactly maxBytes, and refuses one byte more with BlobTooLargeError, leaving nothing', async () => {
      const bytes = randomBytes(300 * KiB + 1);
      const kept = await store.put(pieces(bytes.subarray(1), [7000]), { maxBytes: 300 * KiB });
      expect(kept.size).toBe(300 * KiB);
      const refused = store.put(pieces(bytes, [7000]), { maxBytes: 300 * KiB });
      await expect(refused).rejects.toBeInstanceOf(BlobTooLargeError);
      await expect(refused).rejects.toMatchObject({ maxBytes: 300 * KiB });
      expect(await store.stat(sha256Of(bytes))).toBeNull();
      await expectNothingLeft([kept.sha256]);
    });

    it('stops reading the source as soon as it is past the limit', async () => {
      const piece = randomBytes(64 * KiB);
      let pulled = 0;
      let stopped = false;
      async function* gigabyte() {
        try {
          for (let i = 0; i < (1024 * MiB) / piece.byteLength; i++) {
            pulled += piece.byteLength;
            yield piece;
          }
        } finally {
          stopped = true;
        }
      }
      await expect(store.put(gigabyte(), { maxBytes: MiB })).rejects.toBeInstanceOf(BlobTooLargeError);
      expect(pulled).toBeLessThanOrEqual(MiB + piece.byteLength);
      await expect.poll(() => stopped).toBe(true);
      await expectNothingLeft();
    });

    it('leaves nothing when the source fails part way', async () => {
      async function* failing() {
        yield randomBytes(400 * KiB);
        yield randomBytes(400 * KiB);
        throw new Error('connection reset by peer');
      }
      await expect(store.put(failing(), { maxBytes: 10 * MiB })).rejects.toThrow('connection reset by peer');
      await expectNothingLeft();
    });

    it('stores nothing for a signal aborted before it starts', async () => {
      const reason = new Error('request closed');
      await expect(store.put(pieces(randomBytes(KiB)), { maxBytes: MiB, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      await expectNothingLeft();
    });

    it('stops at once when its signal aborts while the source stalls, leaving nothing', async () => {
      const controller = new AbortController();
      async function* stalling() {
        yield randomBytes(300 * KiB);
        yield randomBytes(300 * KiB);
        setTimeout(() => controller.abort(new Error('client went away')), 20);
        await new Promise(() => {});
      }
      const started = Date.now();
      await expect(store.put(stalling(), { maxBytes: 10 * MiB, signal: controller.signal })).rejects.toThrow('client went away');
      expect(Date.now() - started).toBeLessThan(2_000);
      await expectNothingLeft();
    });

    it('reads ranges: the first byte, the last, a middle across chunk boundaries, the whole', async () => {
      const bytes = randomBytes(700 * KiB + 3);
      const { sha256 } = await store.put(pieces(bytes, [12_345]), { maxBytes: MiB });
      const last = bytes.byteLength - 1;
      for (const range of [
        { start: 0, end: 0 },
        { start: last, end: last },
        { start: 200 * KiB, end: 600 * KiB },
        { start: 256 * KiB - 1, end: 256 * KiB },
        { start: 0, end: last },
      ]) {
        const read = await readAll(() => store.read(sha256, range));
        expect(read.equals(bytes.subarray(range.start, range.end + 1)), `${range.start}-${range.end}`).toBe(true);
      }
    });

    it('throws NotFoundError reading a blob it does not hold, or a name that cannot be one', async () => {
      await expect(readAll(() => store.read(sha256Of(Buffer.from('never stored'))))).rejects.toBeInstanceOf(NotFoundError);
      await expect(readAll(() => store.read('../../../etc/passwd'))).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.stat('../../../etc/passwd')).toBeNull();
    });

    it('deletes a blob from reads, stat and list; deleting it again does nothing', async () => {
      const kept = await store.put(pieces(Buffer.from('kept')), { maxBytes: KiB });
      const { sha256 } = await store.put(pieces(randomBytes(300 * KiB), [50_000]), { maxBytes: MiB });
      await store.delete(sha256);
      await store.delete(sha256);
      expect(await store.stat(sha256)).toBeNull();
      await expect(readAll(() => store.read(sha256))).rejects.toBeInstanceOf(NotFoundError);
      await expectNothingLeft([kept.sha256]);
    });

    it('stores concurrent puts of the same content once, and both succeed', async () => {
      const bytes = randomBytes(MiB + 17);
      const [a, b] = await Promise.all([
        store.put(pieces(bytes, [33_333]), { maxBytes: 2 * MiB }),
        store.put(pieces(bytes, [77_777]), { maxBytes: 2 * MiB }),
      ]);
      expect(a).toEqual({ sha256: sha256Of(bytes), size: bytes.byteLength });
      expect(b).toEqual(a);
      expect((await readAll(() => store.read(a.sha256))).equals(bytes)).toBe(true);
      await expectNothingLeft([a.sha256]);
    });
  });
}
