// One partition's payload bytes (layouts in payload-layout.ts). The lossy encodings run the
// compression kernels (kernels.ts: top-k selection, blockwise int8) on a backend, so a client's
// update is compressed with exactly the maths the kernels are tested for; with a residual (error
// feedback) what the receiver will not see is kept for the next round.
import type { Backend } from "../../kernels/backend.js";
import { int8Elements, int8ScaleCount } from "../../kernels/kernels.js";
import { RefBackend } from "../../kernels/ref-backend.js";
import { WireError } from "./error.js";
import { DEFAULT_BLOCK, FLOAT_ENCODINGS, type CodecOptions, type WirePartition } from "./types.js";

/** Above this the int8 kernel's 127·scale can round to ±Inf (kernels.ts quantizeInt8). */
const QUANTISABLE = 1e38;

let fallback: RefBackend | undefined;
function backendOf(opts: CodecOptions): Backend {
  return opts.backend ?? (fallback ??= new RefBackend("f32"));
}

/** Entries top-k keeps of n for the option k (a fraction in (0, 1) or a count). */
function keptCount(k: number | undefined, n: number, name: string): number {
  if (k === undefined || !(k > 0 && Number.isFinite(k)) || (k >= 1 && !Number.isInteger(k))) {
    throw new RangeError(`wire: partition '${name}': top-k needs k, a fraction in (0, 1) or an integer count >= 1, got ${k}`);
  }
  return Math.min(n, k < 1 ? Math.ceil(k * n) : k);
}

function blockOf(opts: CodecOptions, name: string): number {
  const block = opts.block ?? DEFAULT_BLOCK;
  if (!(Number.isInteger(block) && block >= 1 && block <= 0xffffffff)) throw new RangeError(`wire: partition '${name}': int8 block must be an integer >= 1, got ${block}`);
  return block;
}

/** Checks that the values fit the encoding's array type and the declared length. */
function checkShape(p: WirePartition): void {
  const want = FLOAT_ENCODINGS.has(p.encoding) ? Float32Array : p.encoding === "i32" ? Int32Array : Uint32Array;
  if (!(p.values instanceof want)) throw new WireError("bad-partition", `partition '${p.name}': ${p.encoding} values must be a ${want.name}`);
  if (p.length !== p.values.length) throw new WireError("bad-partition", `partition '${p.name}': length ${p.length} but ${p.values.length} values`);
  if (p.length > 0xffffffff) throw new WireError("too-large", `partition '${p.name}': ${p.length} values do not fit a u32 length`);
}

/**
 * u = values + residual (f32), checked finite. The residual is what earlier rounds' compression
 * dropped; without one, u is the values themselves.
 */
function withResidual(p: WirePartition, residual: Float32Array | null, limit: number): Float32Array {
  const x = p.values as Float32Array;
  const u = residual ? new Float32Array(x.length) : x;
  for (let i = 0; i < x.length; i++) {
    if (residual) u[i] = x[i]! + residual[i]!;
    if (!Number.isFinite(u[i]!) || Math.abs(u[i]!) > limit) {
      const what = Number.isFinite(u[i]!) ? `beyond ±${limit}, which int8 cannot quantise` : "not finite";
      throw new WireError("non-finite", `partition '${p.name}': value ${i} is ${u[i]} (${what})${residual ? " after adding the error-feedback residual" : ""}`);
    }
  }
  return u;
}

export function encodePayload(p: WirePartition, opts: CodecOptions, residual: Float32Array | null): Uint8Array {
  checkShape(p);
  switch (p.encoding) {
    case "i32":
    case "u32":
      return rawBytes(p.values);
    case "f32": {
      const u = withResidual(p, residual, Infinity);
      residual?.fill(0);
      return rawBytes(u);
    }
    case "int8":
      return int8Payload(backendOf(opts), withResidual(p, residual, QUANTISABLE), blockOf(opts, p.name), residual);
    case "topk":
    case "topk-int8": {
      const u = withResidual(p, residual, p.encoding === "topk" ? Infinity : QUANTISABLE);
      const block = p.encoding === "topk-int8" ? blockOf(opts, p.name) : 0;
      return topkPayload(backendOf(opts), u, keptCount(opts.k, u.length, p.name), block, residual);
    }
  }
}

