// One checkpoint file holds everything a run needs to continue exactly as if it had not stopped:
// a JSON header (configuration, round, history, small state) and named binary arrays (global
// values, every client's private values, ...). Layout: the 8 bytes "FFCKPT01", the header's byte
// length (u32 little-endian), the header, then each array at the 8-byte-aligned offset the header
// gives. Written atomically (temporary file, fsync, rename), so a crash leaves the previous one.
// Arrays too large to hold in memory (every client's values: hundreds of MiB at KuaiSAR-R scale)
// are written from, and can be read back as, an ArraySource: a few MiB at a time.
import { closeSync, fstatSync, openSync, type Stats } from "node:fs";
import { writeFileAtomicWith } from "../util/atomic-write.js";
import { bytesOf, readExact, writeExact } from "../util/file-io.js";

const MAGIC = "FFCKPT01";

export type CheckpointArray = Float32Array | Float64Array | Int32Array;
export type Dtype = "f32" | "f64" | "i32";

/** An array read in pieces rather than held whole: `read(dst, at)` fills dst with its bytes from byte `at`. */
export interface ArraySource {
  readonly dtype: Dtype;
  readonly length: number;
  read(dst: Uint8Array, at: number): void;
}

export type CheckpointEntry = CheckpointArray | ArraySource;

export interface CheckpointFile<H, A extends CheckpointEntry = CheckpointArray> {
  header: H;
  arrays: Record<string, A>;
}

interface ArrayEntry {
  name: string;
  dtype: Dtype;
  /** Byte offset from the start of the file. */
  offset: number;
  length: number;
}

const CTORS = { f32: Float32Array, f64: Float64Array, i32: Int32Array } as const;

/** Bytes moved at a time when an ArraySource is copied. */
const PIECE = 4 << 20;

export function isArraySource(e: CheckpointEntry): e is ArraySource {
  return !ArrayBuffer.isView(e);
}

export function dtypeOf(e: CheckpointEntry): Dtype {
  if (isArraySource(e)) return e.dtype;
  return e instanceof Float32Array ? "f32" : e instanceof Float64Array ? "f64" : "i32";
}

const byteLength = (e: CheckpointEntry) => e.length * CTORS[dtypeOf(e)].BYTES_PER_ELEMENT;

/** Hands `sink` the source's bytes in order, a piece at a time, with each piece's byte offset. */
export function copySource(src: ArraySource, sink: (piece: Uint8Array, at: number) => void): void {
  const total = byteLength(src);
  const buf = new Uint8Array(Math.min(PIECE, total));
  for (let at = 0; at < total; at += buf.length) {
    const piece = buf.subarray(0, Math.min(buf.length, total - at));
    src.read(piece, at);
    sink(piece, at);
  }
}

/** The whole array (an ArraySource read into memory). */
export function loadArray(e: CheckpointEntry): CheckpointArray {
  if (!isArraySource(e)) return e;
  const out = new CTORS[e.dtype](e.length);
  const bytes = bytesOf(out);
  copySource(e, (piece, at) => bytes.set(piece, at));
  return out;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

export function writeCheckpoint<H>(path: string, file: CheckpointFile<H, CheckpointEntry>): void {
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
      at = align8(at + byteLength(a));
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
  writeFileAtomicWith(path, (fd) => {
    writeExact(fd, prefix, null);
    for (const e of entries) {
      const a = file.arrays[e.name]!;
      if (isArraySource(a)) copySource(a, (piece) => writeExact(fd, piece, null));
      else writeExact(fd, bytesOf(a), null);
      const pad = align8(byteLength(a)) - byteLength(a);
      if (pad > 0) writeExact(fd, new Uint8Array(pad), null);
    }
  });
}

/**
 * Reads a checkpoint. The arrays named in `lazy` stay in the file: each is an ArraySource that reads
 * from it when asked (and refuses to once the file has been replaced, by a later checkpoint say).
 */
export function readCheckpoint<H>(path: string): CheckpointFile<H>;
export function readCheckpoint<H>(path: string, lazy: readonly string[]): CheckpointFile<H, CheckpointEntry>;
export function readCheckpoint<H>(path: string, lazy: readonly string[] = []): CheckpointFile<H, CheckpointEntry> {
  const fd = openSync(path, "r");
  try {
    const stat = fstatSync(fd);
    const bad = (why: string) => new Error(`${path}: not a fedfacet checkpoint (${why})`);
    const read = (at: number, n: number) => {
      const b = new Uint8Array(n);
      readExact(fd, b, at);
      return b;
    };
    if (stat.size < 12) throw bad("bad magic");
    const start = read(0, 12);
    if (String.fromCharCode(...start.subarray(0, 8)) !== MAGIC) throw bad("bad magic");
    const len = new DataView(start.buffer).getUint32(8, true);
    if (12 + len > stat.size) throw bad("truncated header");
    let doc: { header: H; arrays: ArrayEntry[] };
    try {
      doc = JSON.parse(new TextDecoder().decode(read(12, len))) as typeof doc;
    } catch (e) {
      throw bad(`unreadable header: ${(e as Error).message}`);
    }
    const arrays: Record<string, CheckpointEntry> = {};
    for (const e of doc.arrays) {
      const Ctor = CTORS[e.dtype];
      if (!Ctor) throw bad(`array '${e.name}' has unknown type '${e.dtype}'`);
      if (!(Number.isSafeInteger(e.offset) && e.offset >= 0 && Number.isSafeInteger(e.length) && e.length >= 0)) throw bad(`array '${e.name}' has a bad offset or length`);
      const bytes = e.length * Ctor.BYTES_PER_ELEMENT;
      if (e.offset + bytes > stat.size) throw bad(`array '${e.name}' is truncated`);
      if (lazy.includes(e.name)) {
        arrays[e.name] = fileSource(path, stat, e);
      } else {
        const out = new Ctor(e.length);
        readExact(fd, bytesOf(out), e.offset);
        arrays[e.name] = out;
      }
    }
    return { header: doc.header, arrays };
  } finally {
    closeSync(fd);
  }
}

/** An array left in the checkpoint file `path`, which must still be the file `stat` describes. */
function fileSource(path: string, stat: Stats, e: ArrayEntry): ArraySource {
  const total = e.length * CTORS[e.dtype].BYTES_PER_ELEMENT;
  return {
    dtype: e.dtype,
    length: e.length,
    read(dst, at) {
      if (!(Number.isSafeInteger(at) && at >= 0 && at + dst.length <= total)) throw new RangeError(`${path}: bytes ${at}..${at + dst.length} are outside array '${e.name}' (${total} bytes)`);
      const fd = openSync(path, "r");
      try {
        const now = fstatSync(fd);
        if (now.ino !== stat.ino || now.dev !== stat.dev || now.size !== stat.size || now.mtimeMs !== stat.mtimeMs) throw new Error(`${path}: the checkpoint was replaced after it was read; read it again`);
        readExact(fd, dst, e.offset + at);
      } finally {
        closeSync(fd);
      }
    },
  };
}
