// Gradient-check cases, one or more per autograd op (see autograd-harness.ts). Tolerances are for
// a WASM (f32) backend against the f64 reference, relative to each tensor's peak magnitude: f32
// rounds at ~6e-8 relative, and a result that sums K products carries about K times that.
import type { Init } from "../src/autograd/init.js";
import type { Tape } from "../src/autograd/tape.js";
import type { Tensor } from "../src/autograd/tensor.js";
import { add, addBroadcast } from "../src/autograd/ops/add.js";
import { concatCols, concatRows } from "../src/autograd/ops/concat.js";
import { dropout } from "../src/autograd/ops/dropout.js";
import { linear } from "../src/autograd/ops/linear.js";
import { maskRows } from "../src/autograd/ops/mask.js";
import { maskedMean } from "../src/autograd/ops/mean.js";
import { relu } from "../src/autograd/ops/relu.js";
import { scale, scaleRows } from "../src/autograd/ops/scale.js";
import { sigmoid } from "../src/autograd/ops/sigmoid.js";
import { softmaxRows } from "../src/autograd/ops/softmax.js";
import { reshape, sliceRows } from "../src/autograd/ops/view.js";
import type { Rng } from "../src/util/rng.js";
import { defineCase, type GradCase } from "./autograd-harness.js";

/** Normal values at least 0.1 away from 0, where ReLU has its kink. */
export const awayFromZero: Init = (rng, n) =>
  Float64Array.from({ length: n }, () => {
    const v = rng.normal();
    return Math.sign(v || 1) * (0.1 + Math.abs(v));
  });

export const scaledNormal = (s: number): Init => (rng, n) => Float64Array.from({ length: n }, () => s * rng.normal());

/** A [B, T] padding mask with about 30% padding; sequence 0 is all padding when allPad. */
export function randomMask(tp: Tape, rng: Rng, B: number, T: number, allPad: number): Tensor {
  const m = Array.from({ length: B * T }, (_, k) => (allPad && k < T ? 0 : rng.next() < 0.7 ? 1 : 0));
  return tp.constant(m, [B, T]);
}

const elementwise = { abs: 1e-6, rel: 1e-6 };

