// Op-table entries for assembly/vector.ts.
import { defineOp, type OpDef } from "./registry.js";

const N_RANGE: [number, number] = [0, 300];
const N_EDGE = [0, 1, 3, 4, 5, 7, 8, 9, 1025].map((n) => ({ n }));
// A client update and an aggregated model at the paper's size are ~10⁵ floats.
const N_BENCH = [{ n: 4096 }, { n: 131072 }];
const tight = () => ({ abs: 1e-6, rel: 1e-5 });

export const vectorOps: OpDef[] = [
  defineOp<{ n: number }>({
    name: "axpy",
    family: "vector",
    dims: { n: N_RANGE },
    edge: N_EDGE,
    bench: N_BENCH,
    tensors: [
      { name: "y", role: "inout", size: (d) => d.n },
      { name: "x", role: "in", size: (d) => d.n },
    ],
    forward: (be, d, p) => be.axpy(p.y!, p.x!, d.n, 0.75),
    tol: tight,
    flops: (d) => 2 * d.n,
  }),
  defineOp<{ n: number }>({
    name: "scale",
    family: "vector",
    dims: { n: N_RANGE },
    edge: N_EDGE,
    bench: N_BENCH,
    tensors: [{ name: "x", role: "inout", size: (d) => d.n }],
    forward: (be, d, p) => be.scale(p.x!, d.n, -1.5),
    tol: tight,
    flops: (d) => d.n,
  }),
  defineOp<{ n: number; count: number }>({
    name: "weighted_sum",
    family: "vector",
    dims: { n: N_RANGE, count: [0, 6] },
    edge: [{ n: 0, count: 3 }, { n: 5, count: 0 }, { n: 1, count: 1 }, { n: 2051, count: 3 }],
    bench: [{ n: 131072, count: 32 }],
    tensors: [
      { name: "out", role: "out", size: (d) => d.n },
      // the buffers being summed: one region holding `count` buffers back to back
      { name: "xs", role: "in", size: (d) => d.n * d.count },
      { name: "weights", role: "in", size: (d) => d.count, init: (rng, n) => Array.from({ length: n }, () => rng.next()) },
      { name: "list", role: "in", type: "i32", size: (d) => d.count, init: () => [] },
    ],
    forward: (be, d, p) => {
      // the offsets are only known once placed, so the list is written here
      for (let k = 0; k < d.count; k++) be.i[p.list! + k] = p.xs! + k * d.n;
      be.weightedSum(p.out!, p.list!, p.weights!, d.count, d.n);
    },
    tol: (d) => ({ abs: 1e-6 * (d.count + 1), rel: 1e-5 }),
    flops: (d) => 2 * d.n * d.count,
  }),
  defineOp<{ n: number }>({
    name: "l2_norm",
    family: "vector",
    dims: { n: N_RANGE },
    edge: N_EDGE,
    bench: N_BENCH,
    tensors: [{ name: "x", role: "in", size: (d) => d.n }],
    forward: (be, d, p) => be.l2Norm(p.x!, d.n),
    tol: () => ({ abs: 1e-6, rel: 1e-9 }),
    flops: (d) => 2 * d.n,
  }),
  defineOp<{ n: number; limit: number }>({
    name: "clip_by_norm",
    family: "vector",
    dims: { n: N_RANGE, limit: [0, 20] },
    edge: [{ n: 0, limit: 1 }, { n: 1, limit: 0 }, { n: 7, limit: 100 }, { n: 9, limit: 1 }],
    bench: [{ n: 131072, limit: 1 }],
    tensors: [{ name: "x", role: "inout", size: (d) => d.n }],
    forward: (be, d, p) => be.clipByNorm(p.x!, d.n, d.limit),
    tol: () => ({ abs: 1e-6, rel: 1e-6 }),
    flops: (d) => 3 * d.n,
  }),
  defineOp<{ n: number; at: number; kind: number }>({
    name: "non_finite_index",
    family: "vector",
    // `at` places one non-finite value (kind: 0 none, 1 NaN, 2 +Inf, 3 −Inf) at that index mod n
    dims: { n: N_RANGE, at: [0, 299], kind: [0, 3] },
    edge: [{ n: 0, at: 0, kind: 1 }, { n: 1, at: 0, kind: 1 }, { n: 5, at: 4, kind: 2 }, { n: 8, at: 7, kind: 3 }, { n: 9, at: 0, kind: 0 }],
    bench: [{ n: 131072, at: 0, kind: 0 }],
    tensors: [
      {
        name: "x",
        role: "in",
        size: (d) => d.n,
        init: (rng, n, d) => {
          const x = Array.from({ length: n }, () => rng.normal() * 1e30);
          if (n > 0 && d.kind > 0) x[d.at % n] = [NaN, Infinity, -Infinity][d.kind - 1]!;
          return x;
        },
      },
    ],
    forward: (be, d, p) => be.nonFiniteIndex(p.x!, d.n),
    tol: () => ({ abs: 0, rel: 0 }),
    flops: (d) => d.n,
  }),
];
