// Op-table entries for assembly/gemm.ts.
import type { Flag } from "../kernels.js";
import { defineOp, type OpDef } from "./registry.js";

type G = { M: number; N: number; K: number; acc: number };
const dims = { M: [0, 70] as [number, number], N: [0, 70] as [number, number], K: [0, 70] as [number, number], acc: [0, 1] as [number, number] };
// Besides sizes 0 and 1: M tails 1-4 past the 5-row tile, N tails 1-7 past the 8-column strip
// (1-4 take the narrow kernel; in A·Bᵀ 1-3 are dot products), K past one or more K-blocks (96),
// N past the packed panel (64) and up to its widest (71: a tail under 8 joins the panel).
const edge: G[] = [
  { M: 1, N: 1, K: 1, acc: 0 }, { M: 0, N: 4, K: 4, acc: 0 }, { M: 4, N: 0, K: 3, acc: 1 }, { M: 3, N: 5, K: 0, acc: 1 },
  { M: 6, N: 9, K: 0, acc: 0 }, { M: 5, N: 9, K: 7, acc: 1 }, { M: 65, N: 48, K: 48, acc: 0 }, { M: 67, N: 51, K: 49, acc: 1 },
  { M: 2, N: 130, K: 3, acc: 0 }, { M: 6, N: 12, K: 5, acc: 1 }, { M: 9, N: 4, K: 2, acc: 0 }, { M: 8, N: 3, K: 9, acc: 1 },
  { M: 7, N: 15, K: 1, acc: 0 }, { M: 11, N: 70, K: 131, acc: 1 }, { M: 64, N: 64, K: 300, acc: 0 }, { M: 13, N: 67, K: 257, acc: 0 },
  { M: 6, N: 70, K: 192, acc: 1 }, { M: 6, N: 71, K: 100, acc: 1 }, { M: 65, N: 65, K: 64, acc: 1 }, { M: 4, N: 2, K: 1, acc: 0 },
];
// The model's shapes (d = 48 or 64, T = 65 or 128, batch B = 1 or 32, one attention head):
// projections and FFN layers map rows = B·T of width d to width d.
const models: { d: number; T: number; B: number }[] = [];
for (const d of [48, 64]) for (const T of [65, 128]) for (const B of [1, 32]) models.push({ d, T, B });
const perHead = models.filter((m) => m.B === 1);
// Accumulated f32 dot products of length K against f64-accumulated references: the error grows
// with K. Measured worst |err| (both builds, standard-normal inputs): 2.2e-6·√(K+1) for K ≤ 300,
// 5.7e-6·√(K+1) at K = 2080, so this bound keeps a margin of ~7× over the K the tests reach.
const tol = (d: G) => ({ abs: 1e-5 * Math.sqrt(d.K + 1) * 4, rel: 1e-5 * Math.sqrt(d.K + 1) });
const flops = (d: G) => 2 * d.M * d.N * d.K;

/** The three layouts share shapes, tensor sizes (A holds M·K floats, B K·N), tolerance and work. */
function gemmOp(name: string, method: "gemmAB" | "gemmABt" | "gemmAtB", bench: G[]): OpDef {
  return defineOp<G>({
    name,
    family: "gemm",
    dims,
    edge,
    bench,
    tensors: [
      { name: "a", role: "in", size: (d) => d.M * d.K },
      { name: "b", role: "in", size: (d) => d.K * d.N },
      { name: "c", role: "inout", size: (d) => d.M * d.N },
    ],
    forward: (be, d, p) => be[method](p.a!, p.b!, p.c!, d.M, d.N, d.K, d.acc as Flag),
    tol,
    flops,
  });
}

export const gemmOps: OpDef[] = [
  // projections X·W; attention P·V and dS·K (M = T, N = d, K = T)
  gemmOp("gemm_ab", "gemmAB", [
    ...models.map(({ d, T, B }) => ({ M: B * T, N: d, K: d, acc: 0 })),
    ...perHead.map(({ d, T }) => ({ M: T, N: d, K: T, acc: 0 })),
  ]),
  // input gradients dY·Wᵀ; attention scores Q·Kᵀ and dP = dCtx·Vᵀ (M = N = T, K = d)
  gemmOp("gemm_abt", "gemmABt", [
    ...models.map(({ d, T, B }) => ({ M: B * T, N: d, K: d, acc: 0 })),
    ...perHead.map(({ d, T }) => ({ M: T, N: T, K: d, acc: 0 })),
  ]),
  // weight gradients dW[d×d] += Xᵀ·dY with K = B·T rows; attention Pᵀ·dCtx and dSᵀ·Q (M = T, N = d, K = T)
  gemmOp("gemm_atb", "gemmAtB", [
    ...models.map(({ d, T, B }) => ({ M: d, N: d, K: B * T, acc: 1 })),
    ...perHead.map(({ d, T }) => ({ M: T, N: d, K: T, acc: 1 })),
  ]),
];
