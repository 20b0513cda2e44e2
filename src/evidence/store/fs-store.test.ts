import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileStoreContract } from './file-store.contract.ts';
import { FsFileStore } from './fs-store.ts';

const tempFiles = async (dir: string) => readdir(path.join(dir, 'tmp')).catch(() => []);

fileStoreContract('FsFileStore', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'scanops-evidence-'));
  return {
    store: new FsFileStore(dir),
    leftovers: () => tempFiles(dir),
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('FsFileStore', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'scanops-evidence-'));
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function* once(bytes: Uint8Array) {
    yield bytes;
  }

  it('files a blob under two levels of its hash, and nothing else', async () => {
    const { sha256 } = await new FsFileStore(dir).put(once(Buffer.from('pcap')), { maxBytes: 100 });
    expect(await readdir(dir, { recursive: true })).toEqual(
      expect.arrayContaining([sha256.slice(0, 2), path.join(sha256.slice(0, 2), sha256.slice(2, 4), sha256), 'tmp']),
    );
    expect(await readdir(dir, { recursive: true })).toHaveLength(4);
  });

  it('sweeps temporary files a crash left, but not those of a put still writing', async () => {
    const store = new FsFileStore(dir);
    await store.put(once(Buffer.from('kept')), { maxBytes: 100 });
    await writeFile(path.join(dir, 'tmp', 'stale'), 'half an upload');
    await writeFile(path.join(dir, 'tmp', 'fresh'), 'an upload in progress');
    const twoHoursAgo = new Date(Date.now() - 7_200_000);
    await utimes(path.join(dir, 'tmp', 'stale'), twoHoursAgo, twoHoursAgo);
    expect(await store.sweepTemp()).toBe(1);
    expect(await tempFiles(dir)).toEqual(['fresh']);
    expect(await store.sweepTemp({ olderThanMs: 0 })).toBe(1);
    expect(await tempFiles(dir)).toEqual([]);
  });

  it('lists only blobs, whatever else the directory holds', async () => {
    const store = new FsFileStore(dir);
    const { sha256 } = await store.put(once(Buffer.from('kept')), { maxBytes: 100 });
    await writeFile(path.join(dir, sha256.slice(0, 2), sha256.slice(2, 4), 'notes.txt'), 'not a blob');
    await writeFile(path.join(dir, 'tmp', 'upload'), 'in progress');
    const names: string[] = [];
    for await (const name of store.list()) names.push(name);
    expect(names).toEqual([sha256]);
  });

  it('sweeps and lists an empty store that has not made its directory yet', async () => {
    const store = new FsFileStore(path.join(dir, 'not-yet'));
    expect(await store.sweepTemp()).toBe(0);
    for await (const _ of store.list()) expect.unreachable();
  });
});
