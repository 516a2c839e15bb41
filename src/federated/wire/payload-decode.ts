// One partition's payload back to dense values. Every length is checked against the payload's
// actual byte count before anything is allocated, and every float is checked finite, so a hostile
// frame gets a WireError, never a huge allocation, a RangeError or a NaN in the model.
import { WireError } from "./error.js";
import type { Encoding } from "./types.js";

/** Where a partition's payload sits in the frame, and what the table claims about it. */
export interface PayloadRef {
  name: string;
  encoding: Encoding;
  /** Dense length (elements) from the partition table. */
  length: number;
  /** Byte offset of the payload in the frame, and its byte length from the table. */
  at: number;
  bytes: number;
}

const bad = (p: PayloadRef, why: string) => new WireError("bad-partition", `partition '${p.name}' (${p.encoding}, payload at byte ${p.at}): ${why}`);

function finite(p: PayloadRef, v: number, what: string): number {
  if (!Number.isFinite(v)) throw new WireError("non-finite", `partition '${p.name}': ${what} is ${v}`);
  return v;
}

function expectBytes(p: PayloadRef, want: number): void {
  if (p.bytes !== want) throw bad(p, `payload is ${p.bytes} bytes, expected ${want}`);
}

export function decodePayload(dv: DataView, p: PayloadRef): Float32Array | Int32Array | Uint32Array {
  const { at, length: n } = p;
  switch (p.encoding) {
    case "f32": {
      expectBytes(p, 4 * n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = finite(p, dv.getFloat32(at + 4 * i, true), `value ${i}`);
      return out;
    }
    case "i32": {
      expectBytes(p, 4 * n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(at + 4 * i, true);
      return out;
    }
    case "u32": {
      expectBytes(p, 4 * n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getUint32(at + 4 * i, true);
      return out;
    }
    case "int8": {
      if (p.bytes < 4) throw bad(p, `payload of ${p.bytes} bytes has no block size`);
      const block = readBlock(dv, p, at);
      const out = new Float32Array(expectInt8(p, n, block, 4));
      dequantise(dv, p, at + 4, n, block, null, out);
      return out;
    }
    case "topk":
    case "topk-int8": {
      const quantised = p.encoding === "topk-int8";
      const head = quantised ? 8 : 4;
      if (p.bytes < head) throw bad(p, `payload of ${p.bytes} bytes has no ${quantised ? "count and block size" : "count"}`);
      const count = dv.getUint32(at, true);
      if (count > n) throw bad(p, `keeps ${count} entries of ${n}`);
      const block = quantised ? readBlock(dv, p, at + 4) : 0;
      // count ≤ n and n was bounded by the caller; the exact byte count is checked before reading
      if (quantised) expectInt8(p, count, block, head + 4 * count);
      else expectBytes(p, head + 8 * count);
      const indices = new Uint32Array(count);
      for (let j = 0; j < count; j++) {
        const i = dv.getUint32(at + head + 4 * j, true);
        if (i >= n || (j > 0 && i <= indices[j - 1]!)) throw bad(p, `index ${j} is ${i}: indices must ascend strictly below ${n}`);
        indices[j] = i;
      }
      const out = new Float32Array(n);
      const vals = at + head + 4 * count;
      if (quantised) dequantise(dv, p, vals, count, block, indices, out);
      else for (let j = 0; j < count; j++) out[indices[j]!] = finite(p, dv.getFloat32(vals + 4 * j, true), `value ${j}`);
      return out;
    }
  }
}

function readBlock(dv: DataView, p: PayloadRef, at: number): number {
  const block = dv.getUint32(at, true);
  if (block < 1) throw bad(p, "int8 block size is 0");
  return block;
}

/** Checks the byte count of an int8 run of m values after `head` bytes; returns the dense length. */
function expectInt8(p: PayloadRef, m: number, block: number, head: number): number {
  expectBytes(p, head + 4 * Math.ceil(m / block) + m);
  return p.length;
}

/**
 * [scales f32 × ⌈m/block⌉ | q i8 × m] at byte `at`: out[to(j)] = q[j]·scale[⌊j/block⌋], with
 * to(j) = indices[j] or j. The product of an int8 and an f32, rounded once to f32, is exactly what
 * the dequantizeInt8 kernel computes, so the sender's error feedback sees the same values.
 */
function dequantise(dv: DataView, p: PayloadRef, at: number, m: number, block: number, indices: Uint32Array | null, out: Float32Array): void {
  const nb = Math.ceil(m / block);
  const q = at + 4 * nb;
  for (let b = 0; b < nb; b++) {
    const scale = finite(p, dv.getFloat32(at + 4 * b, true), `scale of block ${b}`);
    if (scale < 0) throw bad(p, `scale of block ${b} is negative (${scale})`);
    const end = Math.min(m, (b + 1) * block);
    for (let j = b * block; j < end; j++) {
      // a scale near the largest float can overflow f32 (the encoder never sends one)
      out[indices ? indices[j]! : j] = finite(p, Math.fround(dv.getInt8(q + j) * scale), `value ${j} (q·scale of block ${b})`);
    }
  }
}
