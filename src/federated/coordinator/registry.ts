// The registered clients: an id each, and the SHA-256 of the bearer token handed out at
// registration (the token itself is never kept, so the state folder cannot be used to act as a
// client). Saved atomically on every registration, so that a restarted coordinator still knows
// clients that joined after its last round checkpoint.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../../util/atomic-write.js";
import { ApiError } from "./errors.js";

export const CLIENTS_FILE = "clients.json";

interface SavedRegistry {
  format: 1;
  clients: { id: number; tokenSha256: string }[];
}

export class ClientRegistry {
  /** Token hash by client id; ids count up from 1 in registration order. */
  private readonly hashes = new Map<number, Buffer>();
  private sortedIds: number[] = [];

  constructor(
    private readonly path: string,
    private readonly maxClients: number,
  ) {
    if (!(Number.isInteger(maxClients) && maxClients >= 1)) throw new RangeError(`maxClients must be a positive integer, got ${maxClients}`);
    if (existsSync(path)) this.load();
  }

  get size(): number {
    return this.hashes.size;
  }

  /** Registered ids, ascending. */
  ids(): readonly number[] {
    return this.sortedIds;
  }

  /** A new client: its id and its token (hex), which only the client ever holds. */
  register(): { id: number; token: string } {
    if (this.hashes.size >= this.maxClients) throw new ApiError(503, "full", `the coordinator takes at most ${this.maxClients} clients`);
    const id = (this.sortedIds[this.sortedIds.length - 1] ?? 0) + 1;
    const token = randomBytes(32).toString("hex");
    this.hashes.set(id, sha256(token));
    this.sortedIds.push(id);
    try {
      this.save();
    } catch (e) {
      // a client the state folder does not know would be lost on a restart: refuse it now instead
      this.hashes.delete(id);
      this.sortedIds.pop();
      throw e;
    }
    return { id, token };
  }

  /** Throws 401 unless `token` is the one client `id` was given. */
  authenticate(id: number, token: string): void {
    const want = this.hashes.get(id);
    if (!want) throw new ApiError(401, "unknown-client", `no client ${id} is registered here`);
    if (!timingSafeEqual(sha256(token), want)) throw new ApiError(401, "bad-token", `the token is not client ${id}'s`);
  }

  private save(): void {
    const doc: SavedRegistry = { format: 1, clients: this.sortedIds.map((id) => ({ id, tokenSha256: this.hashes.get(id)!.toString("hex") })) };
    writeFileAtomic(this.path, JSON.stringify(doc));
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
