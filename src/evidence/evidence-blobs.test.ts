import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/helpers/app.ts';
import { Evidence } from './evidence.entity.ts';
import { removeIfUnreferenced, sweepBlobs } from './evidence-blobs.ts';
import { configuredFileStore } from './evidence-store.ts';
import type { FileStore } from './file-store.ts';

let app: TestApp;
let dir: string;
let store: FileStore;
let scanId: string;

async function* bytes(text: string) {
  yield Buffer.from(text);
}

const list = async () => {
  const found: string[] = [];
  for await (const sha256 of store.list()) found.push(sha256);
  return found.sort();
};

const record = (sha256: string) =>
  app.orm.em.fork().insert(Evidence, {
    id: randomUUID(),
    scan: scanId,
    sha256,
    size: 4,
    contentType: 'image/png',
    filename: 'x.png',
    description: null,
    uploadedBy: null,
    createdAt: new Date(),
  });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'scanops-blobs-'));
  app = await createTestApp({ EVIDENCE_DIR: dir });
  store = await configuredFileStore({ config: app.config, em: app.orm.em.fork() });
  scanId = (await app.context().services.scanCommands.create({ targets: ['127.0.0.1'], ports: '1' })).id;
});

afterAll(async () => {
  await app.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('the blob sweep', () => {
  it('removes the blobs no record points to, and keeps the others', async () => {
    const kept = await store.put(bytes('kept'), { maxBytes: 100 });
    const orphan = await store.put(bytes('orphan'), { maxBytes: 100 });
    await record(kept.sha256);
    expect(await sweepBlobs(app.orm.em.fork(), store, app.logger)).toBe(1);
    expect(await list()).toEqual([kept.sha256]);
    expect(await store.stat(orphan.sha256)).toBeNull();
  });

  it('removes a blob once no record points to it, and keeps one a record points to', async () => {
    const shared = await store.put(bytes('shared'), { maxBytes: 100 });
    await record(shared.sha256);
    await record(shared.sha256);
    const em = app.orm.em.fork();
    await em.nativeDelete(Evidence, { sha256: shared.sha256 }, {});
    expect(await removeIfUnreferenced(app.orm.em.fork(), store, shared.sha256)).toBe(true);
    expect(await store.stat(shared.sha256)).toBeNull();
    const again = await store.put(bytes('shared'), { maxBytes: 100 });
    await record(again.sha256);
    expect(await removeIfUnreferenced(app.orm.em.fork(), store, again.sha256)).toBe(false);
    expect(await store.stat(again.sha256)).toEqual({ size: 6 });
  });
});
