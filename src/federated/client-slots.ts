// What each client keeps on its device from round to round, for every client of an in-process run:
// its private values, its private optimiser's state, its error-feedback residuals; one fixed-size
// slot per client. At KuaiSAR-R scale these outgrow the memory target (local training keeps every
// client's whole model: 80,000 values × 1,791 clients = 548 MiB), so the slots live in a temporary
// file that a runner reads and writes one slot at a time with positional I/O. The file's pages are
// the kernel's page cache, which it writes back and drops under pressure, not the process's
// resident memory. The file is unlinked as soon as it is open, so it goes with the process however
// that ends; worker threads share the process's descriptors, so they use the same one.
import { randomUUID } from "node:crypto";
import { closeSync, ftruncateSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesOf, readExact, writeExact } from "../util/file-io.js";
import { copySource, dtypeOf, isArraySource, type ArraySource, type CheckpointEntry } from "./checkpoint.js";

/** Everything a worker needs to use the slots (it crosses to worker threads by structured clone). */
export interface SlotFile {
  fd: number;
  /** The folder the file was made in (for messages: a full disk there stops the run). */
  dir: string;
  /** f32 values per slot. */
  size: number;
  /** Slots (clients). */
  count: number;
}

export class ClientSlots {
  private constructor(readonly file: SlotFile) {}

  /** `count` slots of `size` zeros, in a new file in `dir` (default: the OS's temporary folder, $TMPDIR). */
  static create(size: number, count: number, dir = tmpdir()): ClientSlots {
    if (!(Number.isSafeInteger(size) && size >= 0 && Number.isSafeInteger(count) && count >= 0)) throw new RangeError(`ClientSlots: ${count} slots of ${size} values`);
    const path = join(dir, `fedfacet-slots-${process.pid}-${randomUUID()}`);
    let fd: number;
    try {
      // exclusive: never an existing file (or a link planted in a shared temporary folder)
      fd = openSync(path, "wx+", 0o600);
    } catch (e) {
      throw new Error(`cannot create the clients' state file in ${dir}: ${(e as Error).message}`);
    }
    try {
      rmSync(path);
      // a sparse file: slots read as zeros until written
      ftruncateSync(fd, 4 * size * count);
    } catch (e) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw new Error(`cannot create the clients' state file in ${dir}: ${(e as Error).message}`);
    }
    return new ClientSlots({ fd, dir, size, count });
  }

  /** The slots another thread created (not to be closed here). */
  static attach(file: SlotFile): ClientSlots {
    return new ClientSlots(file);
  }

  get size(): number {
    return this.file.size;
  }

  get count(): number {
    return this.file.count;
  }

  /** dst[at, at + size) = client c's slot. */
  read(c: number, dst: Float32Array, at = 0): void {
    const bytes = this.bytes(c, dst, at);
    const position = this.position(c);
    this.io("read", c, () => readExact(this.file.fd, bytes, position));
  }

  /** Client c's slot = src[at, at + size). */
  write(c: number, src: Float32Array, at = 0): void {
    const bytes = this.bytes(c, src, at);
    const position = this.position(c);
    // the file is sparse: a full disk shows here, not when it was made
    this.io("write", c, () => writeExact(this.file.fd, bytes, position));
  }

  /** Every slot, one after the other (clients × size values), for a checkpoint. */
  source(): ArraySource {
    const total = 4 * this.size * this.count;
    return {
      dtype: "f32",
      length: this.size * this.count,
      read: (dst, at) => {
        if (!(Number.isSafeInteger(at) && at >= 0 && at + dst.length <= total)) throw new RangeError(`ClientSlots: bytes ${at}..${at + dst.length} are outside the slots (${total} bytes)`);
        readExact(this.file.fd, dst, at);
      },
    };
  }

  /** Whether a checkpoint's array fits the slots (f32, clients × size values). */
  fits(e: CheckpointEntry | undefined): e is CheckpointEntry {
    return e !== undefined && dtypeOf(e) === "f32" && e.length === this.size * this.count;
  }

  /** Every slot from a checkpoint's array (check `fits` first). */
  restore(e: CheckpointEntry): void {
    if (!this.fits(e)) throw new RangeError(`ClientSlots: ${(e as CheckpointEntry).length} ${dtypeOf(e)} values for ${this.count} slots of ${this.size} f32`);
    if (isArraySource(e)) copySource(e, (piece, at) => writeExact(this.file.fd, piece, at));
    else writeExact(this.file.fd, bytesOf(e), 0);
  }

  /** Closes the file, which the system then deletes (the creator's call, once no thread uses it). */
  close(): void {
    closeSync(this.file.fd);
  }

  private io(what: string, c: number, run: () => void): void {
    try {
      run();
    } catch (e) {
      throw new Error(`cannot ${what} client ${c}'s slot in the clients' state file (in ${this.file.dir}): ${(e as Error).message}`);
    }
  }

  private position(c: number): number {
    if (!(Number.isInteger(c) && c >= 0 && c < this.count)) throw new RangeError(`ClientSlots: no client ${c} (${this.count} slots)`);
    return 4 * c * this.size;
  }

  private bytes(c: number, a: Float32Array, at: number): Uint8Array {
    if (!(Number.isInteger(at) && at >= 0 && at + this.size <= a.length)) throw new RangeError(`ClientSlots: client ${c}'s ${this.size} values do not fit at ${at} of an array of ${a.length}`);
    return bytesOf(a, at, this.size);
  }
}
