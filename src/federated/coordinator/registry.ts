// The registered clients: an id each, and the SHA-256 of the bearer token handed out at
// registration (the token itself is never kept, so the state folder cannot be used to act as a
// client). Saved atomically before a registration is answered, so that a restarted coordinator
// still knows clients that joined after its last round checkpoint. The file is written off the
// event loop and registrations that arrive while one write runs share the next one (group
// commit): a burst of a thousand costs a few writes, not a thousand flushes in a row.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomicAsync } from "../../util/atomic-write.js";
import { ApiError } from "./errors.js";

export const CLIENTS_FILE = "clients.json";

interface SavedRegistry {
  format: 1;
  clients: { id: number; tokenSha256: string }[];
}

interface Pending {
  id: number;
  hash: Buffer;
  done: (e: unknown) => void;
}

export class ClientRegistry {
  /** Token hash by client id, of registrations on disk; ids count up from 1 in registration order. */
  private readonly hashes = new Map<number, Buffer>();
  private sortedIds: number[] = [];
  /** Registrations waiting for the next write, and whether a write is running. */
  private pending: Pending[] = [];
  private writing = false;
  /** Registrations not yet written (pending or in the running write): they count towards the limit. */
  private unwritten = 0;
  private lastId = 0;

  constructor(
    private readonly path: string,
    private readonly maxClients: number,
  ) {
    if (!(Number.isInteger(maxClients) && maxClients >= 1)) throw new RangeError(`maxClients must be a positive integer, got ${maxClients}`);
    if (existsSync(path)) this.load();
    this.lastId = this.sortedIds[this.sortedIds.length - 1] ?? 0;
  }

  /** Registered clients (on disk). */
  get size(): number {
    return this.hashes.size;
  }

  /** Registered ids, ascending. */
  ids(): readonly number[] {
    return this.sortedIds;
  }

  /**
   * A new client: its id and its token (hex), which only the client ever holds. Resolves once the
   * registry file holds it; a failed write refuses it (its id is not reused).
   */
  register(): Promise<{ id: number; token: string }> {
    if (this.hashes.size + this.unwritten >= this.maxClients) return Promise.reject(new ApiError(503, "full", `the coordinator takes at most ${this.maxClients} clients`));
    const id = ++this.lastId;
    const token = randomBytes(32).toString("hex");
    this.unwritten++;
    return new Promise((resolve, reject) => {
      this.pending.push({ id, hash: sha256(token), done: (e) => (e ? reject(e) : resolve({ id, token })) });
      void this.flush();
    });
  }

  /** Throws 401 unless `token` is the one client `id` was given. */
  authenticate(id: number, token: string): void {
    const want = this.hashes.get(id);
    if (!want) throw new ApiError(401, "unknown-client", `no client ${id} is registered here`);
    if (!timingSafeEqual(sha256(token), want)) throw new ApiError(401, "bad-token", `the token is not client ${id}'s`);
  }

  /** Writes every pending registration in one file write, then any that arrived meanwhile. */
  private async flush(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const settle = () => (this.unwritten -= batch.length);
      const clients = [...this.sortedIds.map((id) => ({ id, hash: this.hashes.get(id)! })), ...batch];
      const doc: SavedRegistry = { format: 1, clients: clients.map((c) => ({ id: c.id, tokenSha256: c.hash.toString("hex") })) };
      try {
        await writeFileAtomicAsync(this.path, JSON.stringify(doc));
      } catch (e) {
        // a client the state folder does not know would be lost on a restart: refuse it now instead
        settle();
        for (const p of batch) p.done(e);
        continue;
      }
      settle();
      for (const p of batch) {
        this.hashes.set(p.id, p.hash);
        this.sortedIds.push(p.id);
        p.done(null);
      }
    }
    this.writing = false;
  }

  private load(): void {
    const bad = (why: string) => new Error(`${this.path}: not a client registry (${why})`);
    let doc: SavedRegistry;
    try {
      doc = JSON.parse(readFileSync(this.path, "utf8")) as SavedRegistry;
    } catch (e) {
      throw bad(e instanceof Error ? e.message : String(e));
    }
    if (doc?.format !== 1 || !Array.isArray(doc.clients)) throw bad("unknown format");
    for (const c of doc.clients) {
      if (!(Number.isInteger(c?.id) && c.id >= 1) || typeof c.tokenSha256 !== "string" || !/^[0-9a-f]{64}$/.test(c.tokenSha256) || this.hashes.has(c.id)) {
        throw bad(`bad entry ${JSON.stringify(c)}`);
      }
      this.hashes.set(c.id, Buffer.from(c.tokenSha256, "hex"));
    }
    this.sortedIds = [...this.hashes.keys()].sort((a, b) => a - b);
  }
}

function sha256(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}
