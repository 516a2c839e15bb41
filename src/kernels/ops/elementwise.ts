// Op-table entries for assembly/elementwise.ts.
import type { Backend } from "../backend.js";
import type { Rng } from "../../util/rng.js";
import { defineOp, type OpDef } from "./registry.js";

type N = { n: number };
type NE = { n: number; e: number };
type RC = { rows: number; cols: number };
type RCP = { rows: number; cols: number; pad: number };

const N_RANGE: [number, number] = [0, 300];
const N_EDGE: N[] = [0, 1, 2, 3, 4, 5, 6, 7, 9, 1027].map((n) => ({ n }));
// e: decimal exponent of the values, so that huge (products up to 1e36) and subnormal (products
// down to 1e-40) magnitudes are covered without overflowing f32.
const NE_DIMS = { n: N_RANGE, e: [-20, 18] as [number, number] };
const NE_EDGE: NE[] = [...N_EDGE.map(({ n }) => ({ n, e: 0 })), { n: 13, e: 18 }, { n: 13, e: -20 }];
// The model's activations: one client's 65 positions × d 48, and a pooled batch of 32 sequences.
const N_BENCH: N[] = [{ n: 65 * 48 }, { n: 32 * 65 * 48 }];
const NE_BENCH: NE[] = N_BENCH.map(({ n }) => ({ n, e: 0 }));
const RC_DIMS = { rows: [0, 40] as [number, number], cols: [0, 70] as [number, number] };
const RC_EDGE: RC[] = [
  { rows: 0, cols: 5 }, { rows: 5, cols: 0 }, { rows: 1, cols: 1 }, { rows: 3, cols: 5 }, { rows: 2, cols: 6 },
  { rows: 4, cols: 7 }, { rows: 7, cols: 17 }, { rows: 65, cols: 48 }, { rows: 3, cols: 131 },
];
const RC_BENCH: RC[] = [{ rows: 65, cols: 48 }, { rows: 32 * 65, cols: 48 }];
const RCP_EDGE: RCP[] = [...RC_EDGE.map((s) => ({ ...s, pad: 0 })), { rows: 6, cols: 9, pad: 1 }];

const scaled = (rng: Rng, n: number, d: NE) => Array.from({ length: n }, () => rng.normal() * 10 ** d.e);
// ReLU inputs stay at least 0.05 away from its kink, so central differences (h = 1e-5) see one side.
const offZero = (rng: Rng, n: number) =>
  Array.from({ length: n }, () => {
    const v = rng.normal();
    return v < 0 ? v - 0.05 : v + 0.05;
  });
// One f32 operation per element on f32 inputs gives the same rounded result as the reference's
// double computation rounded to f32, so these ops are exact.
const exact = () => ({ abs: 0, rel: 0 });

/**
 * out = a ∘ b (scaled inputs, any magnitude), and the same op writing into input `alias`, as the
 * contract allows (the residual stream adds in place).
 */
function binary(name: string, run: (be: Backend, a: number, b: number, out: number, n: number) => void, alias: "a" | "b"): OpDef[] {
  const common = { family: "elementwise", dims: NE_DIMS, edge: NE_EDGE, bench: NE_BENCH, tol: exact, flops: (d: NE) => d.n };
  const input = (t: string, role: "in" | "inout") => ({ name: t, role, size: (d: NE) => d.n, init: scaled });
  return [
    defineOp<NE>({
      ...common,
      name,
      tensors: [input("a", "in"), input("b", "in"), { name: "out", role: "out", size: (d) => d.n }],
      forward: (be, d, p) => run(be, p.a!, p.b!, p.out!, d.n),
    }),
    defineOp<NE>({
      ...common,
      name: `${name}_in_place`,
      tensors: [input("a", alias === "a" ? "inout" : "in"), input("b", alias === "b" ? "inout" : "in")],
      forward: (be, d, p) => run(be, p.a!, p.b!, p[alias]!, d.n),
    }),
  ];
}

