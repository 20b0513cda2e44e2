import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.ts';
import type { FileStore } from './file-store.ts';
import { InterimFsFileStore } from './interim-fs-store.ts';

/** What a store is made from: the configuration, and the app's database (for the `postgres` adapter's pool). */
export type FileStoreDeps = { config: Config; em: EntityManager };

/** Makes the store the evidence area keeps its content in; called once per app. */
export type FileStoreFactory = (deps: FileStoreDeps) => FileStore | Promise<FileStore>;

/**
 * The store `EVIDENCE_STORE` names: `fs` (files under `EVIDENCE_DIR`) or
 * `postgres` (the app's database). The adapters of `store/` plug in here.
 */
export const configuredFileStore: FileStoreFactory = ({ config }) => {
  if (config.evidence.store === 'postgres') throw new Error('EVIDENCE_STORE=postgres has no adapter in this build yet; use fs.');
  return new InterimFsFileStore(config.evidence.dir);
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

  of(deps: FileStoreDeps): Promise<FileStore> {
    let store = this.#made.get(deps.config);
    if (!store) {
      store = Promise.resolve().then(() => this.#factory(deps));
      this.#made.set(deps.config, store);
    }
    return store;
  }
}
