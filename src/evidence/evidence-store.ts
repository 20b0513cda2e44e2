import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import type { FileStore } from './file-store.ts';
import { FsFileStore } from './store/fs-store.ts';
import { PostgresFileStore } from './store/postgres-store.ts';

/** What a store is made from: the configuration, and the app's database (for the `postgres` adapter's pool). */
export type FileStoreDeps = { config: Config; em: EntityManager };

/** Makes the store the evidence area keeps its content in; called once per app. */
export type FileStoreFactory = (deps: FileStoreDeps) => FileStore | Promise<FileStore>;

/**
 * The store `EVIDENCE_STORE` names: `fs` (files under `EVIDENCE_DIR`) or
 * `postgres` (the app's database). The adapters of `store/` plug in here.
 */
export const configuredFileStore: FileStoreFactory = async ({ config, em }) => {
  // A pool of its own: a put holds a connection for the whole upload, which must not starve the app's queries.
  if (config.evidence.store === 'postgres') return PostgresFileStore.alongside(await em.getConnection().getNativeClient());
  const store = new FsFileStore(config.evidence.dir);
  // What a crash left half-written; files still being written by another process are newer than its hour.
  await store.sweepTemp();
  return store;
};

/**
 * One store per app, made on first use by whichever needs it first (a
 * request, the sweep on start): the area holds no store of its own before
 * there is an app. Keyed by the app's `Config`, so two apps in one process
 * (tests) get one each.
 */
export class FileStores {
  readonly #factory: FileStoreFactory;
  readonly #made = new WeakMap<Config, Promise<FileStore>>();

  constructor(factory: FileStoreFactory) {
    this.#factory = factory;
  }

  /** Closes the store made for `config`, if one was. */
  async close(config: Config): Promise<void> {
    const store = this.#made.get(config);
    this.#made.delete(config);
    await (await store?.catch(() => undefined))?.close?.();
  }

  of(deps: FileStoreDeps): Promise<FileStore> {
    let store = this.#made.get(deps.config);
    if (!store) {
      store = Promise.resolve().then(() => this.#factory(deps));
      this.#made.set(deps.config, store);
    }
    return store;
  }
}