export const elementwiseOps: OpDef[] = [
  ...binary("add", (be, a, b, out, n) => be.add(a, b, out, n), "a"),
  ...binary("mul", (be, a, b, out, n) => be.mul(a, b, out, n), "b"),
  defineOp<RCP>({
    name: "mul_row_mask",
    family: "elementwise",
    // pad = 1: every row is padding
    dims: { ...RC_DIMS, pad: [0, 1] },
    edge: RCP_EDGE,
    bench: RC_BENCH.map((s) => ({ ...s, pad: 0 })),
    tensors: [
      { name: "x", role: "inout", size: (d) => d.rows * d.cols },
      { name: "mask", role: "in", size: (d) => d.rows, init: (rng, n, d) => Array.from({ length: n }, () => (d.pad || rng.next() < 0.3 ? 0 : 1)) },
    ],
    forward: (be, d, p) => be.mulRowMask(p.x!, p.mask!, d.rows, d.cols),
    tol: exact,
    flops: (d) => d.rows * d.cols,
  }),
  defineOp<RC>({
    name: "add_row_vector",
    family: "elementwise",
    dims: RC_DIMS,
    edge: RC_EDGE,
    bench: RC_BENCH,
    tensors: [
      { name: "y", role: "inout", size: (d) => d.rows * d.cols },
      { name: "b", role: "in", size: (d) => d.cols },
    ],
    forward: (be, d, p) => be.addRowVector(p.y!, p.b!, d.rows, d.cols),
    tol: exact,
    flops: (d) => d.rows * d.cols,
    // a bias's gradient is the column sum of the output gradient
    grad: {
      wrt: ["b"],
      of: ["y"],
      backward: (be, d, p) => be.colSumAcc(p.dy!, p.db!, d.rows, d.cols),
      flops: (d) => d.rows * d.cols,
    },
  }),
  defineOp<RC>({
    name: "col_sum_acc",
    family: "elementwise",
    dims: RC_DIMS,
    edge: RC_EDGE,
    bench: RC_BENCH,
    tensors: [
      { name: "x", role: "in", size: (d) => d.rows * d.cols },
      { name: "out", role: "inout", size: (d) => d.cols },
    ],
    forward: (be, d, p) => be.colSumAcc(p.x!, p.out!, d.rows, d.cols),
    // f32 running sums over rows + 1 standard-normal terms: each add rounds by ≤ 2⁻²⁴ of a
    // partial sum of typical size √rows, so the error stays well below 1e-7·(rows + 1)
    tol: (d) => ({ abs: 1e-7 * (d.rows + 1), rel: 1e-6 }),
    flops: (d) => d.rows * d.cols,
  }),
  defineOp<N>({
    name: "relu",
    family: "elementwise",
    dims: { n: N_RANGE },
    edge: N_EDGE,
    bench: N_BENCH,
    tensors: [
      { name: "x", role: "in", size: (d) => d.n, init: offZero },
      { name: "y", role: "out", size: (d) => d.n },
    ],
    forward: (be, d, p) => be.reluForward(p.x!, p.y!, d.n),
    tol: exact,
    flops: (d) => d.n,
    grad: {
      wrt: ["x"],
      of: ["y"],
      backward: (be, d, p) => be.reluBackward(p.dy!, p.x!, p.dx!, d.n),
      flops: (d) => d.n,
    },
  }),
  defineOp<N>({
    name: "relu_in_place",
    family: "elementwise",
    dims: { n: N_RANGE },
    edge: N_EDGE,
    bench: N_BENCH,
    tensors: [{ name: "x", role: "inout", size: (d) => d.n }],
    forward: (be, d, p) => be.reluForward(p.x!, p.x!, d.n),
    tol: exact,
    flops: (d) => d.n,
  }),
  // The backward on its own, so that random shapes reach it too (x includes exact zeros: no gradient).
  defineOp<N>({
    name: "relu_backward",
    family: "elementwise",
    dims: { n: N_RANGE },
    edge: N_EDGE,
    bench: N_BENCH,
    tensors: [
      { name: "dy", role: "in", size: (d) => d.n },
      { name: "x", role: "in", size: (d) => d.n, init: (rng, n) => Array.from({ length: n }, () => (rng.next() < 0.2 ? 0 : rng.normal())) },
      { name: "dx", role: "inout", size: (d) => d.n },
    ],
    forward: (be, d, p) => be.reluBackward(p.dy!, p.x!, p.dx!, d.n),
    tol: exact,
    flops: (d) => d.n,
  }),
];
