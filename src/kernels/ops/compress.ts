// Op-table entries for assembly/compress.ts.
import type { Rng } from "../../util/rng.js";
import { int8ScaleCount } from "../kernels.js";
import { defineOp, type OpDef } from "./registry.js";

type N = { n: number };
// ties: 0 distinct values, 1 a few distinct magnitudes (many ties, zeros included), 2 one
// magnitude with random signs (all tied); e: decimal exponent of the values.
type K = { n: number; k: number; ties: number; e: number };
// zeros: fraction (in eighths) of blocks that are all zero; halves: values on a grid of ½ with
// each block's first value ±127, so the scale is exactly 1 and quotients hit k + ½ exactly.
type Q = { n: number; block: number; e: number; zeros: number; halves: number };
type DQ = { n: number; block: number; e: number };

const N_EDGE: N[] = [0, 1, 2, 3, 4, 5, 7, 9, 1027].map((n) => ({ n }));
// An update of one client's shared + group partitions, and of a larger model.
const N_BENCH: N[] = [{ n: 16384 }, { n: 131072 }];

const topkValues = (rng: Rng, n: number, d: K) =>
  Array.from({ length: n }, () => {
    const v = d.ties === 0 ? rng.normal() : d.ties === 1 ? (rng.int(7) - 3) / 2 : rng.next() < 0.5 ? -1 : 1;
    return v * 10 ** d.e;
  });

const blockValues = (rng: Rng, n: number, d: Q) => {
  const x = new Float64Array(n);
  for (let s = 0; s < n; s += d.block) {
    if (rng.int(8) < d.zeros) continue;
    for (let j = s; j < Math.min(s + d.block, n); j++) {
      if (!d.halves) x[j] = rng.normal() * 10 ** d.e;
      else x[j] = j === s ? (rng.next() < 0.5 ? -127 : 127) : (rng.int(509) - 254) / 2;
    }
  }
  return x;
};

// Selection, copies and quantisation are exact operations on the same f32 values: any difference
// from the reference is a bug, not rounding.
const exact = () => ({ abs: 0, rel: 0 });