function rawBytes(v: Float32Array | Int32Array | Uint32Array): Uint8Array {
  const out = new Uint8Array(4 * v.length);
  const dv = new DataView(out.buffer);
  if (v instanceof Float32Array) for (let i = 0; i < v.length; i++) dv.setFloat32(4 * i, v[i]!, true);
  else for (let i = 0; i < v.length; i++) dv.setUint32(4 * i, v[i]! >>> 0, true);
  return out;
}

/**
 * Quantises be.f[val, val + n) into `into` at byte `at` as [scales f32 × ⌈n/block⌉ | q i8 × n]
 * and returns the dequantised values (what the receiver will decode).
 */
function quantiseInto(be: Backend, val: number, n: number, block: number, into: DataView, at: number): Float32Array {
  const nb = int8ScaleCount(n, block);
  const q = be.alloc(int8Elements(n));
  const scales = be.alloc(nb);
  const back = be.alloc(n);
  be.quantizeInt8(val, n, block, q, scales);
  be.dequantizeInt8(q, scales, n, block, back);
  const f = be.f;
  for (let b = 0; b < nb; b++) into.setFloat32(at + 4 * b, f[scales + b]!, true);
  new Uint8Array(into.buffer, into.byteOffset + at + 4 * nb, n).set(new Uint8Array(be.i8.buffer, be.i8.byteOffset + 4 * q, n));
  const out = Float32Array.from(f.subarray(back, back + n));
  for (const off of [q, scales, back]) be.free(off);
  return out;
}

/** [block u32 | scales f32 × ⌈n/block⌉ | q i8 × n]; residual = u − dequantised. */
function int8Payload(be: Backend, u: Float32Array, block: number, residual: Float32Array | null): Uint8Array {
  const n = u.length;
  const out = new Uint8Array(4 + 4 * int8ScaleCount(n, block) + n);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, block, true);
  const x = be.alloc(n);
  be.f.set(u, x);
  const back = quantiseInto(be, x, n, block, dv, 4);
  be.free(x);
  if (residual) for (let i = 0; i < n; i++) residual[i] = u[i]! - back[i]!;
  return out;
}

/**
 * topk: [count u32 | indices u32 × count | values f32 × count];
 * topk-int8 (block > 0): [count u32 | block u32 | indices u32 × count | int8 of the values].
 * The residual becomes u without the kept entries, plus the kept entries' quantisation error.
 */
function topkPayload(be: Backend, u: Float32Array, k: number, block: number, residual: Float32Array | null): Uint8Array {
  const n = u.length;
  const x = be.alloc(n);
  const rest = be.alloc(n); // zeros: u already holds the caller's residual
  const idx = be.alloc(k);
  const val = be.alloc(k);
  be.f.set(u, x);
  const count = be.topkSelect(x, rest, n, k, idx, val);
  const head = block > 0 ? 8 : 4;
  const body = block > 0 ? 4 * int8ScaleCount(count, block) + count : 4 * count;
  const out = new Uint8Array(head + 4 * count + body);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, count, true);
  if (block > 0) dv.setUint32(4, block, true);
  const indices = be.i.slice(idx, idx + count);
  for (let j = 0; j < count; j++) dv.setUint32(head + 4 * j, indices[j]!, true);
  const at = head + 4 * count;
  let sent: Float32Array;
  if (block > 0) sent = quantiseInto(be, val, count, block, dv, at);
  else {
    sent = Float32Array.from(be.f.subarray(val, val + count));
    for (let j = 0; j < count; j++) dv.setFloat32(at + 4 * j, sent[j]!, true);
  }
  if (residual) {
    residual.set(be.f.subarray(rest, rest + n));
    for (let j = 0; j < count; j++) residual[indices[j]!] = u[indices[j]!]! - sent[j]!;
  }
  for (const off of [x, rest, idx, val]) be.free(off);
  return out;
}
