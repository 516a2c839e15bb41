// A device's state in the browser's IndexedDB: one record per key in the object store "clients" of
// database "fedfacet". IndexedDB stores typed arrays as they are (structured clone), and a put is
// one transaction, so a tab closed mid-save keeps the previous state.
import { checkState, type ClientState, type StateStore } from "./state.js";

const DB = "fedfacet";
const STORE = "clients";

function promised<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB request failed"));
  });
}

export class IndexedDbStateStore implements StateStore {
  private db: Promise<IDBDatabase> | null = null;

  /** `key` names the device (e.g. server URL and user), so that several can share a browser. */
  constructor(
    private readonly key: string,
    private readonly factory: IDBFactory = globalThis.indexedDB,
  ) {
    if (!factory) throw new Error("IndexedDbStateStore: this runtime has no IndexedDB");
  }

  async load(): Promise<ClientState | null> {
    const tx = (await this.open()).transaction(STORE, "readonly");
    const value: unknown = await promised(tx.objectStore(STORE).get(this.key));
    return value === undefined ? null : checkState(value, `IndexedDB ${DB}/${STORE}/${this.key}`);
  }

  async save(state: ClientState): Promise<void> {
    const tx = (await this.open()).transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(state, this.key);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  }

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = this.factory.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error(`IndexedDB: cannot open ${DB}`));
    });
    return this.db;
  }
}
