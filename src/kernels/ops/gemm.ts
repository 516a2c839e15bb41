// Op-table entries for assembly/gemm.ts.
import { defineOp, type OpDef } from "./registry.js";

type G = { M: number; N: number; K: number; acc: number };
const dims = { M: [0, 70] as [number, number], N: [0, 70] as [number, number], K: [0, 70] as [number, number], acc: [0, 1] as [number, number] };
const edge: G[] = [
  { M: 1, N: 1, K: 1, acc: 0 }, { M: 0, N: 4, K: 4, acc: 0 }, { M: 4, N: 0, K: 3, acc: 1 }, { M: 3, N: 5, K: 0, acc: 1 },
  { M: 5, N: 9, K: 7, acc: 1 }, { M: 65, N: 48, K: 48, acc: 0 }, { M: 67, N: 51, K: 49, acc: 1 }, { M: 2, N: 130, K: 3, acc: 0 },
];
// The model's projection shapes: rows = batch·T, width d (48 or 64), and weight gradients with K = rows.
const bench: G[] = [];
for (const d of [48, 64]) for (const T of [65, 128]) for (const B of [1, 32]) bench.push({ M: B * T, N: d, K: d, acc: 0 });
// Accumulated f32 dot products of length K: error grows ~ √K·ulp; stated bound is K-scaled.
const tol = (d: G) => ({ abs: 1e-5 * Math.sqrt(d.K + 1) * 4, rel: 1e-5 * Math.sqrt(d.K + 1) });
const flops = (d: G) => 2 * d.M * d.N * d.K;

export const gemmOps: OpDef[] = [
  defineOp<G>({
    name: "gemm_ab",
    family: "gemm",
    dims,
    edge,
    bench,
    tensors: [
      { name: "a", role: "in", size: (d) => d.M * d.K },
      { name: "b", role: "in", size: (d) => d.K * d.N },
      { name: "c", role: "inout", size: (d) => d.M * d.N },
    ],
    forward: (be, d, p) => be.gemmAB(p.a!, p.b!, p.c!, d.M, d.N, d.K, d.acc as 0 | 1),
    tol,
    flops,
  }),
  defineOp<G>({
    name: "gemm_abt",
    family: "gemm",
    dims,
    edge,
    bench,
    tensors: [
      { name: "a", role: "in", size: (d) => d.M * d.K },
      { name: "b", role: "in", size: (d) => d.N * d.K },
      { name: "c", role: "inout", size: (d) => d.M * d.N },
    ],
    forward: (be, d, p) => be.gemmABt(p.a!, p.b!, p.c!, d.M, d.N, d.K, d.acc as 0 | 1),
    tol,
    flops,
  }),
  defineOp<G>({
    name: "gemm_atb",
    family: "gemm",
    dims,
    edge,
    // weight gradient shapes: dW[d×d] = Xᵀ·dY with K = batch·T rows
    bench: bench.map((s) => ({ M: s.N, N: s.N, K: s.M, acc: 1 })),
    tensors: [
      { name: "a", role: "in", size: (d) => d.K * d.M },
      { name: "b", role: "in", size: (d) => d.K * d.N },
      { name: "c", role: "inout", size: (d) => d.M * d.N },
    ],
    forward: (be, d, p) => be.gemmAtB(p.a!, p.b!, p.c!, d.M, d.N, d.K, d.acc as 0 | 1),
    tol,
    flops,
  }),
];
