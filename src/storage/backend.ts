// The key-value operations storage/ needs, as an interface, and its IndexedDB implementation on
// idb-keyval. Tests wrap a backend to count reads or to fail the Nth write (quota, crash) without
// mocking idb-keyval; an explicit IDBFactory (e.g. fake-indexeddb) keeps tests isolated.

import { del, delMany, get, getMany, keys, promisifyRequest, set, setMany, type UseStore } from 'idb-keyval';

export interface StorageBackend {
  get(key: string): Promise<unknown>;
  getMany(keys: string[]): Promise<unknown[]>;
  /** one transaction; resolves when it committed */
  set(key: string, value: unknown): Promise<void>;
  /** one transaction: all entries or none */
  setMany(entries: [string, unknown][]): Promise<void>;
  del(key: string): Promise<void>;
  delMany(keys: string[]): Promise<void>;
  /** every key of the store (keys only, values are not read) */
  keys(): Promise<string[]>;
}

export interface IdbBackendOptions {
  dbName: string;
  storeName?: string;
  /** defaults to the global `indexedDB`; tests pass `new IDBFactory()` from fake-indexeddb */
  indexedDB?: IDBFactory;
}

/** A backend over one IndexedDB object store (created on first open). */
export function idbBackend(opts: IdbBackendOptions): StorageBackend {
  const store = createStoreWith(opts.indexedDB ?? globalThis.indexedDB, opts.dbName, opts.storeName ?? 'kv');
  return {
    get: (k) => get(k, store),
    getMany: (ks) => (ks.length === 0 ? Promise.resolve([]) : getMany(ks, store)),
    set: (k, v) => set(k, v, store),
    setMany: (es) => (es.length === 0 ? Promise.resolve() : setMany(es, store)),
    del: (k) => del(k, store),
    delMany: (ks) => (ks.length === 0 ? Promise.resolve() : delMany(ks, store)),
    keys: async () => (await keys(store)).filter((k): k is string => typeof k === 'string'),
  };
}

/** idb-keyval's createStore, but on a given IDBFactory instead of the global one. */
function createStoreWith(factory: IDBFactory | undefined, dbName: string, storeName: string): UseStore {
  let dbp: Promise<IDBDatabase> | undefined;
  const getDB = (): Promise<IDBDatabase> => {
    if (dbp) return dbp;
    if (!factory) {
      return Promise.reject(new Error('IndexedDB is not available in this context (no indexedDB global)'));
    }
    const request = factory.open(dbName);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    const p = promisifyRequest(request);
    dbp = p;
    p.then((db) => {
      db.onclose = () => (dbp = undefined); // the browser may close the connection (Safari)
      db.onversionchange = () => { db.close(); dbp = undefined; }; // let a deleteDatabase elsewhere proceed
    }, () => (dbp = undefined));
    return p;
  };
  return (txMode, callback) => getDB().then((db) => callback(db.transaction(storeName, txMode).objectStore(storeName)));
}
