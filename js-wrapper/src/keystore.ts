// Where the private half of the device key lives: a non-extractable WebCrypto `CryptoKey` in
// IndexedDB (database `attune`, store `keys`, one record per public key). It signs on this device
// and cannot be read or copied — not even by the page, a script injected into it, or the export.
// With `storage: 'memory'`, or without IndexedDB, it lives in memory for the page's lifetime.

export interface StoredKey {
  publicKey: string;
  created: number;
}

interface KeyRecord extends StoredKey {
  privateKey: CryptoKey;
}

export interface KeyStore {
  /** Whether the keys outlive the page (IndexedDB) or not (memory). */
  readonly persistent: boolean;
  put(record: KeyRecord): Promise<void>;
  /**
   * Stores `record` unless the store already holds a key, in one transaction (IndexedDB
   * serialises them across tabs): returns the key that is now the device's — `record`, or the
   * oldest one another tab stored first.
   */
  claim(record: KeyRecord): Promise<StoredKey>;
  get(publicKey: string): Promise<CryptoKey | undefined>;
  remove(publicKey: string): Promise<void>;
  /** The public keys held (never the private halves). */
  list(): Promise<StoredKey[]>;
  /** Deletes everything: the whole database. */
  clear(): Promise<void>;
}

export const KEY_DATABASE = 'attune';
const STORE = 'keys';

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

/**
 * A connection per operation, closed after it: a long-lived one would block `clear` in other
 * tabs. Only writes create the database; a read of a database that does not exist (never made,
 * or deleted meanwhile by "Clear everything") finds nothing and leaves none behind.
 */
async function withStore<T>(
  mode: IDBTransactionMode,
  run: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T | undefined> {
  const open = indexedDB.open(KEY_DATABASE, 1);
  let missing = false;
  open.onupgradeneeded = () => {
    if (mode === 'readwrite') {
      open.result.createObjectStore(STORE, { keyPath: 'publicKey' });
    } else {
      missing = true;
      open.transaction?.abort();
    }
  };
  let db: IDBDatabase;
  try {
    db = await done(open);
  } catch (e) {
    if (missing) return undefined;
    throw e;
  }
  try {
    const tx = db.transaction(STORE, mode);
    const result = await done(run(tx.objectStore(STORE)));
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
    return result;
  } finally {
    db.close();
  }
}

class IndexedDbKeys implements KeyStore {
  readonly persistent = true;
  async put(record: KeyRecord): Promise<void> {
    await withStore('readwrite', (s) => s.put(record));
  }
  async claim(record: KeyRecord): Promise<StoredKey> {
    let held: KeyRecord[] = [];
    await withStore('readwrite', (s) => {
      const all = s.getAll();
      all.addEventListener('success', () => {
        held = all.result as KeyRecord[];
        if (held.length === 0) s.put(record);
      });
      return all;
    });
    const winner = [...held].sort((a, b) => a.created - b.created)[0] ?? record;
    return { publicKey: winner.publicKey, created: winner.created };
  }
  async get(publicKey: string): Promise<CryptoKey | undefined> {
    const record = (await withStore('readonly', (s) => s.get(publicKey))) as KeyRecord | undefined;
    return record?.privateKey;
  }
  async remove(publicKey: string): Promise<void> {
    await withStore('readwrite', (s) => s.delete(publicKey));
  }
  async list(): Promise<StoredKey[]> {
    const records = ((await withStore('readonly', (s) => s.getAll())) ?? []) as KeyRecord[];
    return records.map(({ publicKey, created }) => ({ publicKey, created }));
  }
  async clear(): Promise<void> {
    await done(indexedDB.deleteDatabase(KEY_DATABASE) as IDBRequest<unknown>);
  }
}

class MemoryKeys implements KeyStore {
  readonly persistent = false;
  readonly #keys = new Map<string, KeyRecord>();
  async put(record: KeyRecord): Promise<void> {
    this.#keys.set(record.publicKey, record);
  }
  async claim(record: KeyRecord): Promise<StoredKey> {
    const held = [...this.#keys.values()].sort((a, b) => a.created - b.created)[0];
    if (held) return { publicKey: held.publicKey, created: held.created };
    this.#keys.set(record.publicKey, record);
    return { publicKey: record.publicKey, created: record.created };
  }
  async get(publicKey: string): Promise<CryptoKey | undefined> {
    return this.#keys.get(publicKey)?.privateKey;
  }
  async remove(publicKey: string): Promise<void> {
    this.#keys.delete(publicKey);
  }
  async list(): Promise<StoredKey[]> {
    return [...this.#keys.values()].map(({ publicKey, created }) => ({ publicKey, created }));
  }
  async clear(): Promise<void> {
    this.#keys.clear();
  }
}

export function keyStore(memoryOnly: boolean): KeyStore {
  return !memoryOnly && typeof indexedDB !== 'undefined' ? new IndexedDbKeys() : new MemoryKeys();
}