export const basicCases: GradCase[] = [
  defineCase<{ rows: number; nin: number; nout: number; bias: number }>({
    name: "linear",
    dims: { rows: [0, 12], nin: [1, 10], nout: [1, 10], bias: [0, 1] },
    edge: [
      { rows: 1, nin: 1, nout: 1, bias: 1 },
      { rows: 5, nin: 7, nout: 9, bias: 1 },
      { rows: 4, nin: 8, nout: 4, bias: 0 },
      { rows: 0, nin: 3, nout: 2, bias: 1 },
    ],
    params: (d) => [
      { name: "x", shape: [d.rows, d.nin] },
      { name: "w", shape: [d.nin, d.nout] },
      ...(d.bias ? [{ name: "b", shape: [d.nout] }] : []),
    ],
    build: (tp, p, d) => linear(tp, p("x"), p("w"), d.bias ? p("b") : undefined),
    tol: { abs: 1e-6, rel: 2e-5 },
  }),
  defineCase<{ rows: number; nin: number; hid: number; nout: number }>({
    // the scorer's shape: a constant input (no gradient wanted) through Linear → ReLU → Linear
    name: "mlp (linear, relu, linear on a constant input)",
    dims: { rows: [1, 8], nin: [1, 9], hid: [1, 9], nout: [1, 3] },
    edge: [{ rows: 1, nin: 1, hid: 1, nout: 1 }, { rows: 3, nin: 9, hid: 5, nout: 1 }],
    params: (d) => [
      { name: "w1", shape: [d.nin, d.hid] },
      { name: "b1", shape: [d.hid] },
      { name: "w2", shape: [d.hid, d.nout] },
      { name: "b2", shape: [d.nout] },
    ],
    build: (tp, p, d, rng) => {
      const x = tp.constant(Array.from({ length: d.rows * d.nin }, () => rng.normal()), [d.rows, d.nin]);
      return linear(tp, relu(tp, linear(tp, x, p("w1"), p("b1"))), p("w2"), p("b2"));
    },
    tol: { abs: 1e-6, rel: 1e-4 },
  }),
  defineCase<{ n: number }>({
    name: "add (a tensor used twice accumulates)",
    dims: { n: [0, 40] },
    edge: [{ n: 1 }, { n: 5 }, { n: 0 }],
    params: (d) => [
      { name: "a", shape: [d.n] },
      { name: "b", shape: [d.n] },
    ],
    build: (tp, p) => add(tp, add(tp, p("a"), p("b")), p("a")),
    tol: elementwise,
  }),
  defineCase<{ B: number; T: number; d: number }>({
    name: "addBroadcast (positions onto every sequence)",
    dims: { B: [1, 4], T: [1, 6], d: [1, 5] },
    edge: [{ B: 1, T: 1, d: 1 }, { B: 3, T: 1, d: 5 }],
    params: (d) => [
      { name: "x", shape: [d.B, d.T, d.d] },
      { name: "v", shape: [d.T, d.d] },
    ],
    build: (tp, p) => addBroadcast(tp, p("x"), p("v")),
    tol: elementwise,
  }),
  defineCase<{ n: number }>({
    name: "relu",
    dims: { n: [0, 40] },
    edge: [{ n: 1 }, { n: 7 }],
    params: (d) => [{ name: "x", shape: [d.n], init: awayFromZero }],
    build: (tp, p) => relu(tp, p("x")),
    tol: elementwise,
  }),
  defineCase<{ rows: number; cols: number; allPad: number }>({
    name: "maskRows",
    dims: { rows: [1, 8], cols: [1, 9], allPad: [0, 1] },
    edge: [{ rows: 1, cols: 1, allPad: 1 }, { rows: 6, cols: 5, allPad: 1 }, { rows: 6, cols: 5, allPad: 0 }],
    params: (d) => [{ name: "x", shape: [d.rows, d.cols] }],
    build: (tp, p, d, rng) => maskRows(tp, p("x"), randomMask(tp, rng, d.rows, 1, d.allPad)),
    tol: elementwise,
  }),
  defineCase<{ n: number; pct: number }>({
    name: "dropout",
    dims: { n: [1, 40], pct: [0, 90] },
    edge: [{ n: 1, pct: 50 }, { n: 9, pct: 0 }, { n: 33, pct: 50 }],
    params: (d) => [{ name: "x", shape: [d.n] }],
    build: (tp, p, d, rng) => scale(tp, dropout(tp, p("x"), d.pct / 100, rng), 1),
    tol: elementwise,
  }),
  defineCase<{ B: number; T: number; d: number; allPad: number }>({
    name: "maskedMean (mean over real positions; all-padding gives 0)",
    dims: { B: [1, 3], T: [1, 7], d: [1, 5], allPad: [0, 1] },
    edge: [{ B: 1, T: 1, d: 1, allPad: 0 }, { B: 2, T: 1, d: 3, allPad: 1 }, { B: 3, T: 6, d: 4, allPad: 1 }],
    params: (d) => [{ name: "x", shape: [d.B, d.T, d.d] }],
    build: (tp, p, d, rng) => maskedMean(tp, p("x"), randomMask(tp, rng, d.B, d.T, d.allPad)),
    tol: { abs: 1e-6, rel: 1e-5 },
  }),
  defineCase<{ rows: number; c1: number; c2: number; c3: number }>({
    name: "concatCols",
    dims: { rows: [0, 5], c1: [0, 4], c2: [1, 4], c3: [1, 3] },
    edge: [{ rows: 1, c1: 1, c2: 1, c3: 1 }, { rows: 3, c1: 0, c2: 2, c3: 3 }],
    params: (d) => [
      { name: "a", shape: [d.rows, d.c1] },
      { name: "b", shape: [d.rows, d.c2] },
      { name: "c", shape: [d.rows, d.c3] },
    ],
    build: (tp, p) => concatCols(tp, [p("a"), p("b"), p("c"), p("a")]),
    tol: elementwise,
  }),
  defineCase<{ n1: number; n2: number; d: number }>({
    name: "concatRows",
    dims: { n1: [0, 4], n2: [1, 4], d: [1, 5] },
    edge: [{ n1: 1, n2: 1, d: 1 }, { n1: 0, n2: 3, d: 2 }],
    params: (d) => [
      { name: "a", shape: [d.n1, d.d] },
      { name: "b", shape: [d.n2, d.d] },
    ],
    build: (tp, p) => concatRows(tp, [p("b"), p("a"), p("b")]),
    tol: elementwise,
  }),
  defineCase<{ rows: number; K: number; big: number }>({
    name: "softmaxRows (large logits stay finite)",
    dims: { rows: [1, 6], K: [1, 6], big: [0, 1] },
    edge: [{ rows: 1, K: 1, big: 0 }, { rows: 3, K: 4, big: 0 }, { rows: 3, K: 4, big: 1 }],
    params: (d) => [{ name: "x", shape: [d.rows, d.K], init: scaledNormal(d.big ? 300 : 1) }],
    build: (tp, p) => softmaxRows(tp, p("x")),
    tol: { abs: 1e-6, rel: 1e-5 },
  }),
  defineCase<{ rows: number; cols: number; single: number }>({
    name: "scaleRows (per-row or single factor)",
    dims: { rows: [1, 6], cols: [1, 6], single: [0, 1] },
    edge: [{ rows: 1, cols: 1, single: 1 }, { rows: 4, cols: 3, single: 0 }, { rows: 4, cols: 3, single: 1 }],
    params: (d) => [
      { name: "x", shape: [d.rows, d.cols] },
      { name: "s", shape: [d.single ? 1 : d.rows] },
    ],
    build: (tp, p) => scaleRows(tp, p("x"), p("s")),
    tol: { abs: 1e-6, rel: 1e-5 },
  }),
  defineCase<{ n: number }>({
    name: "scale by a constant",
    dims: { n: [0, 30] },
    edge: [{ n: 1 }, { n: 5 }],
    params: (d) => [{ name: "x", shape: [d.n] }],
    build: (tp, p) => scale(tp, p("x"), -1.75),
    tol: elementwise,
  }),
  defineCase<{ n: number; big: number }>({
    name: "sigmoid (large logits stay finite)",
    dims: { n: [1, 30], big: [0, 1] },
    edge: [{ n: 1, big: 0 }, { n: 8, big: 1 }],
    params: (d) => [{ name: "x", shape: [d.n], init: scaledNormal(d.big ? 60 : 2) }],
    build: (tp, p) => sigmoid(tp, p("x")),
    tol: elementwise,
  }),
  defineCase<{ B: number; T: number; d: number }>({
    name: "views (sliceRows, reshape) share gradients with their base",
    dims: { B: [2, 4], T: [1, 4], d: [1, 3] },
    edge: [{ B: 2, T: 1, d: 1 }],
    params: (d) => [{ name: "x", shape: [d.B, d.T, d.d] }],
    build: (tp, p, d) => {
      const x = p("x");
      const tail = scale(tp, sliceRows(tp, x, 1, d.B), 2);
      const head = reshape(tp, sliceRows(tp, x, 0, 1), [1, d.T, d.d]);
      return concatRows(tp, [tail, head, reshape(tp, x, [d.B, d.T, d.d])]);
    },
    tol: elementwise,
  }),
];