export const compressOps: OpDef[] = [
  defineOp<N>({
    name: "delta",
    family: "compress",
    dims: { n: [0, 300] },
    edge: N_EDGE,
    bench: N_BENCH,
    tensors: [
      { name: "next", role: "in", size: (d) => d.n },
      { name: "prev", role: "in", size: (d) => d.n },
      { name: "out", role: "out", size: (d) => d.n },
    ],
    forward: (be, d, p) => be.delta(p.next!, p.prev!, p.out!, d.n),
    tol: exact,
    flops: (d) => d.n,
  }),
  defineOp<K>({
    name: "topk_select",
    family: "compress",
    dims: { n: [0, 600], k: [0, 700], ties: [0, 2], e: [-40, 30] },
    edge: [
      { n: 0, k: 0, ties: 0, e: 0 },
      { n: 0, k: 3, ties: 0, e: 0 },
      { n: 5, k: 0, ties: 0, e: 0 },
      { n: 1, k: 1, ties: 0, e: 0 },
      { n: 5, k: 5, ties: 0, e: 0 },
      { n: 6, k: 9, ties: 0, e: 0 },
      { n: 7, k: 3, ties: 2, e: 0 },
      { n: 9, k: 4, ties: 1, e: 0 },
      { n: 11, k: 6, ties: 0, e: 30 },
      { n: 11, k: 6, ties: 0, e: -40 },
      // k < n/32 (the kernel's sparse path), without and with ties
      { n: 1027, k: 10, ties: 0, e: 0 },
      { n: 2051, k: 37, ties: 1, e: 0 },
      { n: 1027, k: 1000, ties: 1, e: 0 },
    ],
    // 1% and 10% of an update
    bench: [
      { n: 16384, k: 164, ties: 0, e: 0 },
      { n: 131072, k: 1311, ties: 0, e: 0 },
      { n: 131072, k: 13107, ties: 0, e: 0 },
    ],
    tensors: [
      { name: "x", role: "in", size: (d) => d.n, init: topkValues },
      { name: "residual", role: "inout", size: (d) => d.n, init: topkValues },
      { name: "outIdx", role: "out", type: "i32", size: (d) => Math.max(Math.min(d.k, d.n), 0) },
      { name: "outVal", role: "out", size: (d) => Math.max(Math.min(d.k, d.n), 0) },
    ],
    forward: (be, d, p) => be.topkSelect(p.x!, p.residual!, d.n, d.k, p.outIdx!, p.outVal!),
    tol: exact,
    flops: (d) => d.n,
  }),
  defineOp<Q>({
    name: "quantize_int8",
    family: "compress",
    // e down to −44 gives subnormal values and scales, whose rounding can push |x|/scale past
    // 127.5 (q is clamped to ±127 there)
    dims: { n: [0, 600], block: [1, 70], e: [-44, 30], zeros: [0, 4], halves: [0, 1] },
    edge: [
      { n: 0, block: 4, e: 0, zeros: 0, halves: 0 },
      { n: 1, block: 1, e: 0, zeros: 0, halves: 0 },
      { n: 5, block: 3, e: 0, zeros: 0, halves: 0 },
      { n: 6, block: 4, e: 0, zeros: 0, halves: 0 },
      { n: 7, block: 64, e: 0, zeros: 0, halves: 0 },
      { n: 13, block: 5, e: 0, zeros: 4, halves: 0 },
      { n: 9, block: 3, e: 0, zeros: 8, halves: 0 },
      { n: 15, block: 7, e: 30, zeros: 0, halves: 0 },
      { n: 15, block: 7, e: -40, zeros: 0, halves: 0 },
      { n: 203, block: 8, e: -43, zeros: 0, halves: 0 },
      { n: 39, block: 13, e: 0, zeros: 0, halves: 1 },
      { n: 1027, block: 256, e: 0, zeros: 0, halves: 0 },
    ],
    bench: [{ n: 16384, block: 256, e: 0, zeros: 0, halves: 0 }, { n: 131072, block: 256, e: 0, zeros: 0, halves: 0 }],
    tensors: [
      { name: "x", role: "in", size: (d) => d.n, init: blockValues },
      { name: "q", role: "out", type: "i8", size: (d) => d.n },
      { name: "scales", role: "out", size: (d) => int8ScaleCount(d.n, d.block) },
    ],
    forward: (be, d, p) => be.quantizeInt8(p.x!, d.n, d.block, p.q!, p.scales!),
    tol: exact,
    flops: (d) => 3 * d.n,
  }),
  defineOp<DQ>({
    name: "dequantize_int8",
    family: "compress",
    dims: { n: [0, 600], block: [1, 70], e: [-40, 30] },
    edge: [
      { n: 0, block: 4, e: 0 },
      { n: 1, block: 1, e: 0 },
      { n: 5, block: 3, e: 0 },
      { n: 7, block: 64, e: 0 },
      { n: 15, block: 7, e: 30 },
      { n: 1027, block: 256, e: 0 },
    ],
    bench: [{ n: 16384, block: 256, e: 0 }, { n: 131072, block: 256, e: 0 }],
    tensors: [
      { name: "q", role: "in", type: "i8", size: (d) => d.n, init: (rng, n) => Array.from({ length: n }, () => rng.int(255) - 127) },
      { name: "scales", role: "in", size: (d) => int8ScaleCount(d.n, d.block), init: (rng, n, d) => Array.from({ length: n }, () => rng.next() * 10 ** d.e) },
      { name: "out", role: "out", size: (d) => d.n },
    ],
    forward: (be, d, p) => be.dequantizeInt8(p.q!, p.scales!, d.n, d.block, p.out!),
    tol: exact,
    flops: (d) => d.n,
  }),
];
