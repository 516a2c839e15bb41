// One checkpoint file holds everything a run needs to continue exactly as if it had not stopped:
// a JSON header (configuration, round, history, small state) and named binary arrays (global
// values, every client's private values, ...). Layout: the 8 bytes "FFCKPT01", the header's byte
// length (u32 little-endian), the header, then each array at the 8-byte-aligned offset the header
// gives. Written atomically (temporary file, fsync, rename), so a crash leaves the previous one.
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic-write.js";

const MAGIC = "FFCKPT01";

export type CheckpointArray = Float32Array | Float64Array | Int32Array;

export interface CheckpointFile<H> {
  header: H;
  arrays: Record<string, CheckpointArray>;
}

interface ArrayEntry {
  name: string;
  dtype: "f32" | "f64" | "i32";
  /** Byte offset from the start of the file. */
  offset: number;
  length: number;
}

const CTORS = { f32: Float32Array, f64: Float64Array, i32: Int32Array } as const;

function dtypeOf(a: CheckpointArray): ArrayEntry["dtype"] {
  return a instanceof Float32Array ? "f32" : a instanceof Float64Array ? "f64" : "i32";
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

export function writeCheckpoint<H>(path: string, file: CheckpointFile<H>): void {
  const names = Object.keys(file.arrays);
  // the header holds the arrays' offsets, which depend on the header's own length: reserve room
  // for it, and reserve more if it did not fit
  let room = 0;
  let entries: ArrayEntry[];
  let head: Uint8Array;
  for (;;) {
    let at = align8(12 + room);
    entries = names.map((name) => {
      const a = file.arrays[name]!;
      const e: ArrayEntry = { name, dtype: dtypeOf(a), offset: at, length: a.length };
      at = align8(at + a.byteLength);
      return e;
    });
    head = new TextEncoder().encode(JSON.stringify({ header: file.header, arrays: entries }));
    if (head.length <= room) break;
    room = head.length + 64;
  }
  const prefix = new Uint8Array(align8(12 + room));
  prefix.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(prefix.buffer).setUint32(8, head.length, true);
  prefix.set(head, 12);
  const parts: ArrayBufferView[] = [prefix];
  for (const e of entries) {
    const a = file.arrays[e.name]!;
    parts.push(a);
    const pad = align8(a.byteLength) - a.byteLength;
    if (pad > 0) parts.push(new Uint8Array(pad));
  }
  writeFileAtomic(path, parts);
}

export function readCheckpoint<H>(path: string): CheckpointFile<H> {
  const buf = readFileSync(path);
  const bad = (why: string) => new Error(`${path}: not a fedfacet checkpoint (${why})`);
  if (buf.length < 12 || buf.toString("latin1", 0, 8) !== MAGIC) throw bad("bad magic");
  const len = buf.readUInt32LE(8);
  if (12 + len > buf.length) throw bad("truncated header");
  const doc = JSON.parse(buf.toString("utf8", 12, 12 + len)) as { header: H; arrays: ArrayEntry[] };
  const arrays: Record<string, CheckpointArray> = {};
  for (const e of doc.arrays) {
    const Ctor = CTORS[e.dtype];
    if (!Ctor) throw bad(`array '${e.name}' has unknown type '${e.dtype}'`);
    const bytes = e.length * Ctor.BYTES_PER_ELEMENT;
    if (e.offset + bytes > buf.length) throw bad(`array '${e.name}' is truncated`);
    // copy out: the file buffer's alignment is not guaranteed
    const out = new Ctor(e.length);
    new Uint8Array(out.buffer).set(buf.subarray(e.offset, e.offset + bytes));
    arrays[e.name] = out;
  }
  return { header: doc.header, arrays };
}
